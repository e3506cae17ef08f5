// The parse cache: what discover/ read from a checkout and what the model made of it, so that a
// run reads and parses only the files that changed since the last one.
//
// For each file: its text (unless the reader said it need not be kept) and the model's parse of
// that text (its memo, see model/memo.ts). A file is known by its path and checked on every run
// against its size, mtime and inode, as the digest cache (digests.ts) checks the context:
// anything that differs is read again. Files changed within RACY_MS of the run are not kept,
// since a second change in the same mtime tick would not show. Only what a run visited is
// written back (a deleted file leaves the cache with it). Directories are listed on every run:
// a listing costs about what checking a cached one would.
//
// A cache from another build of dockmk, of another checkout, or damaged (truncated, not JSON) is
// ignored, never an error; the cache is written to a temporary file and renamed, so a crash never
// leaves half of one, and a cache that cannot be written costs a warning, never the run.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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

interface CacheData {
  v: string;
  root: string;
  files: Record<string, FileRecord>;
}

export class ParseCache {
  private readonly previous: CacheData;
  private readonly next: CacheData;
  private changed = false;

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

  /** What the model made of the text `text()` gave for `path` in this run, when it said. */
  memo(path: string): unknown {
    const record = this.next.files[path];
    return record?.[4] ?? undefined;
  }

  /** Keeps what the model made of the text `text()` gave for `path` in this run. */
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
   * Writes what this run visited, when anything differs from what was read. Returns why it could
   * not (the run goes on without it), or null.
   */
  save(): string | null {
    if (this.file === null) return null;
    const dropped = Object.keys(this.previous.files).length !== Object.keys(this.next.files).length;
    if (!this.changed && !dropped) return null;
    const temporary = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(temporary, JSON.stringify(this.next));
      renameSync(temporary, this.file);
      return null;
    } catch (error) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // It was never made (its directory could not be).
      }
      return `could not write the parse cache (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the next run reads and parses the checkout again`;
    }
  }
}

function empty(root: string): CacheData {
  return { v: VERSION, root, files: {} };
}

function readCache(file: string, root: string): CacheData | null {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheData> | null;
    if (data?.v !== VERSION || data.root !== root || !isObject(data.files)) return null;
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
