// The plan memo: a dry run's plan kept with what it was made from, so that the same command on
// a checkout unchanged since prints it again without reading, modelling and planning the
// checkout (the idea of Gradle's configuration cache; the plan is pure data, so it keeps whole).
//
// What a plan is made from, and how a later run knows it unchanged:
// - the command's options, the configuration, the revision and dockmk's own build: the key,
//   a digest of all of them (a plan memo is kept for each of the last KEEP keys);
// - the build context: the walk every run makes anyway, fingerprinted (every entry's path,
//   type, mode, size, mtime, inode and link target: what the digest cache trusts for content);
// - whatever the readers saw on disk that the walk did not cover (a file .dockerignore leaves
//   out, a path through a symbolic link, a file that was not there): re-stat-ed on reading.
//
// Never stale where the other caches are not: a file changed within RACY_MS before the run or
// during it, or seen twice with different stats, keeps the plan out of the memo; a memo from another
// build of dockmk, damaged or unreadable, is ignored. A memo that cannot be written costs the
// next run the planning, never this one its result.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContextEntry, ContextListing } from './context.js';
import { listedEntries, statPath, type FileStat } from './files.js';
import { RACY_MS } from './parse-cache.js';
import { writeAtomic } from './write-atomic.js';

/** Set by scripts/build.mjs to a digest of dockmk's sources and locked dependencies. */
declare const DOCKMK_BUILD: string | undefined;

const FORMAT = 1;
/** Memos kept: one for each of the last commands (test, build, one service, another...). */
const KEEP = 8;

/** [path, kind (null: nothing there), size, mtimeMs, ino] */
type Observed = [string, FileStat['kind'] | null, number, number, number];

interface MemoFile {
  format: number;
  key: string;
  fingerprint: string;
  observed: Observed[];
  value: unknown;
}

/** What the run's readers saw on disk, path by path (see files.ts `ObserveRead`). */
export class ReadLog {
  private readonly seen = new Map<string, FileStat | null>();
  /** A path seen twice with different stats: it changed while the run read it. */
  private moved = false;

  readonly observe = (path: string, stat: FileStat | null): void => {
    const known = this.seen.get(path);
    if (known === undefined) this.seen.set(path, stat);
    else if (!sameStat(known, stat)) this.moved = true;
  };

  get changedDuringRun(): boolean {
    return this.moved;
  }

  entries(): IterableIterator<[string, FileStat | null]> {
    return this.seen.entries();
  }
}

/** The memo of one key under `stateDir`: what `read` returns is what `write` was given. */
export class PlanMemo {
  readonly file: string;
  private readonly key: string;

  constructor(
    stateDir: string,
    /** Everything the plan depends on besides the checkout's files (JSON-able; Maps and Sets allowed). */
    parts: unknown,
    /** When the run began: what changed since (or just before) is too recent to vouch for. */
    private readonly startedAt: number,
  ) {
    this.key = createHash('sha256').update(JSON.stringify([FORMAT, buildIdentity(), parts], jsonable)).digest('hex');
    this.file = join(stateDir, 'cache', 'plans', `${this.key.slice(0, 16)}.json`);
  }

  /** The value kept for this key and this checkout as it is now; null when there is none. */
  read(listing: ContextListing): unknown {
    let data: MemoFile;
    try {
      data = JSON.parse(readFileSync(this.file, 'utf8')) as MemoFile;
    } catch {
      return null;
    }
    if (data === null || typeof data !== 'object' || data.format !== FORMAT || data.key !== this.key || !Array.isArray(data.observed)) return null;
    if (data.fingerprint !== fingerprint(listing)) return null;
    const base = listing.root.endsWith('/') ? listing.root : `${listing.root}/`;
    for (const record of data.observed) {
      if (!Array.isArray(record) || typeof record[0] !== 'string') return null;
      const [path, kind, size, mtimeMs, ino] = record;
      const now = statPath(base + path);
      if (kind === null ? now !== null : now === null || now.kind !== kind || now.size !== size || now.mtimeMs !== mtimeMs || now.ino !== ino) return null;
    }
    return data.value;
  }

