// The build context: every path under the root that Docker would send, after .dockerignore,
// walked the way the Docker CLI walks it (an ignored directory is skipped unless an exception
// pattern may re-include something below it).
//
// Synchronous calls on purpose, as in discover/ansible.ts: every run lists the whole context (a
// no-op build too), and one awaited lstat per entry (a thread-pool round trip each) took ~2.4 s
// on a generated checkout of 43,000 entries, ~0.3 s on one of 5,500; synchronous calls take
// ~0.45 s and ~0.09 s.

import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { DiscoveryError, fsReason } from '../errors.js';
import type { DirCache, DirKey } from './dir-cache.js';

// CommonJS `module.exports = factory`, typed as an ES default export.
const ignore = dockerignore as unknown as typeof dockerignore.default;

export interface ContextEntry {
  /** Relative to the root, forward slashes. */
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** The inode, so the parse cache (parse-cache.ts) can key files by it without a stat of its own. */
  readonly ino?: number;
  readonly linkname?: string;
}

export interface ContextListing {
  readonly root: string;
  /** Sorted depth-first, directories before their contents. */
  readonly entries: readonly ContextEntry[];
  /** The checkout's .dockerignore text, or null when it has none. */
  readonly dockerignore: string | null;
  /** Total size of the files, in bytes. */
  readonly bytes: number;
}

export const DOCKERIGNORE = '.dockerignore';

/**
 * `own`: directories of dockmk's own state inside the checkout (history, logs, caches). They
 * never go into the context, whatever .dockerignore says: they change with every run, so an
 * image holding them would never be up to date.
 */
export async function listContext(root: string, own: readonly string[] = [], cache?: DirCache): Promise<ContextListing> {
  const dockerignore = readDockerignore(root);
  const patterns = parsePatterns(dockerignore ?? '');
  // Without patterns nothing is ignored: skip the matcher (~10 µs a path on a checkout of thousands).
  const matcher = patterns.length > 0 ? ignore().add(patterns) : null;
  const exceptions = patterns.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1));
  const entries: ContextEntry[] = [];
  let bytes = 0;
  // Paths are relative and clean: concatenating is what path.join would do, minus its cost.
  const base = root.endsWith('/') ? root : `${root}/`;

  /** `key`: the directory's lstat, when the cache may answer for it. */
  const walk = (dir: string, key: DirKey | null): void => {
    let raw: Map<string, Buffer> | null = null;
    const read = (): { names: string[]; keep: boolean } => {
      const found = readDir(root, dir);
      raw = found.raw;
      return { names: found.names, keep: found.raw === null };
    };
    const names = cache !== undefined && key !== null ? cache.names(dir, key, read) : read().names;
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (path === DOCKERIGNORE || (own.length > 0 && own.includes(path))) continue;
      const ignored = matcher?.ignores(path) ?? false;
      const bad = (raw as Map<string, Buffer> | null)?.get(name);
      if (bad !== undefined) {
        if (ignored) continue;
        throw new DiscoveryError(`${dir === '' ? '' : `${dir}/`}${escapeName(bad)}`, undefined, 'its name is not valid UTF-8, and dockmk sends only UTF-8 names to the engine', {
          hint: 'rename it (convmv -f latin1 -t utf-8 --notest <name>), or add it to .dockerignore',
        });
      }
      const stat = lstatSync(base + path);
      if (stat.isDirectory()) {
        if (ignored && !mayReinclude(path, exceptions)) continue;
        if (!ignored) entries.push(entry(path, 'directory', stat));
        walk(path, stat);
      } else if (ignored) {
        continue;
      } else if (stat.isSymbolicLink()) {
        entries.push({ ...entry(path, 'symlink', stat), linkname: readlinkSync(base + path) });
      } else if (stat.isFile()) {
        entries.push(entry(path, 'file', stat));
        bytes += stat.size;
      }
      // Sockets, FIFOs and devices cannot go into a build context; Docker skips them too.
    }
  };
  walk('', cache === undefined ? null : rootKey(root));
  return { root, entries, dockerignore, bytes };
}

/**
 * A directory's names, sorted. A name that is not valid UTF-8 (Node decodes its bytes to
 * U+FFFD, so the path cannot be opened again) has its bytes in `raw`, by the decoded form the
 * `.dockerignore` matcher sees; `raw` is null when every name is valid.
 */
function readDir(root: string, dir: string): { names: string[]; raw: Map<string, Buffer> | null } {
  let names: string[];
  try {
    names = readdirSync(join(root, dir)).sort();
  } catch (error) {
    const why = fsReason(error);
    throw new DiscoveryError(dir === '' ? root : dir, undefined, `the directory cannot be read (${why}), so it cannot go into the build context`, {
      hint: 'make it readable for the user running dockmk, or add it to .dockerignore',
    });
  }
  if (!names.some((name) => name.includes('\uFFFD'))) return { names, raw: null };
  const raw = new Map<string, Buffer>();
  for (const bytes of readdirSync(join(root, dir), { encoding: 'buffer' })) {
    if (!Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) raw.set(bytes.toString('utf8'), bytes);
  }
  return { names, raw };
}

/** Bytes of a file name as text: printable ASCII as it is, every other byte as \\xNN. */
function escapeName(bytes: Buffer): string {
  return [...bytes].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * The root's stat for the directory cache (a link followed: its target's entries are listed);
 * null (no cache) when it cannot be taken, so that listing it fails as it should.
 */
function rootKey(root: string): DirKey | null {
  try {
    return statSync(root);
  } catch {
    return null;
  }
}

function readDockerignore(root: string): string | null {
  try {
    return readFileSync(join(root, DOCKERIGNORE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function entry(path: string, type: ContextEntry['type'], stat: { mode: number; size: number; mtimeMs: number; ino: number }): ContextEntry {
  return { path, type, mode: stat.mode & 0o7777, size: type === 'file' ? stat.size : 0, mtimeMs: stat.mtimeMs, ino: stat.ino };
}

/** The .dockerignore lines as Docker reads them: trimmed, comments dropped, paths cleaned. */
export function parsePatterns(text: string): string[] {
  return patternLines(text).map((entry) => entry.pattern);
}

/** The patterns with the (1-based) line each comes from. */
export function patternLines(text: string): { pattern: string; line: number }[] {
  const patterns: { pattern: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    line = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (line === '' || line === '.') return;
    patterns.push({ pattern: negated ? `!${line}` : line, line: index + 1 });
  });
  return patterns;
}

/** The .dockerignore line that leaves `path` out of the context (the last pattern that matches it), or null. */
export function excludingPattern(text: string, path: string): { pattern: string; line: number } | null {
  let found: { pattern: string; line: number } | null = null;
  for (const entry of patternLines(text)) {
    const negated = entry.pattern.startsWith('!');
    const matches = ignore().add(negated ? entry.pattern.slice(1) : entry.pattern).ignores(path);
    if (matches) found = negated ? null : entry;
  }
  return found;
}

function mayReinclude(dir: string, exceptions: readonly string[]): boolean {
  const prefix = `${dir}/`;
  return exceptions.some((pattern) => `${pattern}/`.startsWith(prefix));
}
