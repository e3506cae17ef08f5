// The digest cache is an optimisation: one that cannot be written is a warning, never a failure.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listContext } from '../../src/discover/context.js';
import { digestContext } from '../../src/discover/digests.js';
import { test } from '../helpers.js';

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'dockmk-digests-'));
  writeFileSync(join(root, 'a.txt'), 'a');
  writeFileSync(join(root, 'b.txt'), 'b');
  return root;
}

test('a cache that cannot be written: one warning naming it, and the same digests as with a cache', async () => {
  const root = checkout();
  const listing = await listContext(root);
  const good = await digestContext(listing, join(mkdtempSync(join(tmpdir(), 'dockmk-digest-cache-')), 'digests.json'));
  // Below a regular file, mkdir fails (ENOTDIR) as a full or read-only state directory does
  // (test/it/state-faults.test.ts does those on a real tmpfs).
  writeFileSync(join(root, 'state'), '');
  const cacheFile = join(root, 'state', 'cache', 'digests.json');
  const warnings: string[] = [];
  const digests = await digestContext(listing, cacheFile, (message) => warnings.push(message));
  assert.equal([...digests], [...good]);
  assert.equal(warnings, [
    `${cacheFile}: cannot write the digest cache (ENOTDIR: not a directory); going on without it, the next run reads every file again — free space there, or set DOCKMK_STATE_DIR to a writable directory`,
  ]);
});

test.run();
