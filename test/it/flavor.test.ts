// Flavors and one-off overrides on the real engine: the devstack:install tasks run only in
// the devstack flavor, the two flavors keep their own tags, and --override reaches the play
// without a byte of the checkout changing.

import { execFileSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { copyOfCheckout, dockmk, eventually, httpGet, imageId, ok, runImage, summaryOf, tempDir, test } from './helpers.js';

/** A copy of the examples under git, so "the checkout is unchanged" is what git says. */
function gitCheckout(): { root: string; env: Record<string, string>; status: () => string } {
  const root = copyOfCheckout();
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=dockmk test', '-c', 'user.email=test@dockmk.invalid', 'commit', '-qm', 'examples');
  const env = { DOCKMK_STATE_DIR: tempDir('dockmk-it-state-') };
  return { root, env, status: () => git('status', '--porcelain', '--untracked-files=all') };
}

async function served(image: string): Promise<{ greeting: string; devstack: boolean }> {
  const running = await runImage(image, 8080);
  try {
    return JSON.parse(await eventually(() => httpGet(running.port))) as { greeting: string; devstack: boolean };
  } finally {
    await running.stop();
  }
}

test('the devstack:install task runs in the --devstack image only; both images run, under their own tags', async () => {
  const { root, env } = gitCheckout();
  const plain = await dockmk(['test', 'hello-app', '--root', root, '--json'], { env });
  ok(plain);
  const devstack = await dockmk(['test', 'hello-app', '--root', root, '--devstack', '--json'], { env });
  ok(devstack);
  assert.equal(
    [...summaryOf(devstack).built, ...summaryOf(devstack).upToDate].sort(),
    ['bookworm-common', 'hello-app', 'python-app-common'],
  );
  const [plainId, devstackId] = await Promise.all([imageId('hello-app:test'), imageId('hello-app:test-devstack')]);
  assert.ok(plainId !== null && devstackId !== null && plainId !== devstackId, 'two images, two tags');

  assert.is((await served('hello-app:test')).devstack, false, 'the plain image has no devstack marker');
  assert.is((await served('hello-app:test-devstack')).devstack, true, 'the devstack image has the marker its devstack:install task wrote');

  // The flavor is an input: each flavor is up to date on its own tag, neither rebuilds the other.
  const again = await dockmk(['test', 'hello-app', '--root', root, '--json'], { env });
  ok(again);
  assert.equal(summaryOf(again).built, []);
  assert.is(await imageId('hello-app:test'), plainId);
  assert.is(await imageId('hello-app:test-devstack'), devstackId);
});

test('--override changes what the play does in the image; the checkout is unchanged afterwards', async () => {
  const { root, env, status } = gitCheckout();
  const greeting = `overridden ${process.pid}`;
  const result = await dockmk(['test', 'hello-app', '--root', root, '--override', `HELLO_GREETING=${greeting}`, '--json'], { env });
  ok(result);
  assert.equal(summaryOf(result).built.includes('hello-app'), true);
  assert.is((await served('hello-app:test')).greeting, greeting);
  assert.is(status(), '', 'git status is clean');

  // Without the override the image is out of date again, and the checkout's value comes back.
  const back = await dockmk(['test', 'hello-app', '--root', root, '--json'], { env });
  ok(back);
  assert.equal(summaryOf(back).built, ['hello-app']);
  assert.is.not((await served('hello-app:test')).greeting, greeting);
});

test.run();
