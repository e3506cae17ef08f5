// A small proxy in front of the real engine (unix:///var/run/docker.sock), on a socket of the
// test's own, for the faults an engine has only on a bad day or in another year: it passes every
// request through, and for the requests a fault names it changes the engine's answer (its
// version headers and body, as an engine of 2016 would send them) or answers garbage in its
// place. No upgrade (hijacked) connections: a BuildKit session does not pass; faults that need a
// build use the classic builder.

import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

export interface EngineFault {
  readonly match: (method: string, path: string) => boolean;
  /** The engine's answer, changed: its headers and body (a body that is not JSON passes as text). */
  readonly rewrite?: (headers: Record<string, string | string[] | undefined>, body: string) => { headers: Record<string, string | string[] | undefined>; body: string };
  /** An answer in place of the engine's. */
  readonly answer?: { readonly status: number; readonly contentType: string; readonly body: string };
}

export interface EngineProxy {
  /** `unix:///…/engine.sock`, for DOCKER_HOST. */
  readonly address: string;
  /** Every request that passed, as `METHOD /path`. */
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function startEngineProxy(faults: readonly EngineFault[], engineSocket = '/var/run/docker.sock'): Promise<EngineProxy> {
  const socket = join(tempDir('dockmk-it-engine-proxy-'), 'engine.sock');
  const requests: string[] = [];
  const open = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    requests.push(`${method} ${path}`);
    // Versioned paths (/v1.41/images/json) match as unversioned ones.
    const plain = path.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const fault = faults.find((candidate) => candidate.match(method, plain));
    if (fault?.answer) {
      res.writeHead(fault.answer.status, { 'content-type': fault.answer.contentType }).end(fault.answer.body);
      return;
    }
    const upstream = request({ socketPath: engineSocket, method, path, headers: req.headers }, (answer) => {
      if (!fault?.rewrite) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (body += chunk));
      answer.on('end', () => {
        const changed = fault.rewrite!({ ...answer.headers }, body);
        const headers: Record<string, string | string[] | undefined> = { ...changed.headers, 'content-length': String(Buffer.byteLength(changed.body)) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, headers).end(changed.body);
      });
    });
    upstream.on('error', (error) => res.destroy(error));
    req.pipe(upstream);
  });
  server.on('connection', (connection: Socket) => void open.add(connection));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    address: `unix://${socket}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        for (const connection of open) connection.destroy();
        server.close(() => resolve());
      }),
  };
}
