// A digest of every file of the build context (its content, and whether it is executable, as
// git records it, so digests agree across machines whatever their umask; a symlink's target),
// read through a cache keyed by path, size, mtime and mode, so a no-op run reads no file twice.
// The cache is only that: one that cannot be read is started over, one that cannot be written
// (a full disk, a read-only state directory) is a warning, and the run goes on without it.

import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryError, fsReason, STATE_DIR_FIX } from '../errors.js';
import type { ContextListing } from './context.js';
import { keyedRecords, OrderedRecords } from './ordered-records.js';
import { writeAtomic } from './write-atomic.js';

const CACHE_VERSION = 2;

/** A file changed this recently may change again within its mtime's resolution: not cached. */
const RACY_MS = 2000;

/** [path, size, mtimeMs, mode, digest] */
type DigestRecord = [string, number, number, number, string];

interface CacheFile {
  v: number;
  /** In the listing's order, which the next run's listing most likely has too. */
  files: DigestRecord[];
}

/**
 * Digests of the listed files and links, by path, in the listing's order. `cacheFile` may be
 * null (no cache); `warn` hears of a cache that could not be written.
 */
export async function digestContext(listing: ContextListing, cacheFile: string | null, warn: (message: string) => void = () => undefined): Promise<Map<string, string>> {
  const cache = new OrderedRecords(cacheFile ? readCache(cacheFile) : []);
  const next: DigestRecord[] = [];
  const digests = new Map<string, string>();
  let changed = false;
  const now = Date.now();
  const pending: Promise<void>[] = [];
  for (const entry of listing.entries) {
    if (entry.type === 'directory') continue;
    // In the listing's order whatever order the reads end in: a Map keeps where a key was first set.
    digests.set(entry.path, '');
    if (entry.type === 'symlink') {
      digests.set(entry.path, `link:${entry.linkname ?? ''}`);
      continue;
    }
    const known = cache.get(entry.path);
    if (known !== undefined && known[1] === entry.size && known[2] === entry.mtimeMs && known[3] === entry.mode && typeof known[4] === 'string') {
      digests.set(entry.path, known[4]);
      next.push(known);
      continue;
    }
    changed = true;
    pending.push(
      hashFile(join(listing.root, entry.path)).catch((error: NodeJS.ErrnoException) => {
        throw unreadable(entry.path, error);
      }).then((sha) => {
        const digest = `${entry.mode & 0o111 ? 'x' : '-'}:${sha}`;
        digests.set(entry.path, digest);
        if (now - entry.mtimeMs > RACY_MS) next.push([entry.path, entry.size, entry.mtimeMs, entry.mode, digest]);
      }),
    );
    if (pending.length >= 32) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  if (cacheFile && (changed || cache.size !== next.length)) {
    try {
      // In the listing's order (reads that ended out of it are put back in it).
      const order = new Map([...digests.keys()].map((path, i) => [path, i]));
      next.sort((a, b) => (order.get(a[0]) as number) - (order.get(b[0]) as number));
      writeCache(cacheFile, { v: CACHE_VERSION, files: next });
    } catch (error) {
      const why = fsReason(error);
      warn(`${cacheFile}: cannot write the digest cache (${why}); going on without it, the next run reads every file again — ${STATE_DIR_FIX}`);
    }
  }
  return digests;
}

/** A file of the context that cannot be read: Docker refuses to send such a context too ("no permission to read from"). */
function unreadable(path: string, error: NodeJS.ErrnoException): DiscoveryError {
  if (error.code === 'ENOENT') {
    return new DiscoveryError(path, undefined, 'was removed while dockmk read the checkout', { hint: 'run again once nothing writes into the checkout, or add it to .dockerignore' });
  }
  const why = fsReason(error);
  return new DiscoveryError(path, undefined, `cannot be read (${why}), so it cannot go into the build context`, {
    hint: 'make it readable for the user running dockmk, or add it to .dockerignore',
  });
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function readCache(path: string): DigestRecord[] {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CacheFile> | null;
    if (parsed?.v === CACHE_VERSION) return keyedRecords<DigestRecord>(parsed.files, 5) ?? [];
  } catch {
    // No cache yet, or a damaged one: start over.
  }
  return [];
}

/** Written whole or not at all, so a crash or a full disk never leaves half a cache. */
function writeCache(path: string, cache: CacheFile): void {
  writeAtomic(path, JSON.stringify(cache));
}
