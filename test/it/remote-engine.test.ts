// A remote engine: a second dockerd of its own, listening only on a loopback TCP port, with its
// own data, exec root, pidfile and bridge, and no iptables rules, so it leaves the first daemon's
// networking alone. (Not --bridge=none: at start that deletes the host's docker0, the first
// daemon's bridge.) dockmk reaches it by --engine and by DOCKER_HOST.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import * as assert from 'uvu/assert';
import { docker, dockmk, eventually, freePort, ok, summaryOf, test } from './helpers.js';

interface SecondEngine {
  readonly address: string;
  readonly client: Docker;
  readonly stop: () => Promise<void>;
}

async function startSecondEngine(): Promise<SecondEngine> {
  assert.is(spawnSync('sh', ['-c', 'command -v dockerd']).status, 0, 'dockerd is installed (npm run setup installs docker.io)');
  const dir = mkdtempSync(join(tmpdir(), 'dockmk-it-engine-'));
  const port = await freePort();
  // A bridge of its own, on an address of the benchmarking range (198.18.0.0/15) no one routes.
  const bridge = `dmk-it-${process.pid % 100000}`;
  const ip = (...args: string[]): void => {
    const result = spawnSync('ip', args, { encoding: 'utf8' });
    assert.is(result.status, 0, `ip ${args.join(' ')}: ${result.stderr ?? result.error?.message}`);
  };
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', '198.18.213.1/24', 'dev', bridge);
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
  return { address: `tcp://127.0.0.1:${port}`, client, stop };
}

test('--engine tcp://… and DOCKER_HOST build on and read from a second engine, not the first', async () => {
  const engine = await startSecondEngine();
  try {
    // debian:bookworm cannot be pulled here: hand the first engine's copy over.
    const loaded = await engine.client.loadImage(await docker.getImage('debian:bookworm').get());
    await new Promise<void>((resolve, reject) => engine.client.modem.followProgress(loaded, (error: Error | null) => (error ? reject(error) : resolve())));

    const root = mkdtempSync(join(tmpdir(), 'dockmk-it-remote-'));
    const name = `remote-only-${process.pid}`;
    mkdirSync(join(root, 'docker/build', name), { recursive: true });
    writeFileSync(join(root, 'docker/build', name, 'Dockerfile'), 'FROM debian:bookworm\nRUN echo "built on the second engine" > /built-remotely\n');
    const env = { DOCKMK_STATE_DIR: join(root, '.dockmk') };

    const built = await dockmk(['test', name, '--root', root, '--engine', engine.address, '--json'], { env });
    ok(built);
    assert.equal(summaryOf(built).built, [name]);
    const remote = await engine.client.getImage(`${name}:test`).inspect();
    assert.ok(remote.Id.startsWith('sha256:'), 'the image is on the second engine');
    assert.is(await docker.getImage(`${name}:test`).inspect().then(() => true, () => false), false, 'and not on the first');

    const status = await dockmk(['status', name, '--root', root, '--json'], { env: { ...env, DOCKER_HOST: engine.address } });
    ok(status);
    const [entry] = JSON.parse(status.stdout) as { service: string; state: string }[];
    assert.equal([entry?.service, entry?.state], [name, 'built']);
  } finally {
    await engine.stop();
  }
});

test.run();
