// A second dockerd of a test's own, listening only on a loopback TCP port, with its own data,
// exec root, pidfile and bridge, and no iptables rules, so it leaves the first daemon's
// networking alone. (Not --bridge=none: at start that deletes the host's docker0, the first
// daemon's bridge.) An engine with nothing in it: no image, no build cache.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import * as assert from 'uvu/assert';
import { docker, eventually, freePort, tempDir } from './helpers.js';

export interface SecondEngine {
  readonly address: string;
  readonly client: Docker;
  /** The daemon's process, for a test that kills it. */
  readonly pid: number;
  readonly stop: () => Promise<void>;
}

/** `name` (a few letters) keeps the bridges of two files apart; `subnet` is the third octet of its 198.18.x.1/24. */
export async function startSecondEngine(name = 'it', subnet = 213): Promise<SecondEngine> {
  assert.is(spawnSync('sh', ['-c', 'command -v dockerd']).status, 0, 'dockerd is installed (npm run setup installs docker.io)');
  const dir = tempDir('dockmk-it-engine-');
  const port = await freePort();
  // A bridge of its own, on an address of the benchmarking range (198.18.0.0/15) no one routes.
  const bridge = `dmk-${name}-${process.pid % 100000}`;
  const ip = (...args: string[]): void => {
    const result = spawnSync('ip', args, { encoding: 'utf8' });
    assert.is(result.status, 0, `ip ${args.join(' ')}: ${result.stderr ?? result.error?.message}`);
  };
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `198.18.${subnet}.1/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  const daemon: ChildProcess = spawn(
    'dockerd',
    [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'),
      '-H', `tcp://127.0.0.1:${port}`,
      `--bridge=${bridge}`, '--iptables=false', '--ip-masq=false',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await exited;
    // A daemon killed with -9 leaves its containerd running and its mounts in place.
    killContainerd(dir);
    unmountUnder(dir);
    spawnSync('ip', ['link', 'del', bridge]);
    rmSync(dir, { recursive: true, force: true });
  };
  const client = new Docker({ host: '127.0.0.1', port });
  try {
    await eventually(() => client.ping(), 60);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: `tcp://127.0.0.1:${port}`, client, pid: daemon.pid as number, stop };
}

/** debian:bookworm cannot be pulled here: hand the first engine's copy over (docker save | docker load). */
export async function loadBaseImage(engine: SecondEngine, image = 'debian:bookworm'): Promise<void> {
  const loaded = await engine.client.loadImage(await docker.getImage(image).get());
  await new Promise<void>((resolve, reject) => engine.client.modem.followProgress(loaded, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** The containerd a dockerd started: it outlives a dockerd that was killed. */
export function killContainerd(dir: string): void {
  const pidFile = join(dir, 'exec', 'containerd', 'containerd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    // Only if it is the containerd of this engine: its command line names this directory.
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Mounts a stopped engine left under its directory (overlay layers, netns), deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((path) => path === dir || path.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const path of mounts) spawnSync('umount', ['-l', path]);
}
