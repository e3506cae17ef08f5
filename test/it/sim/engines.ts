// Fresh Docker engines standing for CI runners: each its own dockerd (and the containerd it
// starts), with its own data root, exec root, pidfile, unix socket and bridge, no iptables
// rules and no masquerading, so it leaves the shared engine's networking alone and its builds
// reach nothing but loopback. Everything an engine did is recorded from its event stream,
// subscribed before anyone else talks to it. Every engine is stopped by its own pid; a process
// that exits with some still running kills them.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { killContainerd, unmountUnder } from '../second-engine.js';

export interface EngineEvent {
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { readonly ID: string; readonly Attributes?: Record<string, string> };
}

export interface ImageSummary {
  readonly id: string;
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** What a runner's engine did, read before it was stopped. */
export interface EngineRecord {
  readonly name: string;
  readonly events: readonly EngineEvent[];
  readonly images: readonly ImageSummary[];
  /** Local tags the engine gave an image it built or tagged: `base:latest`, `<registry>/edxops/base:key-…`. */
  readonly tagged: readonly string[];
  /** Repositories it pulled from and pushed to. */
  readonly pulled: readonly string[];
  readonly pushed: readonly string[];
  /** Containers it created: the classic builder makes one per RUN step. */
  readonly containers: number;
}

export interface SimEngine {
  readonly name: string;
  /** `unix:///…/docker.sock`, for DOCKER_HOST. */
  readonly address: string;
  readonly pid: number;
  readonly client: Docker;
  /** Reads what the engine did, then stops it and removes its directory and bridge. */
  stop(): Promise<EngineRecord>;
  log(): string;
}

interface Running {
  readonly daemon: ChildProcess;
  readonly dir: string;
  readonly bridge: string;
}

/** Starts fresh engines and remembers each, so that `stopAll` (or the process exiting) ends every one. */
export class EnginePool {
  private readonly running = new Set<Running>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly onExit = (): void => {
    for (const engine of this.running) {
      killNow(engine);
      // A killed dockerd leaves its data root mounted on itself.
      unmountUnder(engine.dir);
      rmSync(engine.dir, { recursive: true, force: true });
    }
  };
  // Interrupted (^C, a timeout's SIGTERM): the engines go too, then the process as it would have.
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  /** How many engines this pool started, and the most that ran at once. */
  started = 0;
  peak = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  async start(name: string): Promise<SimEngine> {
    const dir = mkdtempSync(join(this.dir, 'engine-'));
    const bridge = makeBridge();
    const logPath = join(dir, 'dockerd.log');
    const socket = join(dir, 'docker.sock');
    const fd = openSync(logPath, 'a');
    const daemon = spawn(
      'dockerd',
      [
        '--data-root', join(dir, 'data'),
        '--exec-root', join(dir, 'exec'),
        '--pidfile', join(dir, 'dockerd.pid'),
        '-H', `unix://${socket}`,
        `--bridge=${bridge}`, '--iptables=false', '--ip-masq=false',
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const running: Running = { daemon, dir, bridge };
    this.running.add(running);
    this.started += 1;
    this.peak = Math.max(this.peak, this.running.size);
    const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
    const log = (): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
    const client = new Docker({ socketPath: socket });
    const events: EngineEvent[] = [];
    let stream: NodeJS.ReadableStream | null = null;
    const teardown = async (): Promise<void> => {
      (stream as unknown as { destroy?: () => void } | null)?.destroy?.();
      if (daemon.exitCode === null && daemon.signalCode === null) {
        daemon.kill('SIGTERM');
        const killer = setTimeout(() => killNow(running), 30_000);
        await exited;
        clearTimeout(killer);
      }
      killContainerd(dir);
      unmountUnder(dir);
      spawnSync('ip', ['link', 'del', bridge]);
      // Not rmSync: a data root holds thousands of files, and the other runners go on meanwhile.
      await rm(dir, { recursive: true, force: true });
      this.running.delete(running);
    };
    try {
      await waitForPing(client, daemon, log);
      stream = await client.getEvents();
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as EngineEvent);
      });
      stream.on('error', () => undefined);
    } catch (error) {
      const words = log().slice(-2000);
      await teardown();
      throw new Error(`engine ${name} did not start: ${(error as Error).message}\n${words}`);
    }
    return {
      name,
      address: `unix://${socket}`,
      pid: daemon.pid as number,
      client,
      log,
      stop: async () => {
        let images: ImageSummary[] = [];
        try {
          images = (await client.listImages()).map((image) => ({ id: image.Id, tags: image.RepoTags ?? [], labels: image.Labels ?? {} }));
        } catch (error) {
          await teardown();
          throw error;
        }
        // What it did is read: the job goes on while the engine shuts down (stopAll waits for it).
        (stream as unknown as { destroy?: () => void } | null)?.destroy?.();
        const done: Promise<void> = teardown().finally(() => this.stopping.delete(done));
        this.stopping.add(done);
        return recordOf(name, events, images);
      },
    };
  }

