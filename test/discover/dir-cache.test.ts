// The directory cache behind the context walk: a listing through it is the listing without it,
// whatever changed in between, and a cache it cannot use is started over without an error.

import { chmodSync, mkdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listContext, type ContextListing } from '../../src/discover/context.js';
import { DirCache } from '../../src/discover/dir-cache.js';
import { tempDir, tempTree, test } from '../helpers.js';

const tree = (files: Record<string, string>): string => tempTree(files, 'dockmk-dirs-');

/** A whole second, long ago: an mtime that can be put back exactly. */
const SOME_TIME = 1_600_000_000;

const paths = (listing: ContextListing): string[] => listing.entries.map((entry) => `${entry.type[0]} ${entry.path}`);

/** A run through the cache file; `now` past the racy window, so that what it lists is kept. */
async function cached(root: string, file: string): Promise<ContextListing> {
  const cache = new DirCache(file, root, Date.now() + 60_000);
  const listing = await listContext(root, [], cache);
  assert.is(cache.save(), null);
  return listing;
}

test('through the cache, every change since the last run shows: added, removed, renamed, a directory made or swapped for a file', async () => {
  const root = tree({ 'a/b/one.txt': '1', 'a/two.txt': '2', 'c/three.txt': '3', 'keep.txt': 'k' });
  const file = join(tempDir('dockmk-dirs-state-'), 'dirs.json');
  const changes: [string, () => void][] = [
    ['nothing', () => undefined],
    ['a file added deep down', () => writeFileSync(join(root, 'a/b/new.txt'), 'n')],
    ['a file removed', () => rmSync(join(root, 'a/two.txt'))],
    ['a file renamed', () => renameSync(join(root, 'c/three.txt'), join(root, 'c/3.txt'))],
    ['a directory made', () => mkdirSync(join(root, 'a/b/d/e'), { recursive: true })],
    ['a directory swapped for a file', () => (rmSync(join(root, 'c'), { recursive: true }), writeFileSync(join(root, 'c'), 'now a file'))],
    ['a directory removed', () => rmSync(join(root, 'a/b/d'), { recursive: true })],
  ];
  for (const [name, change] of changes) {
    await cached(root, file);
    change();
    assert.equal(paths(await cached(root, file)), paths(await listContext(root)), name);
  }
});

test('the cache answers for a directory whose mtime, inode and mode are the recorded ones', async () => {
  const root = tree({ 'dir/one.txt': '1' });
  const file = join(tempDir('dockmk-dirs-state-'), 'dirs.json');
  utimesSync(join(root, 'dir'), SOME_TIME, SOME_TIME);
  await cached(root, file);
  // A change hidden from it on purpose: the directory's mtime put back as it was.
  writeFileSync(join(root, 'dir/two.txt'), '2');
  utimesSync(join(root, 'dir'), SOME_TIME, SOME_TIME);
  assert.equal(paths(await cached(root, file)), ['d dir', 'f dir/one.txt'], 'answered from the cache');
  assert.equal(paths(await listContext(root)), ['d dir', 'f dir/one.txt', 'f dir/two.txt']);
});

test('a chmod of a directory is a miss: one made unreadable is listed again, and fails as it does uncached', async () => {
  const root = tree({ 'dir/one.txt': '1' });
  const file = join(tempDir('dockmk-dirs-state-'), 'dirs.json');
  utimesSync(join(root, 'dir'), SOME_TIME, SOME_TIME);
  await cached(root, file);
  writeFileSync(join(root, 'dir/two.txt'), '2');
  chmodSync(join(root, 'dir'), 0o700);
  utimesSync(join(root, 'dir'), SOME_TIME, SOME_TIME);
  assert.equal(paths(await cached(root, file)), ['d dir', 'f dir/one.txt', 'f dir/two.txt'], 'same mtime, another mode');
});

test('a damaged cache, one of another checkout or another format: listed as without one, no error', async () => {
  const root = tree({ 'x/y.txt': 'y' });
  const dir = tempDir('dockmk-dirs-state-');
  const file = join(dir, 'dirs.json');
  const want = paths(await listContext(root));
  const key = statSync(root);
  const texts = [
    '{"v":2,"root":',
    'null',
    '[]',
    JSON.stringify({ v: 2, root: '/elsewhere', dirs: [['', key.mtimeMs, key.ino, key.mode, 'ghost']] }),
    JSON.stringify({ v: 1, root, dirs: { '': [key.mtimeMs, key.ino, key.mode, 'ghost'] } }),
    JSON.stringify({ v: 99, root, dirs: [] }),
    JSON.stringify({ v: 2, root, dirs: { '': ['', key.mtimeMs, key.ino, key.mode, 'ghost'] } }),
  ];
  for (const text of texts) {
    writeFileSync(file, text);
    assert.equal(paths(await cached(root, file)), want, text);
  }
  // A record of the wrong shape for a directory is a miss, not a crash.
  writeFileSync(file, JSON.stringify({ v: 2, root, dirs: [['', key.mtimeMs, key.ino, key.mode, 7]] }));
  assert.equal(paths(await cached(root, file)), want, 'a record of the wrong shape');
});

test('a cache that cannot be written says why, and the listing is still whole', async () => {
  const root = tree({ 'x/y.txt': 'y' });
  const blocker = join(tempDir('dockmk-dirs-state-'), 'not-a-dir');
  writeFileSync(blocker, '');
  const cache = new DirCache(join(blocker, 'dirs.json'), root, Date.now() + 60_000);
  const listing = await listContext(root, [], cache);
  assert.equal(paths(listing), ['d x', 'f x/y.txt']);
  assert.match(cache.save() ?? '', /^cannot write the directory cache \(.+\); going on without it/);
});

test.run();
