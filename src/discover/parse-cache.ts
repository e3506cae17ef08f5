// The parse cache: what discover/ read from a checkout and what the model made of it, so that a
// run reads and parses only the files that changed since the last one.
//
// For each file: its text (unless the reader said it need not be kept) and the model's parse of
// that text (its memo, see model/memo.ts); for each directory: its entries. A file is known by
// its path and checked on every run against its size, mtime and inode, as the digest cache
// (digests.ts) checks the context, a directory against its mtime and inode (adding, removing or
// renaming an entry changes its mtime): anything that differs is read again. What changed
// within RACY_MS of the run is not kept, since a second change in the same mtime tick would not
// show. Only what a run visited is written back (a deleted file leaves the cache with it).
//
// A cache from another build of dockmk, of another checkout, or damaged (truncated, not JSON) is
// ignored, never an error; the cache is written to a temporary file and renamed, so a crash never
// leaves half of one, and a cache that cannot be written costs a warning, never the run.

import { readFileSync } from 'node:fs';
import { fsReason, STATE_DIR_FIX } from '../errors.js';
import { writeAtomic } from './write-atomic.js';

/** Set by scripts/build.mjs to a digest of dockmk's sources and locked dependencies. */
declare const DOCKMK_BUILD: string | undefined;

/** Bump when the layout of the file changes (the build digest covers what the memos hold). */
const FORMAT = 1;
const VERSION = `${FORMAT}:${typeof DOCKMK_BUILD === 'string' ? DOCKMK_BUILD : 'source'}`;

/** A file or directory changed this recently may change again within its mtime's resolution. */
export const RACY_MS = 2000;

/** What stat says about a regular file, as the cache keys it. */
export interface FileKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** [size, mtimeMs, ino, text (null: read, not kept), memo (null: none)] */
type FileRecord = [number, number, number, string | null, unknown];

/** [mtimeMs, ino, names joined by '/', kinds: one letter a name] */
type DirRecord = [number, number, string, string];

/** A directory entry as the cache keeps it: the kind as listed, a symbolic link as such. */
export interface CachedEntry {
  readonly name: string;
  readonly kind: 'file' | 'directory' | 'symlink' | 'other';
}

interface CacheData {
  v: string;
  root: string;
  files: Record<string, FileRecord>;
  dirs: Record<string, DirRecord>;
}

const LETTERS = { file: 'f', directory: 'd', symlink: 'l', other: 'o' } as const;
const KINDS: Record<string, CachedEntry['kind']> = { f: 'file', d: 'directory', l: 'symlink', o: 'other' };

export class ParseCache {
  private readonly previous: CacheData;
  private readonly next: CacheData;
  private changed = false;
  /** Entries of the previous cache this run found unchanged. */
  private kept = 0;
  /** Saved already in this run. */
  private written = false;

  /**
   * `file`: where the cache lives (null: no cache, everything is read); `root`: the checkout the
   * paths are relative to; `now`: the time of the run (for the racy check).
   */
  constructor(
    readonly file: string | null,
    root: string,
    private readonly now: number = Date.now(),
  ) {
    this.previous = (file && readCache(file, root)) || empty(root);
    this.next = empty(root);
  }

  /** Whether the cache has a record of `path` (when not, a reader may open it without a stat first). */
  knows(path: string): boolean {
    return this.previous.files[path] !== undefined;
  }

  /**
   * The text of the file at `path` (relative to the root) whose key the caller took before
   * reading: the cached text when size, mtime and inode are the recorded ones, else null (the
   * caller reads it and calls `store`). With `keep` (the predicate `store` was given), a text it
   * refused comes back as `false`.
   */
  lookup(path: string, key: FileKey, keep?: (text: string) => boolean): string | false | null {
    const known = this.previous.files[path];
    if (!isFileRecord(known) || known[0] !== key.size || known[1] !== key.mtimeMs || known[2] !== key.ino) return null;
    if (known[3] === null && keep === undefined) return null;
    if (this.next.files[path] === undefined) this.kept += 1;
    this.next.files[path] = known;
    return known[3] ?? false;
  }

