// Renders the Dockerfile dockmk sends: base images swapped for the ones the plan builds, the
// rest byte for byte, and every line number kept so engine errors still point at the source.

import { lexDockerfile, splitWords } from '../model/dockerfile-lex.js';
import type { BaseImage, Dockerfile } from '../model/dockerfile.js';
import { formatImageRef, type ImageRef } from '../model/image-ref.js';
import { mountFroms, replaceMountFrom } from '../model/run-mounts.js';

export interface BaseEdit {
  readonly base: BaseImage;
  readonly ref: ImageRef;
}

export function renderDockerfile(dockerfile: Dockerfile, edits: readonly BaseEdit[]): string {
  if (edits.length === 0) return dockerfile.text;
  const newline = dockerfile.text.includes('\r\n') ? '\r\n' : '\n';
  const physical = dockerfile.text.split(/\r?\n/);
  const logical = new Map(lexDockerfile(dockerfile.text).lines.map((line) => [line.line, line]));
  for (const { base, ref } of edits) {
    const line = logical.get(base.line);
    if (line === undefined) throw new Error(`no instruction at ${dockerfile.path}:${base.line}`);
    const words = splitWords(line.args, dockerfile.escape);
    const image = formatImageRef(ref);
    if (base.instruction === 'RUN') {
      const mount = mountFroms(line.args, dockerfile.escape).find((found) => found.value === base.written);
      if (mount === undefined) throw new Error(`no --mount=from=${base.written} at ${dockerfile.path}:${base.line}`);
      words[mount.word] = replaceMountFrom(words[mount.word] as string, image);
    } else {
      const at = base.instruction === 'FROM' ? words.findIndex((word) => !word.startsWith('--')) : words.findIndex((word) => word.startsWith('--from='));
      words[at] = base.instruction === 'FROM' ? image : `--from=${image}`;
    }
    const text = `${line.keyword} ${words.join(' ')}`;
    physical.splice(line.line - 1, line.endLine - line.line + 1, text, ...Array<string>(line.endLine - line.line).fill(''));
  }
  return physical.join(newline);
}
