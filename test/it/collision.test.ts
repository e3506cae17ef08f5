// Two checkouts on one engine build under the same tags: status says which images this checkout
// did not build, and a build of one never counts as up to date in the other.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { docker, dockmk, ok, summaryOf, tempDir, test } from './helpers.js';

const NAME = `collide-${process.pid}`;

function checkout(which: string): string {
  const root = tempDir('dockmk-it-collide-');
  mkdirSync(join(root, 'docker/build', NAME), { recursive: true });
  writeFileSync(join(root, 'docker/build', NAME, 'Dockerfile'), `FROM debian:bookworm\nRUN echo built by the ${which} checkout > /built\n`);
  return root;
}

interface Entry {
  service: string;
  state: string;
  changed: string[];
}

const status = async (root: string): Promise<Entry> => {
  const run = await dockmk(['status', NAME, '--root', root, '--json'], { env: { DOCKMK_STATE_DIR: join(root, '.dockmk') } });
  ok(run);
  return (JSON.parse(run.stdout) as Entry[])[0] as Entry;
};

test('an image another checkout built under the same tag: "not built by this checkout"; one tagged by hand: "not built by dockmk"', async () => {
  // Two clones at different commits: the same service, other inputs. (Two checkouts with the
  // same inputs build the same image, which is up to date in both.)
  const first = checkout('first');
  const second = checkout('second');
  try {
    const built = await dockmk(['test', NAME, '--root', first, '--json'], { env: { DOCKMK_STATE_DIR: join(first, '.dockmk') } });
    ok(built);
    assert.equal(summaryOf(built).built, [NAME]);
    assert.is((await status(first)).state, 'built');
    const other = await status(second);
    assert.equal([other.state, other.changed], ['modified', [`not built by this checkout (another checkout on this engine built ${NAME}:test; the tags collide)`]]);

    await docker.getImage('debian:bookworm').tag({ repo: NAME, tag: 'test' });
    const byHand = await status(first);
    assert.equal([byHand.state, byHand.changed], ['modified', [`not built by dockmk (${NAME}:test was tagged some other way)`]]);
  } finally {
    await docker.getImage(`${NAME}:test`).remove().catch(() => undefined);
  }
});

test.run();
