// Streams a build context to the engine: the listed checkout files, plus the rendered
// Dockerfile under a fixed name that the streamed .dockerignore excludes, as `docker build -f -`
// does, so the checkout on disk is never written and the image holds the checkout as it is.
//
// Each file is sent with the size it was listed (and hashed) with. One that changed since (a
// log or a build output written into the checkout while the build runs), was removed, or
// cannot be read fails the build with its path, instead of a "Size mismatch" or a tar the
// engine reads cut short. Sizes past the ustar limit (8 GiB) go in base-256, which the
// engine reads.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack } from 'tar-stream';

type Headers = Parameters<ReturnType<typeof tarPack>['entry']>[0];
import { DOCKERIGNORE, excludingPattern, type ContextEntry, type ContextListing } from '../discover/context.js';
import { DiscoveryError, fsReason, StepFailedError } from '../errors.js';
import { parseDockerfile } from '../model/dockerfile.js';
import type { ParsedSources } from '../plan/parsed-sources.js';
import type { BuildPlan } from '../plan/types.js';

/** Where the rendered Dockerfile sits in the context (the daemon drops it before ADD/COPY). */
export const RENDERED_DOCKERFILE = '.dockmk.Dockerfile';

/**
 * `files` replaces the content of checkout files by path (one-off overrides): the archive
 * carries that text, the checkout on disk is left as it is.
 */
export function packContext(listing: ContextListing, dockerfile: string, files: Readonly<Record<string, string>> = {}): Readable {
  const archive = tarPack();
  const write = async (): Promise<void> => {
    for (const entry of listing.entries) {
      const header: Headers = {
        name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        mode: entry.mode,
        mtime: new Date(entry.mtimeMs),
        uid: 0,
        gid: 0,
        size: entry.size,
        type: entry.type,
      };
      const replaced = entry.type === 'file' ? files[entry.path] : undefined;
      if (replaced !== undefined) {
        await addEntry(archive, { ...header, size: Buffer.byteLength(replaced) }, replaced);
      } else if (entry.type === 'file') {
        await sendFile(archive, header, listing.root, entry);
      } else {
        await addEntry(archive, { ...header, size: 0, ...(entry.linkname ? { linkname: entry.linkname } : {}) });
      }
    }
    // Docker CLI's own rule for a Dockerfile that is not in the context: append its name to
    // .dockerignore (creating one that also ignores itself), so the daemon removes both.
    const ignoreText =
      listing.dockerignore === null
        ? `${DOCKERIGNORE}\n${RENDERED_DOCKERFILE}\n`
        : `${listing.dockerignore}\n${RENDERED_DOCKERFILE}\n`;
    await addEntry(archive, fixedFile(DOCKERIGNORE), ignoreText);
    await addEntry(archive, fixedFile(RENDERED_DOCKERFILE), dockerfile);
    archive.finalize();
  };
  write().catch((error: Error) => archive.destroy(error));
  // A streamx Readable: it pipes like a Node stream, which is all the engine call needs.
  return archive as unknown as Readable;
}

/**
 * Before anything is built: a file or directory a COPY or ADD names that is in the checkout but
 * left out of the context by .dockerignore (an `ansible_overrides.yml`, say). The engine would
 * fail that build at its COPY, after the builds before it ran; this names the Dockerfile line
 * and the .dockerignore line at once. Sources with wildcards or variables, and ones that do not
 * exist at all, are left to the engine. (A Dockerfile that .dockerignore excludes is fine:
 * dockmk sends its own rendered copy, as `docker build -f -` does.)
 */
export function checkContextSources(plan: BuildPlan, listing: ContextListing, parsed?: ParsedSources): void {
  if (listing.dockerignore === null) return;
  const present = new Set(listing.entries.map((entry) => entry.path));
  for (const step of plan.steps) {
    // A service with a context of its own is checked by the engine against that directory's .dockerignore.
    if (step.kind !== 'build' || (step.context ?? '.') !== '.') continue;
    const sources = parsed?.(step) ?? parseDockerfile(step.dockerfile, step.content, step.buildArgs).contextSources;
    for (const source of sources) {
      const path = posix.normalize(source.source.replace(/^\/+/, '')).replace(/\/+$/, '');
      if (path === '.' || path === '' || path.startsWith('../') || /[*?[\]$\\]/.test(path) || present.has(path)) continue;
      // An excluded directory that an exception re-includes a part of is sent with that part.
      if (listing.entries.some((entry) => entry.path.startsWith(`${path}/`))) continue;
      try {
        lstatSync(join(listing.root, path));
      } catch {
        continue;
      }
      const pattern = excludingPattern(listing.dockerignore, path);
      throw new DiscoveryError(
        step.dockerfile,
        source.line,
        `${source.instruction} ${source.source}: it is excluded from the build context by ${DOCKERIGNORE}${pattern ? `:${pattern.line} (${pattern.pattern})` : ''}, so this build would fail; nothing was built`,
        { hint: `remove that pattern, or add !${path} after it in ${DOCKERIGNORE}` },
      );
    }
  }
}

