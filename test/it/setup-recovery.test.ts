// `npm run setup` after a dockerd was killed with -9, on a dockerd of this test's own (its own
// socket, pid file, data root, exec root and bridge, as remote-engine.test.ts), never the
// shared one: setup (scripts/setup.mjs with DOCKMK_SETUP_PARTS=engine and DOCKMK_DOCKERD_*)
// removes the stale pid files and containerd socket the dead daemon left, says what it
// removed, and the engine answers again. Teardown stops it.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import * as assert from 'uvu/assert';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { cleanEnv, eventually, test } from './helpers.js';
// @ts-expect-error: a plain .mjs script of the repository, shared with setup
import { dockerdArgs, engineSettings, processInfo } from '../../scripts/dockerd.mjs';

interface OwnEngine {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly socket: string;
  readonly pidfile: string;
  readonly client: Docker;
  /** Processes of the test's own to stop at the end. */
  readonly children: ChildProcess[];
  readonly dispose: () => Promise<void>;
}

let bridges = 0;

function ownEngine(): OwnEngine {
  assert.is(spawnSync('sh', ['-c', 'command -v dockerd && command -v ip']).status, 0, 'dockerd and ip are installed (npm run setup installs docker.io and iproute2)');
  const dir = tempDir('dockmk-it-setup-');
  const bridge = `dmks${process.pid % 10000}${(bridges += 1)}`;
  const ip = (...args: string[]): void => {
    const result = spawnSync('ip', args, { encoding: 'utf8' });
    assert.is(result.status, 0, `ip ${args.join(' ')}: ${result.stderr}`);
  };
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `198.18.${214 + bridges}.1/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  const socket = join(dir, 'docker.sock');
  const pidfile = join(dir, 'dockerd.pid');
  const env = {
    DOCKMK_SETUP_DIR: join(dir, 'setup'),
    DOCKMK_SETUP_PARTS: 'engine',
    DOCKMK_DOCKERD_SOCKET: socket,
    DOCKMK_DOCKERD_PIDFILE: pidfile,
    DOCKMK_DOCKERD_DATA_ROOT: join(dir, 'data'),
    DOCKMK_DOCKERD_EXEC_ROOT: join(dir, 'exec'),
    DOCKMK_DOCKERD_ARGS: `--bridge=${bridge} --iptables=false --ip-masq=false`,
  };
  const children: ChildProcess[] = [];
  const dispose = async (): Promise<void> => {
    // Whatever runs on this test's pid file (by its pid), then the helpers it started.
    const pid = Number(existsSync(pidfile) ? readFileSync(pidfile, 'utf8') : '');
    if (pid > 0 && processInfo(pid)?.comm === 'dockerd' && processInfo(pid)?.state !== 'Z') {
      process.kill(pid, 'SIGTERM');
      await eventually(async () => {
        if (processInfo(pid) !== null && processInfo(pid)?.state !== 'Z') throw new Error(`dockerd ${pid} still runs`);
      }, 30).catch(() => process.kill(pid, 'SIGKILL'));
    }
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // A dockerd killed with -9 leaves its bind mounts (the data root) behind.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '').filter((path) => path.startsWith(dir));
    for (const path of mounts.sort().reverse()) spawnSync('umount', ['-l', path]);
    spawnSync('ip', ['link', 'del', bridge]);
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, env, socket, pidfile, client: new Docker({ socketPath: socket }), children, dispose };
}

function script(name: 'setup' | 'teardown', engine: OwnEngine): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', `${name}.mjs`)], { cwd: REPO_ROOT, env: cleanEnv(engine.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function pidIn(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  assert.ok(pid > 0, `${file} holds a pid`);
  return pid;
}

/** Kills the daemon with -9 and waits until it is dead (gone, or a zombie). */
async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await eventually(async () => {
    const info = processInfo(pid);
    if (info !== null && info.state !== 'Z') throw new Error(`pid ${pid} (${info.comm}) is still ${info.state}`);
  });
}

const answers = (engine: OwnEngine): Promise<boolean> => engine.client.ping().then(() => true, () => false);

test('dockerd killed with -9 and its containerd pid reused: setup removes both pid files and the socket, says so, and the engine answers', async () => {
  const engine = ownEngine();
  try {
    const first = await script('setup', engine);
    assert.is(first.code, 0, first.output);
    assert.match(first.output, /setup: engine: started dockerd \S+ \(pid \d+\) at unix:\/\//);
    assert.ok(await answers(engine), 'the engine answers');
    const pid = pidIn(engine.pidfile);
    const containerdPidfile = join(engine.dir, 'exec', 'containerd', 'containerd.pid');
    const containerd = pidIn(containerdPidfile);

    await kill9(pid);
    await eventually(async () => {
      const info = processInfo(containerd);
      if (info !== null && info.state !== 'Z') throw new Error('containerd still runs');
    });
    // The pid the dead containerd had now belongs to another program (as after a reuse): alone,
    // dockerd would wait on its dead socket until "timeout waiting for containerd to start".
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    engine.children.push(other);
    writeFileSync(containerdPidfile, String(other.pid));

    const again = await script('setup', engine);
    assert.is(again.code, 0, again.output);
    assert.match(again.output, new RegExp(`setup: engine: removed the stale pid file ${engine.pidfile} \\(pid ${pid} is (not running|a dead dockerd its parent has not reaped \\(a zombie\\))\\)`));
    assert.ok(again.output.includes(`setup: engine: removed the stale containerd pid file ${containerdPidfile} (pid ${other.pid} is now sleep, not containerd)`), again.output);
    assert.ok(again.output.includes(`setup: engine: removed the stale containerd socket ${join(engine.dir, 'exec', 'containerd', 'containerd.sock')} (nothing listens on it)`), again.output);
    assert.match(again.output, /setup: engine: started dockerd/);
    assert.ok(await answers(engine), 'the engine answers again');
    assert.ok(pidIn(engine.pidfile) !== pid, 'a new dockerd');

    const down = await script('teardown', engine);
    assert.is(down.code, 0, down.output);
    assert.match(down.output, /teardown: stopped dockerd \(pid \d+\)/);
    assert.not.ok(await answers(engine), 'teardown stopped it');
  } finally {
    await engine.dispose();
  }
});

test('a zombie dockerd holds the pid file: dockerd alone refuses to start, setup removes it and starts one', async () => {
  const engine = ownEngine();
  try {
    // A parent that never reaps its children, as PID 1 of many containers: once killed, the
    // daemon stays a zombie and its pid file names a process that exists.
    const args = dockerdArgs(engineSettings(engine.env)) as string[];
    const log = join(engine.dir, 'first-dockerd.log');
    const parent = spawn('sh', ['-c', `dockerd ${args.map((arg) => `'${arg}'`).join(' ')} >'${log}' 2>&1 & exec sleep 600`], { stdio: 'ignore' });
    engine.children.push(parent);
    await eventually(async () => {
      if (!(await answers(engine))) throw new Error(`the first dockerd does not answer yet: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-500) : ''}`);
    }, 60);
    const pid = pidIn(engine.pidfile);
    await kill9(pid);
    assert.is(processInfo(pid)?.state, 'Z', 'a zombie');

    // The fault itself: dockerd refuses.
    const alone = spawnSync('dockerd', args, { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    assert.match(`${alone.stdout}${alone.stderr}`, /pid file found, ensure docker is not running/, 'dockerd alone refuses to start');

    const setup = await script('setup', engine);
    assert.is(setup.code, 0, setup.output);
    assert.ok(setup.output.includes(`setup: engine: removed the stale pid file ${engine.pidfile} (pid ${pid} is a dead dockerd its parent has not reaped (a zombie))`), setup.output);
    assert.match(setup.output, /setup: engine: started dockerd/);
    assert.ok(await answers(engine), 'the engine answers');
    const down = await script('teardown', engine);
    assert.is(down.code, 0, down.output);
    assert.not.ok(await answers(engine), 'teardown stopped it');
  } finally {
    await engine.dispose();
  }
});

test('a dockerd that runs but does not answer is left alone: setup says so, and fails', async () => {
  const engine = ownEngine();
  try {
    // A live process named dockerd on this pid file that does not answer on the socket (as a
    // daemon still starting, or hung would): a copy of sleep, so /proc calls it dockerd.
    const fake = join(engine.dir, 'dockerd');
    copyFileSync(spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim(), fake);
    chmodSync(fake, 0o755);
    const hung = spawn(fake, ['600'], { stdio: 'ignore' });
    engine.children.push(hung);
    const pid = hung.pid as number;
    await eventually(async () => {
      if (processInfo(pid)?.comm !== 'dockerd') throw new Error(`pid ${pid} is ${processInfo(pid)?.comm}`);
    });
    writeFileSync(engine.pidfile, String(pid));
    const setup = await script('setup', engine);
    assert.is(setup.code, 1, setup.output);
    assert.ok(
      setup.output.includes(`setup: engine: a dockerd (pid ${pid}, in ${engine.pidfile}) is running but does not answer at unix://${engine.socket}: it may still be starting, or hung — wait, or stop it (kill ${pid}) and run setup again`),
      setup.output,
    );
    assert.is(processInfo(pid)?.state === 'Z' ? 'zombie' : processInfo(pid)?.comm, 'dockerd', 'it was not killed');
    assert.is(readFileSync(engine.pidfile, 'utf8'), String(pid), 'nor its pid file removed');
  } finally {
    await engine.dispose();
  }
});

test.run();
