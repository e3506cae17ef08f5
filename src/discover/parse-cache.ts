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
import { keyedRecords, OrderedRecords } from './ordered-records.js';
import { writeAtomic } from './write-atomic.js';

/** Set by scripts/build.mjs to a digest of dockmk's sources and locked dependencies. */
declare const DOCKMK_BUILD: string | undefined;

/** Bump when the layout of the file changes (the build digest covers what the memos hold). */
const FORMAT = 2;
const VERSION = `${FORMAT}:${typeof DOCKMK_BUILD === 'string' ? DOCKMK_BUILD : 'source'}`;

/** A file or directory changed this recently may change again within its mtime's resolution. */
export const RACY_MS = 2000;

/** What stat says about a regular file, as the cache keys it. */
export interface FileKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** [path, size, mtimeMs, ino, text (null: read, not kept), memo (null: none)] */
type FileRecord = [string, number, number, number, string | null, unknown];

/** [path, mtimeMs, ino, names joined by '/', kinds: one letter a name] */
type DirRecord = [string, number, number, string, string];

/** A directory entry as the cache keeps it: the kind as listed, a symbolic link as such. */
export interface CachedEntry {
  readonly name: string;
  readonly kind: 'file' | 'directory' | 'symlink' | 'other';
}

/** The records in the order the run visited them, which the next run most likely has too (discover/ordered-records.ts). */
interface CacheData {
  v: string;
  root: string;
  files: FileRecord[];
  dirs: DirRecord[];
}

const LETTERS = { file: 'f', directory: 'd', symlink: 'l', other: 'o' } as const;
const KINDS: Record<string, CachedEntry['kind']> = { f: 'file', d: 'directory', l: 'symlink', o: 'other' };

export class ParseCache {
  private readonly files: OrderedRecords<FileRecord>;
  private readonly dirs: OrderedRecords<DirRecord>;
  private readonly nextFiles = new Map<string, FileRecord>();
  private readonly nextDirs = new Map<string, DirRecord>();
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
    private readonly root: string,
    private readonly now: number = Date.now(),
  ) {
    const previous = file ? readCache(file, root) : null;
    this.files = new OrderedRecords(previous?.files ?? []);
    this.dirs = new OrderedRecords(previous?.dirs ?? []);
  }

  /** Whether the cache has a record of `path` (when not, a reader may open it without a stat first). */
  knows(path: string): boolean {
    return this.files.get(path) !== undefined;
  }

  /**
   * The text of the file at `path` (relative to the root) whose key the caller took before
   * reading: the cached text when size, mtime and inode are the recorded ones, else null (the
   * caller reads it and calls `store`). With `keep` (the predicate `store` was given), a text it
   * refused comes back as `false`.
   */
  lookup(path: string, key: FileKey, keep?: (text: string) => boolean): string | false | null {
    const known = this.files.get(path);
    if (!isFileRecord(known) || known[1] !== key.size || known[2] !== key.mtimeMs || known[3] !== key.ino) return null;
    if (known[4] === null && keep === undefined) return null;
    if (!this.nextFiles.has(path)) this.kept += 1;
    this.nextFiles.set(path, known);
    return known[4] ?? false;
  }

  /** Records what was read at `path`, with the key taken before the read; returns the text `keep` keeps, else null. */
  store(path: string, key: FileKey, text: string, keep?: (text: string) => boolean): string | null {
    const kept = keep === undefined || keep(text) ? text : null;
    this.changed = true;
    if (this.now - key.mtimeMs > RACY_MS) this.nextFiles.set(path, [path, key.size, key.mtimeMs, key.ino, kept, null]);
    return kept;
  }

  /** What the model made of the text `lookup` or `store` gave for `path` in this run, when it said. */
  memo(path: string): unknown {
    return this.nextFiles.get(path)?.[5] ?? undefined;
  }

  /** Keeps what the model made of the text `lookup` or `store` gave for `path` in this run. */
  remember(path: string, memo: unknown): void {
    const record = this.nextFiles.get(path);
    if (record === undefined || record[5] === memo) return;
    this.nextFiles.set(path, [record[0], record[1], record[2], record[3], record[4], memo]);
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
    const known = this.dirs.get(dir);
    if (isDirRecord(known) && known[1] === key.mtimeMs && known[2] === key.ino) {
      if (!this.nextDirs.has(dir)) this.kept += 1;
      this.nextDirs.set(dir, known);
      if (known[3] === '') return [];
      return known[3].split('/').map((name, i) => ({ name, kind: KINDS[known[4][i] as string] ?? 'other' }));
    }
    const entries = read();
    this.changed = true;
    if (this.now - key.mtimeMs > RACY_MS) {
      this.nextDirs.set(dir, [dir, key.mtimeMs, key.ino, entries.map((entry) => entry.name).join('/'), entries.map((entry) => LETTERS[entry.kind]).join('')]);
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
    if (!this.changed && (this.written || this.kept === this.files.size + this.dirs.size)) return null;
    try {
      const data: CacheData = { v: VERSION, root: this.root, files: [...this.nextFiles.values()], dirs: [...this.nextDirs.values()] };
      writeAtomic(this.file, JSON.stringify(data));
      this.changed = false;
      this.written = true;
      return null;
    } catch (error) {
      return `cannot write the parse cache (${fsReason(error)}); going on without it, the next run reads and parses the checkout again — ${STATE_DIR_FIX}`;
    }
  }
}

function readCache(file: string, root: string): Pick<CacheData, 'files' | 'dirs'> | null {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheData> | null;
    if (data?.v !== VERSION || data.root !== root) return null;
    const files = keyedRecords<FileRecord>(data.files, 6);
    const dirs = keyedRecords<DirRecord>(data.dirs, 5);
    return files === null || dirs === null ? null : { files, dirs };
  } catch {
    return null; // none yet, truncated or not JSON: start over
  }
}

function isFileRecord(value: FileRecord | undefined): value is FileRecord {
  return value !== undefined && typeof value[1] === 'number' && typeof value[2] === 'number' && typeof value[3] === 'number' && (value[4] === null || typeof value[4] === 'string');
}

function isDirRecord(value: DirRecord | undefined): value is DirRecord {
  return value !== undefined && typeof value[1] === 'number' && typeof value[2] === 'number' && typeof value[3] === 'string' && typeof value[4] === 'string';
}
