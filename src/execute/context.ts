// Streams a build context to the engine: the listed checkout files, plus the rendered
// Dockerfile under a fixed name that the streamed .dockerignore excludes, as `docker build -f -`
// does, so the checkout on disk is never written and the image holds the checkout as it is.

import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack } from 'tar-stream';

type Headers = Parameters<ReturnType<typeof tarPack>['entry']>[0];
import { DOCKERIGNORE, type ContextListing } from '../discover/context.js';

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
        await pipeline(createReadStream(join(listing.root, entry.path)), archive.entry(header));
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

function fixedFile(name: string): Headers {
  return { name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: 'file' };
}

function addEntry(archive: ReturnType<typeof tarPack>, header: Headers, content?: string): Promise<void> {
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
