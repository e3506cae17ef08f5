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
import { writeAtomic } from './write-atomic.js';

const CACHE_VERSION = 1;

/** A file changed this recently may change again within its mtime's resolution: not cached. */
const RACY_MS = 2000;

interface CacheFile {
  v: number;
  /** path → [size, mtimeMs, mode, digest] */
  files: Record<string, [number, number, number, string]>;
}

/**
 * Digests of the listed files and links, by path, in the listing's order. `cacheFile` may be
 * null (no cache); `warn` hears of a cache that could not be written.
 */
export async function digestContext(listing: ContextListing, cacheFile: string | null, warn: (message: string) => void = () => undefined): Promise<Map<string, string>> {
  const cache = cacheFile ? readCache(cacheFile) : { v: CACHE_VERSION, files: {} };
  const next: CacheFile = { v: CACHE_VERSION, files: {} };
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
    const known = cache.files[entry.path];
    if (known && known[0] === entry.size && known[1] === entry.mtimeMs && known[2] === entry.mode) {
      digests.set(entry.path, known[3]);
      next.files[entry.path] = known;
      continue;
    }
    changed = true;
    pending.push(
      hashFile(join(listing.root, entry.path)).catch((error: NodeJS.ErrnoException) => {
        throw unreadable(entry.path, error);
      }).then((sha) => {
        const digest = `${entry.mode & 0o111 ? 'x' : '-'}:${sha}`;
        digests.set(entry.path, digest);
        if (now - entry.mtimeMs > RACY_MS) next.files[entry.path] = [entry.size, entry.mtimeMs, entry.mode, digest];
      }),
    );
    if (pending.length >= 32) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  if (cacheFile && (changed || Object.keys(cache.files).length !== Object.keys(next.files).length)) {
    try {
      writeCache(cacheFile, next);
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

function readCache(path: string): CacheFile {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
    if (parsed.v === CACHE_VERSION && parsed.files && typeof parsed.files === 'object') return parsed;
  } catch {
    // No cache yet, or a damaged one: start over.
  }
  return { v: CACHE_VERSION, files: {} };
}

/** Written whole or not at all, so a crash or a full disk never leaves half a cache. */
function writeCache(path: string, cache: CacheFile): void {
  writeAtomic(path, JSON.stringify(cache));
}
