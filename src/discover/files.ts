// How discover/ sees a checkout's files: directory entries, stats and texts, from the disk
// through the parse cache (parse-cache.ts), or from a context listing the run already made
// (context.ts), so that a command that lists the build context walks the checkout once.
//
// Synchronous on purpose (see ansible.ts): thousands of small calls in sequence are several
// times faster than through the promise API's thread pool. A file the cache knows is stat-ed,
// and read only when it changed; one it does not know is opened, stat-ed through the descriptor
// and read (the calls readFileSync makes anyway: a first run pays no stat of its own). The stat
// always comes before the read, so that a change while it is read shows in the next run.
// Directories are stat-ed, then listed unless cached (a stat costs a quarter of a listing).

import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { parsePatterns, type ContextEntry, type ContextListing } from './context.js';
import type { FileKey, ParseCache } from './parse-cache.js';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export interface DirEntry {
  readonly name: string;
  /** As the directory lists it: a symbolic link is 'symlink', whatever it points at. */
  readonly kind: EntryKind;
}

/** What stat says about a path, symbolic links followed (so kind is never 'symlink'). */
export interface FileStat extends FileKey {
  readonly kind: EntryKind;
}

/** What is at a path: a file and its text (null when `keep` refused it), or something else. */
export type FileRead = { readonly kind: 'file'; readonly text: string | null } | { readonly kind: 'directory' | 'other'; readonly text: null };

export interface CheckoutFiles {
  readonly root: string;
  /** The parse cache behind the texts (its memos are the model's). */
  readonly cache: ParseCache;
  /** A directory's entries sorted by name (symbolic links as such); [] when it is missing or no directory. */
  list(dir: string): readonly DirEntry[];
  /** What `path` is, symbolic links followed; null when nothing is there. */
  stat(path: string): FileStat | null;
  /**
   * What is at `path` (symbolic links followed) and, for a file, its text; null when nothing is
   * there. With `keep`, a text it refuses comes back as null, and the cache keeps that, not the text.
   */
  read(path: string, keep?: (text: string) => boolean): FileRead | null;
  /** The text of the file whose stat the caller took before (see `read`). */
  readStat(path: string, stat: FileStat, keep?: (text: string) => boolean): string | null;
}

/** What a reader of the disk saw at a path: its stat (symbolic links followed), or null for nothing there. */
export type ObserveRead = (path: string, stat: FileStat | null) => void;

/**
 * The files on disk under `root`, read through `cache` (a cache with no file reads everything);
 * `observe` hears of every path stat-ed, for a memo of what the reads led to (plan-memo.ts).
 */
export function diskFiles(root: string, cache: ParseCache, observe?: ObserveRead): CheckoutFiles {
  // Paths are relative and clean already: concatenating is what path.join would do, minus its cost.
  const base = root.endsWith('/') ? root : `${root}/`;
  let buffer = Buffer.allocUnsafe(64 * 1024);
  const stat = (path: string): FileStat | null => {
    const found = statPath(base + path);
    observe?.(path, found);
    return found;
  };
  const readStat = (path: string, found: FileStat, keep?: (text: string) => boolean): string | null => {
    const cached = cache.lookup(path, found, keep);
    if (cached !== null) return cached === false ? null : cached;
    return cache.store(path, found, readFileSync(base + path, 'utf8'), keep);
  };
  return {
    root,
    cache,
    stat,
    readStat,
    list(dir) {
      const found = stat(dir);
      return found?.kind === 'directory' ? cache.entries(dir, found, () => readEntries(base + dir)) : [];
    },
    read(path, keep) {
      if (!cache.knows(path)) return readNew(path, keep);
      const found = stat(path);
      if (found === null) return null;
      return found.kind === 'file' ? { kind: 'file', text: readStat(path, found, keep) } : { kind: otherKind(found.kind), text: null };
    },
  };

  /** A file the cache does not know: opened, stat-ed through its descriptor, read. */
  function readNew(path: string, keep?: (text: string) => boolean): FileRead | null {
    let fd: number;
    try {
      // Non-blocking, so that a FIFO where a file is expected does not hang the run.
      fd = openSync(base + path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      if (missing(error)) {
        observe?.(path, null);
        return null;
      }
      throw error;
    }
    try {
      const found = fromStats(fstatSync(fd));
      observe?.(path, found);
      if (found.kind !== 'file') return { kind: otherKind(found.kind), text: null };
      return { kind: 'file', text: cache.store(path, found, readAll(fd, found.size), keep) };
    } finally {
      closeSync(fd);
    }
  }

  /** The whole file as UTF-8, read into one buffer kept for the next file. */
  function readAll(fd: number, size: number): string {
    if (buffer.length < size + 1) buffer = Buffer.allocUnsafe(Math.max(size + 1, buffer.length * 2));
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) {
        // It grew since the stat: read on into a larger buffer.
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger);
        buffer = larger;
      }
    }
    return buffer.toString('utf8', 0, length);
  }
}

