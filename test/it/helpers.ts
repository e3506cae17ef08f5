// Integration helpers: the real dockmk CLI as a process, the real engine, the real registry
// that `npm run setup` started. No mocks.

import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { join } from 'node:path';
import Docker from 'dockerode';
import * as assert from 'uvu/assert';
import { cleanEnv, REPO_ROOT, tempDir, timedTest } from '../helpers.js';

export { tempDir } from '../helpers.js';

export { cleanEnv } from '../helpers.js';

/** Integration tests build images; the slowest (every example service, cold) takes minutes. */
export const IT_TIMEOUT_MS = 10 * 60_000;

export const test = timedTest(IT_TIMEOUT_MS);

export const docker = new Docker(process.env.DOCKER_HOST ? undefined : { socketPath: '/var/run/docker.sock' });

export interface Registry {
  address: string;
  username: string;
  password: string;
}

export function testRegistry(): Registry {
  return JSON.parse(readFileSync(join(REPO_ROOT, '.dockmk', 'setup', 'registry.json'), 'utf8')) as Registry;
}

/** A $DOCKER_CONFIG directory holding one `auths` entry. */
export function dockerConfig(registry: string, username: string, password: string): string {
  const dir = tempDir('dockmk-it-config-');
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/dockmk.js ...argv` as a user would, in a clean environment (cleanEnv: nothing
 * of the caller's CI, credentials or DOCKMK_* settings) plus what `options.env` sets;
 * `onLine` sees each line of stdout as it comes; `uid`/`gid` run it as another user.
 */
export function dockmk(argv: string[], options: { cwd?: string; env?: Record<string, string>; onLine?: (line: string) => void; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'dockmk.js'), ...argv], {
      cwd: options.cwd ?? REPO_ROOT,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      stdout += `${line}\n`;
      options.onLine?.(line);
    });
    const closed = new Promise<void>((done) => lines.once('close', () => done()));
    child.on('error', reject);
    child.on('close', (code, signal) => void closed.then(() => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  });
}

/** `git ...args` in `root`, in a clean environment; its output, trimmed; a failure throws. */
export function git(root: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8', env: cleanEnv() });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout.trim();
}

/** `root` made a repository on `main` with everything in it committed (and tagged, if given). */
export function commitAll(root: string, message: string, tag?: string): string {
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'dockmk tests');
  git(root, 'config', 'user.email', 'tests@dockmk.invalid');
  git(root, 'config', 'commit.gpgsign', 'false');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', message);
  if (tag !== undefined) git(root, 'tag', tag);
  return git(root, 'rev-parse', 'HEAD');
}

/** A copy of this repository's services and plays, to change without touching the checkout. */
export function copyOfCheckout(): string {
  const root = tempDir('dockmk-it-checkout-');
  for (const path of ['docker', 'playbooks', '.dockerignore']) cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true, verbatimSymlinks: true });
  return root;
}

/**
 * The host's processes whose command line holds `marker`: a build step still running. BuildKit
 * runs steps as processes of the engine, not as containers, so a container list would not see them.
 */
export function processesWith(marker: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        return command.includes(marker) ? [`${pid} ${command}`] : [];
      } catch {
        return [];
      }
    });
}

export async function imageId(ref: string): Promise<string | null> {
  return docker.getImage(ref).inspect().then((info) => info.Id, () => null);
}

export async function layers(ref: string): Promise<string[]> {
  return (await docker.getImage(ref).inspect()).RootFS.Layers ?? [];
}

/** Runs an image with one port published on 127.0.0.1; returns the host port and a stop function. */
export async function runImage(image: string, port: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const container = await docker.createContainer({
    Image: image,
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '0' }] }, AutoRemove: false },
  });
  await container.start();
  const info = await container.inspect();
  const hostPort = Number(info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort);
  return {
    port: hostPort,
    stop: async () => {
      await container.remove({ force: true });
    },
  };
}

/** A TCP port free on 127.0.0.1 just now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Retries `probe` until it returns a value or `seconds` pass (a server inside needs a moment to start). */
export async function eventually<T>(probe: () => Promise<T>, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await probe();
    } catch (error) {
      last = error;
      await new Promise((done) => setTimeout(done, 200));
    }
  }
  throw new Error(`gave up after ${seconds}s: ${(last as Error)?.message ?? last}`);
}

/**
 * GET on a loopback port, giving up after 2 s. node:http rather than fetch: while a container
 * starts, docker-proxy accepts connections it never answers, and a fetch waiting on one of
 * those holds nothing that keeps the event loop alive.
 */
export function httpGet(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${response.statusCode}`))));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 2 s')));
    request.on('error', reject);
  });
}

/** GET on the registry API with basic auth. */
export async function registryGet(registry: Registry, path: string, accept?: string): Promise<Response> {
  const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
  return fetch(`http://${registry.address}/v2/${path}`, {
    headers: { authorization: `Basic ${auth}`, ...(accept ? { accept } : {}) },
  });
}

/** Runs a command in a fresh container of `image` and returns what it printed. */
export async function runCommand(image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, Tty: true });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    if (StatusCode !== 0) throw new Error(`${cmd.join(' ')} exited ${StatusCode} in ${image}: ${output}`);
    return output.replace(/\r\n/g, '\n');
  } finally {
    await container.remove({ force: true });
  }
}

export interface Summary {
  event: 'summary';
  built: string[];
  upToDate: string[];
  failed: string[];
  skipped: string[];
  pushed: string[];
}

export function events(result: CliResult): Record<string, unknown>[] {
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function summaryOf(result: CliResult): Summary {
  const last = events(result).at(-1) as unknown as Summary;
  assert.is(last.event, 'summary');
  return last;
}

export function ok(result: CliResult): void {
  assert.is(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout.slice(-3000)}`);
}

