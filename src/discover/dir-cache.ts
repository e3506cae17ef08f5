// The names in each directory of the build context, as the last run listed them, so that a run
// lists only the directories that changed. A directory is known by its path and checked against
// its mtime, inode and mode: adding, removing or renaming an entry changes its mtime (the rule
// git's untracked cache relies on too), and a chmod changes its mode, so a directory that became
// unreadable is listed again and fails as it should. What changed within RACY_MS of the run is
// not kept (a second change in the same mtime tick would not show); only what the run visited is
// written back.
//
// A legacy-shaped checkout has a directory for about every file (roles/<r>/tasks/, meta/, …):
// on the generated one of 25,000 files, listing its 25,600 directories was a third of the walk.
// Like the other caches it is only that: one from another checkout, another format or damaged
// is ignored, one that cannot be written is a warning.

import { readFileSync } from 'node:fs';
import { fsReason, STATE_DIR_FIX } from '../errors.js';
import { keyedRecords, OrderedRecords } from './ordered-records.js';
import { RACY_MS } from './parse-cache.js';
import { writeAtomic } from './write-atomic.js';

const FORMAT = 2;

/** What lstat says about a directory, as the cache keys it. */
export interface DirKey {
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
}

/** [path, mtimeMs, ino, mode, names joined by '/'] */
type DirRecord = [string, number, number, number, string];

interface CacheData {
  v: number;
  root: string;
  /** In the order the walk visited them, which the next walk most likely has too. */
  dirs: DirRecord[];
}

export class DirCache {
  private readonly previous: OrderedRecords<DirRecord>;
  /** The walk asks for each directory once: what this run keeps, in its order. */
  private readonly next: DirRecord[] = [];
  private changed = false;
  private kept = 0;

  constructor(
    readonly file: string | null,
    private readonly root: string,
    private readonly now: number = Date.now(),
  ) {
    this.previous = new OrderedRecords((file && readCache(file, root)) || []);
  }

  /**
   * The sorted names of `dir`, whose key the caller took before: the cached ones while the key
   * is the recorded one, else `read()`'s. `read` says whether its names may be kept (a name that
   * is not valid UTF-8 may not: the caller needs its bytes).
   */
  names(dir: string, key: DirKey, read: () => { names: string[]; keep: boolean }): string[] {
    const known = this.previous.get(dir);
    if (known !== undefined && known[1] === key.mtimeMs && known[2] === key.ino && known[3] === key.mode && typeof known[4] === 'string') {
      this.next.push(known);
      this.kept += 1;
      return known[4] === '' ? [] : known[4].split('/');
    }
    const { names, keep } = read();
    this.changed = true;
    if (keep && this.now - key.mtimeMs > RACY_MS) this.next.push([dir, key.mtimeMs, key.ino, key.mode, names.join('/')]);
    return names;
  }

  /** Writes what this run visited when it differs from what was read; returns why it could not, or null. */
  save(): string | null {
    if (this.file === null) return null;
    if (!this.changed && this.kept === this.previous.size) return null;
    try {
      const data: CacheData = { v: FORMAT, root: this.root, dirs: this.next };
      writeAtomic(this.file, JSON.stringify(data));
      return null;
    } catch (error) {
      return `cannot write the directory cache (${fsReason(error)}); going on without it, the next run lists every directory again — ${STATE_DIR_FIX}`;
    }
  }
}

function readCache(file: string, root: string): DirRecord[] | null {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheData> | null;
    if (data?.v !== FORMAT || data.root !== root) return null;
    return keyedRecords<DirRecord>(data.dirs, 5);
  } catch {
    return null; // none yet, truncated or not JSON: start over
  }
}
