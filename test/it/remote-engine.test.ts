// A remote engine: a second dockerd of its own (test/it/second-engine.ts), listening only on a
// loopback TCP port. dockmk reaches it by --engine and by DOCKER_HOST.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { docker, dockmk, ok, summaryOf, tempDir, test } from './helpers.js';
import { loadBaseImage, startSecondEngine } from './second-engine.js';

test('--engine tcp://… and DOCKER_HOST build on and read from a second engine, not the first', async () => {
  const engine = await startSecondEngine();
  try {
    await loadBaseImage(engine);

    const root = tempDir('dockmk-it-remote-');
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
