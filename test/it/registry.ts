// A registry of a test file's own: Debian's `docker-registry serve` on a free loopback port,
// with its own htpasswd user (random password), its own storage under a temp dir and deletes
// enabled. Not the one `npm run setup` starts (127.0.0.1:5055), which other tests share: this one
// can be stopped and restarted mid-run. Real HTTP, no mocks.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { freePort, tempDir } from './helpers.js';

export const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface OwnRegistry {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** base64 of `user:password`, as config.json and the Authorization header carry it */
  readonly basicAuth: string;
  /** The temp dir holding config.yml, htpasswd, data/ and registry.log. */
  readonly dir: string;
  /** The pid of the running registry, or null when stopped. */
  pid(): number | null;
  /** Stops it by its pid and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again, on the same port and storage, and waits until /v2/ answers 401. */
  restart(): Promise<void>;
  /** Stops it (when running) and removes its directory. */
  dispose(): Promise<void>;
  /** A call on the registry API with basic auth; `path` below /v2/. */
  api(method: 'GET' | 'HEAD', path: string, accept?: string): Promise<HttpReply>;
  /** `/v2/<name>/tags/list`: the tags, or null when the repository is unknown (404). */
  tags(name: string): Promise<string[] | null>;
  /** The manifest digest (Docker-Content-Digest of a HEAD, schema 2) of `<name>:<tag>`, or null on 404. */
  digest(name: string, tag: string): Promise<string | null>;
  /** `/v2/_catalog`: every repository. */
  catalog(): Promise<string[]>;
  /** What the registry logged (for failure messages). */
  log(): string;
}

/** One HTTP call on a loopback port, giving up after `timeoutMs`. */
export function http(port: number, method: string, path: string, headers: Record<string, string> = {}, timeoutMs = 5000, where: { host?: string; tls?: boolean } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const send = where.tls ? httpsRequest : request;
    // A test's own TLS registry has a self-signed certificate: the helpers read it anyway.
    const req = send({ host: where.host ?? '127.0.0.1', port, method, path, headers, timeout: timeoutMs, ...(where.tls ? { rejectUnauthorized: false } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface RegistryOptions {
  username?: string;
  /** Where it listens (default 127.0.0.1): another local address makes it a registry Docker does not treat as insecure. */
  host?: string;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
  /** Its storage (default a directory under its temp dir): a small tmpfs makes a full registry. */
  dataDir?: string;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<OwnRegistry> {
  const which = spawnSync('sh', ['-c', 'command -v docker-registry && command -v htpasswd'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('docker-registry and htpasswd must be installed (npm run setup installs docker-registry and apache2-utils)');
  const dir = tempDir('dockmk-it-registry-');
  const port = await freePort();
  const host = options.host ?? '127.0.0.1';
  const address = `${host}:${port}`;
  const where = { host, tls: options.tls !== undefined };
  const username = options.username ?? `pub${randomBytes(3).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const htpasswdPath = join(dir, 'htpasswd');
  const made = spawnSync('htpasswd', ['-Bbc', htpasswdPath, username, password], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`htpasswd -Bbc failed (exit ${made.status}): ${made.stderr}`);
  const dataDir = options.dataDir ?? join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(dir, 'config.yml');
  writeFileSync(
    configPath,
    [
      'version: 0.1',
      'log: { level: info }',
      'storage:',
      `  filesystem: { rootdirectory: ${JSON.stringify(dataDir)} }`,
      '  delete: { enabled: true }',
      'http:',
      `  addr: ${address}`,
      ...(options.tls ? [`  tls: { certificate: ${JSON.stringify(options.tls.certificate)}, key: ${JSON.stringify(options.tls.key)} }`] : []),
      'auth:',
      '  htpasswd:',
      '    realm: dockmk-it-publish',
      `    path: ${JSON.stringify(htpasswdPath)}`,
      '',
    ].join('\n'),
  );
  const logPath = join(dir, 'registry.log');
  const basicAuth = Buffer.from(`${username}:${password}`).toString('base64');

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };

  const launch = async (): Promise<void> => {
    const fd = openSync(logPath, 'a');
    const started = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    let last = 'not tried';
    while (Date.now() < deadline) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`docker-registry exited (${started.exitCode ?? started.signalCode}) before answering on ${address}:\n${log().slice(-2000)}`);
      }
      try {
        const reply = await http(port, 'GET', '/v2/', {}, 1000, where);
        if (reply.status === 401) return;
        last = `HTTP ${reply.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`docker-registry on ${address} did not answer 401 on /v2/ within 30 s (last: ${last}):\n${log().slice(-2000)}`);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const running = child;
    if (running === null) return;
    if (running.exitCode === null && running.signalCode === null && running.pid !== undefined) {
      process.kill(running.pid, signal);
      const killer = setTimeout(() => {
        if (running.exitCode === null && running.signalCode === null && running.pid !== undefined) process.kill(running.pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(killer);
    }
    child = null;
  };

  // A test that throws past its finally, or a crash, must not leave the registry running.
  const onExit = (): void => {
    const running = child as ChildProcess | null;
    if (running?.pid !== undefined && running.exitCode === null && running.signalCode === null) {
      try {
        process.kill(running.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);

  const api = (method: 'GET' | 'HEAD', path: string, accept?: string): Promise<HttpReply> =>
    http(port, method, `/v2/${path}`, { authorization: `Basic ${basicAuth}`, ...(accept ? { accept } : {}) }, 5000, where);

  await launch();

  return {
    address,
    port,
    username,
    password,
    basicAuth,
    dir,
    pid: () => (child as ChildProcess | null)?.pid ?? null,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    dispose: async () => {
      await stop();
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
    api,
    tags: async (name) => {
      const reply = await api('GET', `${name}/tags/list`);
      if (reply.status === 404) return null;
      if (reply.status !== 200) throw new Error(`GET /v2/${name}/tags/list: HTTP ${reply.status} ${reply.body}`);
      return ((JSON.parse(reply.body) as { tags: string[] | null }).tags ?? []).sort();
    },
    digest: async (name, tag) => {
      const reply = await api('HEAD', `${name}/manifests/${tag}`, MANIFEST_V2);
      if (reply.status === 404) return null;
      if (reply.status !== 200) throw new Error(`HEAD /v2/${name}/manifests/${tag}: HTTP ${reply.status}`);
      const digest = reply.headers['docker-content-digest'];
      if (typeof digest !== 'string') throw new Error(`HEAD /v2/${name}/manifests/${tag}: no Docker-Content-Digest header`);
      return digest;
    },
    catalog: async () => {
      const reply = await api('GET', '_catalog?n=1000');
      if (reply.status !== 200) throw new Error(`GET /v2/_catalog: HTTP ${reply.status} ${reply.body}`);
      return (JSON.parse(reply.body) as { repositories: string[] | null }).repositories ?? [];
    },
    log,
  };
}
