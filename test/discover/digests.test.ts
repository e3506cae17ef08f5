// The digest cache is an optimisation: one that cannot be written is a warning, never a failure.

import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listContext } from '../../src/discover/context.js';
import { digestContext } from '../../src/discover/digests.js';
import { tempDir, test } from '../helpers.js';

function checkout(): string {
  const root = tempDir('dockmk-digests-');
  writeFileSync(join(root, 'a.txt'), 'a');
  writeFileSync(join(root, 'b.txt'), 'b');
  return root;
}

test('a cache that cannot be written: one warning naming it, and the same digests as with a cache', async () => {
  const root = checkout();
  const listing = await listContext(root);
  const good = await digestContext(listing, join(tempDir('dockmk-digest-cache-'), 'digests.json'));
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

/** Files older than the racy window, so that the cache keeps them. */
function oldTree(files: Record<string, string>): string {
  const root = tempDir('dockmk-digests-');
  for (const [path, text] of Object.entries(files)) put(root, path, text);
  return root;
}

const HOUR_AGO = Date.now() / 1000 - 3600;

/** Written with an mtime of an hour ago (or `at` seconds after it): many files share size and mtime, so only the path tells their records apart. */
function put(root: string, path: string, text: string, at = 0): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
  utimesSync(join(root, path), HOUR_AGO + at, HOUR_AGO + at);
}

test('through the cache, after files are added, removed, renamed and edited: the digests of a fresh read, in the listing order', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`d${i % 4}/f${String(i).padStart(2, '0')}.txt`] = `text ${i}`;
  const root = oldTree(files);
  const cache = join(tempDir('dockmk-digest-cache-'), 'digests.json');
  const same = async (what: string): Promise<void> => {
    const listing = await listContext(root);
    const fresh = await digestContext(listing, null);
    assert.equal([...(await digestContext(listing, cache))], [...fresh], what);
    assert.equal([...(await digestContext(listing, cache))], [...fresh], `${what}, again`);
  };
  await same('first');
  put(root, 'd0/a-first.txt', 'new at the front');
  put(root, 'd2/f17.5.txt', 'new in the middle');
  await same('added');
  rmSync(join(root, 'd1/f05.txt'));
  rmSync(join(root, 'd3'), { recursive: true });
  await same('removed');
  renameSync(join(root, 'd2/f10.txt'), join(root, 'd0/zz.txt'));
  await same('renamed');
  put(root, 'd0/f04.txt', 'text 4, edited', 1);
  put(root, 'd2/f26.txt', 'same sz', 2);
  await same('edited');
});

test('a damaged cache, or one of the earlier format, is read past: the digests of a fresh read', async () => {
  const root = oldTree({ 'a.txt': 'a', 'b/c.txt': 'c' });
  const listing = await listContext(root);
  const fresh = [...(await digestContext(listing, null))];
  const cache = join(tempDir('dockmk-digest-cache-'), 'digests.json');
  await digestContext(listing, cache);
  const good = readFileSync(cache, 'utf8');
  const lie = 'x:0000000000000000000000000000000000000000000000000000000000000000';
  const entry = listing.entries.find((e) => e.path === 'a.txt');
  const texts = [
    good.slice(0, good.length / 2),
    'null',
    JSON.stringify({ v: 1, files: { 'a.txt': [entry?.size, entry?.mtimeMs, entry?.mode, lie] } }),
    JSON.stringify({ v: 2, files: { 'a.txt': ['a.txt', entry?.size, entry?.mtimeMs, entry?.mode, lie] } }),
    JSON.stringify({ v: 2, files: [['a.txt', entry?.size, entry?.mtimeMs, entry?.mode, 7]] }),
  ];
  for (const text of texts) {
    writeFileSync(cache, text);
    assert.equal([...(await digestContext(listing, cache))], fresh, text.slice(0, 60));
  }
});

test.run();
