// The build context: every path under the root that Docker would send, after .dockerignore,
// walked the way the Docker CLI walks it (an ignored directory is skipped unless an exception
// pattern may re-include something below it).

import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import dockerignore from '@balena/dockerignore';

// CommonJS `module.exports = factory`, typed as an ES default export.
const ignore = dockerignore as unknown as typeof dockerignore.default;

export interface ContextEntry {
  /** Relative to the root, forward slashes. */
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
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
export async function listContext(root: string, own: readonly string[] = []): Promise<ContextListing> {
  const dockerignore = await readFile(join(root, DOCKERIGNORE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  const patterns = parsePatterns(dockerignore ?? '');
  const matcher = ignore().add(patterns);
  const exceptions = patterns.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1));
  const entries: ContextEntry[] = [];
  let bytes = 0;

  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(join(root, dir))).sort();
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (path === DOCKERIGNORE || own.includes(path)) continue;
      const stat = await lstat(join(root, path));
      const ignored = matcher.ignores(path);
      if (stat.isDirectory()) {
        if (ignored && !mayReinclude(path, exceptions)) continue;
        if (!ignored) entries.push(entry(path, 'directory', stat));
        await walk(path);
      } else if (ignored) {
        continue;
      } else if (stat.isSymbolicLink()) {
        entries.push({ ...entry(path, 'symlink', stat), linkname: await readlink(join(root, path)) });
      } else if (stat.isFile()) {
        entries.push(entry(path, 'file', stat));
        bytes += stat.size;
      }
      // Sockets, FIFOs and devices cannot go into a build context; Docker skips them too.
    }
  };
  await walk('');
  return { root, entries, dockerignore, bytes };
}

function entry(path: string, type: ContextEntry['type'], stat: { mode: number; size: number; mtimeMs: number }): ContextEntry {
  return { path, type, mode: stat.mode & 0o7777, size: type === 'file' ? stat.size : 0, mtimeMs: stat.mtimeMs };
}

/** The .dockerignore lines as Docker reads them: trimmed, comments dropped, paths cleaned. */
export function parsePatterns(text: string): string[] {
  const patterns: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    line = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (line === '' || line === '.') continue;
    patterns.push(negated ? `!${line}` : line);
  }
  return patterns;
}

function mayReinclude(dir: string, exceptions: readonly string[]): boolean {
  const prefix = `${dir}/`;
  return exceptions.some((pattern) => `${pattern}/`.startsWith(prefix));
}
