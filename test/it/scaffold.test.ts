// `dockmk new` on the real engine: the scaffolded service passes lint, builds with `test` on
// the example common base, and its role ran in the image (with the service's overrides).

import { PassThrough } from 'node:stream';
import * as assert from 'uvu/assert';
import { copyOfCheckout, docker, dockmk, imageId, ok, summaryOf, tempDir, test } from './helpers.js';

/** Runs `cmd` in a throwaway container of `image`; its output and exit code. */
async function run(image: string, cmd: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [result, container] = (await docker.run(image, cmd, stream, { Tty: true })) as [{ StatusCode: number }, { remove: () => Promise<unknown> }];
  await container.remove();
  return { code: result.StatusCode, output };
}

test('new → lint → test: the scaffolded image builds on bookworm-common and its role ran', async () => {
  const root = copyOfCheckout();
  const env = { DOCKMK_STATE_DIR: tempDir('dockmk-it-state-') };
  // A name of this run only: no other test (or engineer) builds this tag.
  const service = `demo-${process.pid}`;
  const role = service.replace(/-/g, '_');

  ok(await dockmk(['new', service, '--root', root], { env }));
  const lint = await dockmk(['lint', service, '--root', root], { env });
  ok(lint);
  assert.is(lint.stdout, '', 'no finding');

  const built = await dockmk(['test', service, '--root', root, '--json'], { env });
  ok(built);
  const summary = summaryOf(built);
  assert.ok([...summary.built, ...summary.upToDate].includes(service), JSON.stringify(summary));
  assert.ok([...summary.built, ...summary.upToDate].includes('bookworm-common'), 'its parent, the common base, is built first');
  assert.ok((await imageId(`${service}:test`)) !== null, `${service}:test exists`);

  try {
    // The role's task wrote the message file, with the value of the service's ansible_overrides.yml.
    const message = await run(`${service}:test`, ['cat', `/edx/app/${service}/${service}.txt`]);
    assert.is(message.code, 0, message.output);
    assert.is(message.output.trim(), `${service}: made by dockmk new`);
    // The plain flavor skipped the devstack:install task; the parent's role common ran too.
    const devstack = await run(`${service}:test`, ['test', '-e', `/edx/app/${service}/devstack.txt`]);
    assert.is(devstack.code, 1, 'no devstack marker in the plain flavor');
    const release = await run(`${service}:test`, ['cat', '/etc/edx-release']);
    assert.is(release.code, 0, release.output);
    assert.ok(role.length > 0);
  } finally {
    await docker.getImage(`${service}:test`).remove({ force: true }).catch(() => undefined);
  }
});

test.run();
