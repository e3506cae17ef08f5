// A small HTTP proxy in front of a test's own registry, for faults a real registry only has on a
// bad day: an answer of 500, 503 or 429 (with Retry-After), a connection dropped in the middle
// of an upload, a token service whose tokens expire after a few requests. The engine and dockmk
// talk to it as to the registry; everything else passes through unchanged (the Host header too,
// so the registry's upload locations point back at the proxy).

import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Fault {
  /** Which requests: method and path (below /v2/, query included). */
  readonly match: (method: string, path: string) => boolean;
  /** How many of them (then the fault is spent). */
  times: number;
  /** An answer instead of the registry's, or the connection dropped after `afterBytes` of the request body. */
  readonly answer: { status: number; headers?: Record<string, string>; body?: string } | { drop: true; afterBytes: number };
}

export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  /** The status sent back, or `dropped`, or `token`. */
  readonly outcome: number | 'dropped' | 'token';
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: give it as --registry. */
  readonly address: string;
  readonly faults: Fault[];
  readonly requests: ProxyRequest[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** The registry behind it. */
  readonly target: { readonly port: number; readonly basicAuth: string };
  /**
   * Bearer tokens instead of the registry's basic auth: the proxy is the token service (for the
   * registry's user and password). The first token it gives is good for `firstUses` requests,
   * then refused as expired (a token that expires mid-push); later ones do not expire.
   */
  readonly tokens?: { readonly username: string; readonly password: string; readonly firstUses: number };
}

export async function startFaultProxy(options: ProxyOptions): Promise<FaultProxy> {
  const faults: Fault[] = [];
  const requests: ProxyRequest[] = [];
  const tokens = new Map<string, number>();
  let port = 0;

  const challenge = (res: ServerResponse, path: string, expired: boolean): void => {
    const repository = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(path)?.[1];
    const scope = repository ? `,scope="repository:${repository}:pull,push"` : '';
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="fault-proxy"${scope}${expired ? ',error="invalid_token"' : ''}`,
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: expired ? 'token expired' : 'authentication required' }] }));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (options.tokens && path.startsWith('/token')) {
      const expected = `Basic ${Buffer.from(`${options.tokens.username}:${options.tokens.password}`).toString('base64')}`;
      requests.push({ method, path, outcome: 'token' });
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      const token = randomBytes(12).toString('hex');
      tokens.set(token, tokens.size === 0 ? options.tokens.firstUses : Number.POSITIVE_INFINITY);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 60 }));
      return;
    }
    if (options.tokens) {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const left = token === undefined ? undefined : tokens.get(token);
      if (left === undefined || left <= 0) {
        requests.push({ method, path, outcome: 401 });
        req.resume();
        challenge(res, path, left !== undefined);
        return;
      }
      tokens.set(token as string, left - 1);
    }
    const fault = faults.find((f) => f.times > 0 && f.match(method, path));
    if (fault) {
      fault.times -= 1;
      if ('drop' in fault.answer) {
        const { afterBytes } = fault.answer;
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= afterBytes) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        requests.push({ method, path, outcome: 'dropped' });
        return;
      }
      requests.push({ method, path, outcome: fault.answer.status });
      req.resume();
      res.writeHead(fault.answer.status, { 'content-type': 'application/json', ...fault.answer.headers });
      res.end(fault.answer.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${fault.answer.status}` }] }));
      return;
    }
    const headers = { ...req.headers };
    if (options.tokens) headers.authorization = `Basic ${options.target.basicAuth}`;
    const upstream = request({ host: '127.0.0.1', port: options.target.port, method, path, headers }, (answer) => {
      requests.push({ method, path, outcome: answer.statusCode ?? 0 });
      const back = { ...answer.headers };
      // The registry's own challenge would send clients around the proxy's token service.
      if (options.tokens && answer.statusCode === 401) {
        answer.resume();
        challenge(res, path, false);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    faults,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