  async stopAll(): Promise<void> {
    const stopped = await Promise.allSettled([...this.stopping]);
    for (const engine of [...this.running]) {
      if (engine.daemon.exitCode === null && engine.daemon.signalCode === null) engine.daemon.kill('SIGTERM');
    }
    await Promise.all([...this.running].map((engine) => new Promise<void>((resolve) => (engine.daemon.exitCode !== null || engine.daemon.signalCode !== null ? resolve() : engine.daemon.once('exit', () => resolve())))));
    for (const engine of [...this.running]) {
      killContainerd(engine.dir);
      unmountUnder(engine.dir);
      spawnSync('ip', ['link', 'del', engine.bridge]);
      await rm(engine.dir, { recursive: true, force: true });
      this.running.delete(engine);
    }
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    const failed = stopped.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw new Error(`an engine did not shut down cleanly: ${(failed.reason as Error).message}`);
  }
}

function recordOf(name: string, events: readonly EngineEvent[], images: readonly ImageSummary[]): EngineRecord {
  const of = (type: string, action: string): string[] =>
    events.filter((event) => event.Type === type && event.Action === action).map((event) => event.Actor.Attributes?.name ?? event.Actor.ID);
  return {
    name,
    events,
    images,
    tagged: of('image', 'tag'),
    pulled: of('image', 'pull'),
    pushed: of('image', 'push'),
    containers: of('container', 'create').length,
  };
}

async function waitForPing(client: Docker, daemon: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = 'not tried';
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`dockerd exited (${daemon.exitCode ?? daemon.signalCode})`);
    try {
      await client.ping();
      return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no answer within 60 s (last: ${last}):\n${log().slice(-1000)}`);
}

/**
 * A bridge of the engine's own on a /24 of the benchmarking range 198.18.0.0/15 that no address
 * of this machine is on yet (no one routes it; the builds need no network).
 */
function makeBridge(): string {
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout ?? '';
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const n = randomBytes(2).readUInt16BE() % 512;
    const subnet = `198.${18 + (n >> 8)}.${n & 255}`;
    if (used.includes(` ${subnet}.`) || n % 256 === 213) continue; // 213: remote-engine.test.ts
    const name = `dks${randomBytes(4).toString('hex')}`;
    const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
    const made = ip('link', 'add', name, 'type', 'bridge');
    if (made.status !== 0) continue;
    const addressed = ip('addr', 'add', `${subnet}.1/24`, 'dev', name);
    const up = ip('link', 'set', name, 'up');
    if (addressed.status !== 0 || up.status !== 0) {
      ip('link', 'del', name);
      throw new Error(`could not set up bridge ${name} on ${subnet}.1/24: ${addressed.stderr}${up.stderr}`);
    }
    return name;
  }
  throw new Error('no free bridge name and subnet in 198.18.0.0/15 after 50 tries');
}

function killNow(engine: Running): void {
  if (engine.daemon.pid !== undefined && engine.daemon.exitCode === null && engine.daemon.signalCode === null) {
    try {
      process.kill(engine.daemon.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  killContainerd(engine.dir);
  spawnSync('ip', ['link', 'del', engine.bridge]);
}