  /**
   * Keeps `value` for this key, made from `listing` and what `log` saw; returns why not (a
   * problem writing; null when kept, or when a change too recent to trust kept it out).
   */
  write(listing: ContextListing, log: ReadLog, value: unknown): string | null {
    if (log.changedDuringRun) return null;
    const recent = this.startedAt - RACY_MS;
    if (listing.entries.some((entry) => entry.mtimeMs > recent)) return null;
    const root = statPath(listing.root);
    if (root === null || root.mtimeMs > recent) return null;
    const entries = listedEntries(listing);
    const observed: Observed[] = [];
    for (const [path, stat] of log.entries()) {
      if (stat !== null && stat.mtimeMs > recent) return null;
      if (!covered(path, stat, entries)) observed.push(stat === null ? [path, null, 0, 0, 0] : [path, stat.kind, stat.size, stat.mtimeMs, stat.ino]);
    }
    const data: MemoFile = { format: FORMAT, key: this.key, fingerprint: fingerprint(listing), observed, value };
    try {
      writeAtomic(this.file, JSON.stringify(data));
      prune(dirname(this.file));
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }
}

/**
 * The listing's every entry, and the root's own stat (a file added where the walk does not
 * look changes its directory's mtime, and so the fingerprint).
 */
export function fingerprint(listing: ContextListing): string {
  const known = fingerprints.get(listing);
  if (known !== undefined) return known;
  const made = makeFingerprint(listing);
  fingerprints.set(listing, made);
  return made;
}

/** Each listing's fingerprint, made once for the read and the write of one run. */
const fingerprints = new WeakMap<ContextListing, string>();

function makeFingerprint(listing: ContextListing): string {
  // A change detector, not a signature: sha1 hashes the ~5 MB of a large checkout's listing in half sha256's time.
  const hash = createHash('sha1');
  const root = statPath(listing.root);
  let chunk = `${listing.root}\0${listing.dockerignore === null ? '-' : `+${listing.dockerignore}`}\0${root === null ? '-' : `${root.mtimeMs}:${root.ino}`}\n`;
  for (const entry of listing.entries) {
    chunk += `${entry.path}\0${entry.type}\0${entry.mode}\0${entry.size}\0${entry.mtimeMs}\0${entry.ino ?? ''}\0${entry.linkname ?? ''}\n`;
    if (chunk.length > 1 << 16) {
      hash.update(chunk);
      chunk = '';
    }
  }
  return hash.update(chunk).digest('hex');
}

/**
 * Whether the listing's fingerprint answers for what a reader saw at `path`: the same entry
 * (no symbolic link) with the same stat, or nothing there in a directory the walk listed.
 */
function covered(path: string, stat: FileStat | null, entries: ReadonlyMap<string, ContextEntry>): boolean {
  const entry = entries.get(path);
  if (stat === null) {
    if (entry !== undefined) return false;
    const slash = path.lastIndexOf('/');
    return slash === -1 || entries.get(path.slice(0, slash))?.type === 'directory';
  }
  return entry !== undefined && entry.type === stat.kind && entry.mtimeMs === stat.mtimeMs && entry.ino === stat.ino && (stat.kind !== 'file' || entry.size === stat.size);
}

function sameStat(a: FileStat | null, b: FileStat | null): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** The oldest memos beyond KEEP, removed. */
function prune(dir: string): void {
  const memos = readdirSync(dir).filter((name) => name.endsWith('.json'));
  if (memos.length <= KEEP) return;
  const aged = memos.map((name) => ({ name, mtimeMs: statSync(join(dir, name)).mtimeMs })).sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of aged.slice(KEEP)) rmSync(join(dir, name), { force: true });
}

function jsonable(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { map: [...value] };
  if (value instanceof Set) return { set: [...value] };
  return value;
}

let identity: string | undefined;

/** dockmk's build: its digest when bundled; run from the sources, their paths, sizes and mtimes. */
function buildIdentity(): string {
  if (typeof DOCKMK_BUILD === 'string') return DOCKMK_BUILD;
  if (identity !== undefined) return identity;
  const src = join(dirname(fileURLToPath(import.meta.url)), '..');
  const hash = createHash('sha256');
  const names = readdirSync(src, { recursive: true, encoding: 'utf8' }).sort();
  for (const name of names) {
    const stat = statSync(join(src, name));
    if (stat.isFile()) hash.update(`${name}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return (identity = `source:${hash.digest('hex')}`);
}