/**
 * The files a context listing holds, with their stats as it took them; what it does not cover
 * (symbolic links, or anything when .dockerignore leaves paths out of it) is asked of `disk`.
 */
export function listedFiles(listing: ContextListing, disk: CheckoutFiles): CheckoutFiles {
  if (listing.root !== disk.root || parsePatterns(listing.dockerignore ?? '').length > 0) return disk;
  const { entries, children } = indexListing(listing);
  /** A path the listing would hold if it existed: its parent directory is listed (and is no link). */
  const covered = (path: string): boolean => {
    const slash = path.lastIndexOf('/');
    return children.has(slash === -1 ? '' : path.slice(0, slash));
  };
  const stat = (path: string): FileStat | null => {
    const entry = entries.get(path);
    if (entry === undefined) return covered(path) ? null : disk.stat(path);
    if (entry.type === 'symlink' || entry.ino === undefined) return disk.stat(path);
    return { kind: entry.type, size: entry.size, mtimeMs: entry.mtimeMs, ino: entry.ino };
  };
  return {
    root: disk.root,
    cache: disk.cache,
    stat,
    readStat: (path, found, keep) => disk.readStat(path, found, keep),
    list: (dir) => children.get(dir) ?? (entries.has(dir) || !covered(dir) ? disk.list(dir) : []),
    read(path, keep) {
      const found = stat(path);
      if (found === null) return null;
      return found.kind === 'file' ? { kind: 'file', text: disk.readStat(path, found, keep) } : { kind: otherKind(found.kind), text: null };
    },
  };
}

/** The listing's entries by path. */
export function listedEntries(listing: ContextListing): ReadonlyMap<string, ContextEntry> {
  return indexListing(listing).entries;
}

/** Each listing's entries by path and by directory, made once however many readers it serves. */
const listingIndexes = new WeakMap<ContextListing, { entries: Map<string, ContextEntry>; children: Map<string, DirEntry[]> }>();

function indexListing(listing: ContextListing): { entries: Map<string, ContextEntry>; children: Map<string, DirEntry[]> } {
  const known = listingIndexes.get(listing);
  if (known !== undefined) return known;
  const entries = new Map(listing.entries.map((entry) => [entry.path, entry]));
  const children = new Map<string, DirEntry[]>([['', []]]);
  for (const entry of listing.entries) {
    if (entry.type === 'directory') children.set(entry.path, []);
    const slash = entry.path.lastIndexOf('/');
    children.get(slash === -1 ? '' : entry.path.slice(0, slash))?.push({ name: entry.path.slice(slash + 1), kind: entry.type });
  }
  // The walk lists each directory's names sorted already: sort only a list that is not.
  for (const list of children.values()) if (!sortedByName(list)) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const index = { entries, children };
  listingIndexes.set(listing, index);
  return index;
}

function sortedByName(list: readonly DirEntry[]): boolean {
  for (let i = 1; i < list.length; i++) if ((list[i - 1] as DirEntry).name > (list[i] as DirEntry).name) return false;
  return true;
}

/** What stat says about an absolute path, symbolic links followed; null when nothing is there. */
export function statPath(path: string): FileStat | null {
  let found: Stats | undefined;
  try {
    found = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (missing(error)) return null;
    throw error;
  }
  return found ? fromStats(found) : null;
}

function readEntries(dir: string): DirEntry[] {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (missing(error)) return [];
    throw error;
  }
  return dirents
    .map((dirent) => ({ name: dirent.name, kind: direntKind(dirent) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Nothing there: no such entry, a file where a directory was expected, a dangling or looping link. */
function missing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

function otherKind(kind: EntryKind): 'directory' | 'other' {
  return kind === 'directory' ? 'directory' : 'other';
}

function direntKind(dirent: Dirent): EntryKind {
  return dirent.isSymbolicLink() ? 'symlink' : dirent.isDirectory() ? 'directory' : dirent.isFile() ? 'file' : 'other';
}

function fromStats(stats: Stats): FileStat {
  const kind: EntryKind = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
  return { kind, size: kind === 'file' ? stats.size : 0, mtimeMs: stats.mtimeMs, ino: stats.ino };
}