  /** Records what was read at `path`, with the key taken before the read; returns the text `keep` keeps, else null. */
  store(path: string, key: FileKey, text: string, keep?: (text: string) => boolean): string | null {
    const kept = keep === undefined || keep(text) ? text : null;
    this.changed = true;
    if (this.now - key.mtimeMs > RACY_MS) this.next.files[path] = [key.size, key.mtimeMs, key.ino, kept, null];
    return kept;
  }

  /** What the model made of the text `lookup` or `store` gave for `path` in this run, when it said. */
  memo(path: string): unknown {
    const record = this.next.files[path];
    return record?.[4] ?? undefined;
  }

  /** Keeps what the model made of the text `lookup` or `store` gave for `path` in this run. */
  remember(path: string, memo: unknown): void {
    const record = this.next.files[path];
    if (record === undefined || record[4] === memo) return;
    this.next.files[path] = [record[0], record[1], record[2], record[3], memo];
    this.changed = true;
  }

  /** memo() and remember() as the model's ParseMemo of one kind of value (model/memo.ts). */
  memos<T>(): { get(path: string): T | undefined; set(path: string, value: T): void } {
    return { get: (path) => this.memo(path) as T | undefined, set: (path, value) => this.remember(path, value) };
  }

  /**
   * The entries of directory `dir`, whose key (size ignored) the caller took before listing it:
   * the cached ones while its mtime and inode are the recorded ones, else `read()`'s.
   */
  entries(dir: string, key: FileKey, read: () => CachedEntry[]): CachedEntry[] {
    const known = this.previous.dirs[dir];
    if (isDirRecord(known) && known[0] === key.mtimeMs && known[1] === key.ino) {
      if (this.next.dirs[dir] === undefined) this.kept += 1;
      this.next.dirs[dir] = known;
      if (known[2] === '') return [];
      return known[2].split('/').map((name, i) => ({ name, kind: KINDS[known[3][i] as string] ?? 'other' }));
    }
    const entries = read();
    this.changed = true;
    if (this.now - key.mtimeMs > RACY_MS) {
      this.next.dirs[dir] = [key.mtimeMs, key.ino, entries.map((entry) => entry.name).join('/'), entries.map((entry) => LETTERS[entry.kind]).join('')];
    }
    return entries;
  }

  /**
   * Writes what this run visited, when anything differs from what was read. Returns why it could
   * not (the run goes on without it), or null.
   */
  save(): string | null {
    if (this.file === null) return null;
    // Nothing read, nothing new: it changed only if some entry was not visited (deleted). Once
    // written, only what was added since is news.
    if (!this.changed && (this.written || this.kept === Object.keys(this.previous.files).length + Object.keys(this.previous.dirs).length)) return null;
    try {
      writeAtomic(this.file, JSON.stringify(this.next));
      this.changed = false;
      this.written = true;
      return null;
    } catch (error) {
      return `cannot write the parse cache (${fsReason(error)}); going on without it, the next run reads and parses the checkout again — ${STATE_DIR_FIX}`;
    }
  }
}

function empty(root: string): CacheData {
  return { v: VERSION, root, files: {}, dirs: {} };
}

function readCache(file: string, root: string): CacheData | null {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheData> | null;
    if (data?.v !== VERSION || data.root !== root || !isObject(data.files) || !isObject(data.dirs)) return null;
    return data as CacheData;
  } catch {
    return null; // none yet, truncated or not JSON: start over
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFileRecord(value: unknown): value is FileRecord {
  return Array.isArray(value) && value.length === 5 && typeof value[0] === 'number' && typeof value[1] === 'number' && typeof value[2] === 'number' && (value[3] === null || typeof value[3] === 'string');
}

function isDirRecord(value: unknown): value is DirRecord {
  return Array.isArray(value) && value.length === 4 && typeof value[0] === 'number' && typeof value[1] === 'number' && typeof value[2] === 'string' && typeof value[3] === 'string';
}