/**
 * Files up to this size are read whole with synchronous calls, larger ones streamed. A checkout
 * is mostly small files, and the promise API's open, stat, stream and close cost ~0.4 ms a file
 * here: 11 s to send a legacy checkout of 25,000 files, against well under a second this way.
 */
const SMALL_FILE = 256 * 1024;

/** A file, exactly as it was listed: its size, its mtime; else a failure naming it. */
async function sendFile(archive: ReturnType<typeof tarPack>, header: Headers, root: string, entry: ContextEntry): Promise<void> {
  if (entry.size <= SMALL_FILE) {
    await addEntry(archive, header, readSmall(join(root, entry.path), entry));
    return;
  }
  let file;
  try {
    file = await open(join(root, entry.path), 'r');
  } catch (error) {
    throw unreadable(entry, error);
  }
  try {
    const same = async (): Promise<boolean> => {
      const stat = await file.stat();
      return stat.size === entry.size && stat.mtimeMs === entry.mtimeMs;
    };
    if (!(await same())) throw changed(entry);
    try {
      // Read through the handle, not its bare descriptor: close() below then waits for a read still
      // in flight when the archive was destroyed (an aborted build), instead of freeing a number
      // that read would then take from whatever opens next (a socket).
      await pipeline(file.createReadStream({ autoClose: false, start: 0, end: entry.size - 1 }), archive.entry(header));
    } catch (error) {
      // A file cut short while it was read: tar-stream's "Size mismatch".
      if (!(await same())) throw changed(entry);
      throw error;
    }
    if (!(await same())) throw changed(entry);
  } finally {
    await file.close();
  }
}

/** A small file's bytes, checked against its listed size and mtime before and after the read. */
function readSmall(path: string, entry: ContextEntry): Buffer {
  let fd: number;
  try {
    // Non-blocking, so that a FIFO put where the file was listed cannot hang the build.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw unreadable(entry, error);
  }
  try {
    const same = (): boolean => {
      const stat = fstatSync(fd);
      return stat.isFile() && stat.size === entry.size && stat.mtimeMs === entry.mtimeMs;
    };
    if (!same()) throw changed(entry);
    const bytes = Buffer.allocUnsafe(entry.size);
    let length = 0;
    while (length < entry.size) {
      const read = readSync(fd, bytes, length, entry.size - length, length);
      if (read === 0) break;
      length += read;
    }
    if (length !== entry.size || !same()) throw changed(entry);
    return bytes;
  } catch (error) {
    if (error instanceof StepFailedError) throw error;
    throw unreadable(entry, error);
  } finally {
    closeSync(fd);
  }
}

function changed(entry: ContextEntry): StepFailedError {
  return new StepFailedError(`${entry.path} changed while it was being sent to the engine`, { hint: 'add it to .dockerignore, or write it outside the checkout' });
}

function unreadable(entry: ContextEntry, error: unknown): StepFailedError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StepFailedError(`${entry.path} was removed while it was being sent to the engine`, { hint: 'add it to .dockerignore, or write it outside the checkout' });
  return new StepFailedError(`${entry.path} cannot be read (${fsReason(error)})`, {
    hint: 'make it readable for the user running dockmk, or add it to .dockerignore',
  });
}

function fixedFile(name: string): Headers {
  return { name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: 'file' };
}

function addEntry(archive: ReturnType<typeof tarPack>, header: Headers, content?: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (content === undefined) archive.entry(header, callback);
    else archive.entry(header, content, callback);
  });
}

/**
 * The Dockerfile sent with the image's labels in one LABEL instruction at its end (the last
 * stage is the image). The classic builder makes each label of the API's `labels` parameter a
 * step of its own, a container created and committed for each: seven labels, seven steps on
 * every build. Null when a label cannot be written safely as Dockerfile text (a line break, a
 * Dockerfile with an `escape` parser directive or ending in a continuation): then the API
 * parameter carries them.
 */
export function withLabelInstruction(dockerfile: string, labels: Readonly<Record<string, string>>): string | null {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return null;
  if (/^#\s*escape\s*=/im.test(dockerfile) || /\\\s*$/.test(dockerfile)) return null;
  if (keys.some((key) => /[\r\n]/.test(key) || /[\r\n]/.test(labels[key] as string))) return null;
  // In double quotes the builder takes \" \\ and \$ literally; a bare $ would be expanded.
  const quote = (text: string): string => `"${text.replace(/[\\"$]/g, '\\$&')}"`;
  const instruction = `LABEL ${keys.map((key) => `${quote(key)}=${quote(labels[key] as string)}`).join(' ')}`;
  return `${dockerfile.endsWith('\n') ? dockerfile : `${dockerfile}\n`}${instruction}\n`;
}
