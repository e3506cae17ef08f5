import { chmodSync, lstatSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { applyWriteBack, checkWriteBack, previewWriteBack } from '../../src/report/write-back.js';
import type { PublishOutcome } from '../../src/report/publish.js';
import { tempDir, test } from '../helpers.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const OUTCOME: PublishOutcome = {
  complete: true,
  images: [{ service: 'app', digest: DIGEST, refs: ['reg.example/ns/app:sha-abcdef1', 'reg.example/ns/app:1.4.0', 'reg.example/ns/app:latest'] }],
  notPushed: [],
  kept: [],
  pending: [],
};
const OPTIONS = { digest: false, create: false, commit: false };

function setup() {
  const dir = tempDir('dockmk-write-back-');
  const real = join(dir, 'real.yml');
  writeFileSync(real, '# deploy\nimage: old/app:1.0.0 # pinned\n');
  chmodSync(real, 0o640);
  const link = join(dir, 'config.yml');
  symlinkSync('real.yml', link);
  return { dir, real, link, target: { file: link, path: ['image'], service: 'app', source: '--write-back' } };
}

test('writes through a symlink, keeps the mode, prints a unified diff; a second run changes nothing', async () => {
  const { dir, real, link, target } = setup();
  try {
    let out = '';
    await applyWriteBack([target], OUTCOME, { ...OPTIONS, cwd: dir }, { write: (text: string) => (out += text) });
    assert.is(readFileSync(real, 'utf8'), '# deploy\nimage: reg.example/ns/app:1.4.0 # pinned\n');
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link');
    assert.is(statSync(real).mode & 0o777, 0o640);
    assert.is(out, '--- a/config.yml\n+++ b/config.yml\n@@ -1,2 +1,2 @@\n # deploy\n-image: old/app:1.0.0 # pinned\n+image: reg.example/ns/app:1.4.0 # pinned\n');
    out = '';
    await applyWriteBack([target], OUTCOME, { ...OPTIONS, cwd: dir }, { write: (text: string) => (out += text) });
    assert.is(out, 'write-back: config.yml already holds reg.example/ns/app:1.4.0\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checks before the run: a service the push does not publish, only moving tags; the preview pins a placeholder digest', async () => {
  const { dir, target } = setup();
  try {
    const options = { ...OPTIONS, cwd: dir };
    await checkWriteBack([target], OUTCOME, options);
    try {
      await checkWriteBack([{ ...target, service: 'forum' }], OUTCOME, options);
      assert.unreachable();
    } catch (error) {
      assert.match((error as Error).message, /forum is not pushed by this run/);
    }
    const latestOnly: PublishOutcome = { ...OUTCOME, images: [{ service: 'app', digest: null, refs: ['reg.example/ns/app:latest'] }] };
    try {
      await checkWriteBack([target], latestOnly, options);
      assert.unreachable();
    } catch (error) {
      assert.match((error as Error).message, /pushed only as reg\.example\/ns\/app:latest, a tag that moves/);
    }
    await checkWriteBack([target], latestOnly, { ...options, digest: true });
    const [preview] = previewWriteBack([target], { ...OUTCOME, images: [{ ...OUTCOME.images[0]!, digest: null }] }, { ...options, digest: true });
    assert.match(preview?.after ?? '', /^image: reg\.example\/ns\/app:1\.4\.0@sha256:<digest of the push> # pinned$/m);
    assert.match(readFileSync(target.file, 'utf8'), /old\/app:1\.0\.0/, 'a preview writes nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
