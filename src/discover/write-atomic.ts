// Writing a state file whole or not at all: to a temporary file beside it, then renamed over it,
// so that a crash, a full disk or a second run at the same moment never leaves half a file.

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `text` to `file` atomically, making its directory; throws what went wrong, leaving no temporary file. */
export function writeAtomic(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // It was never made (its directory could not be).
    }
    throw error;
  }
}
