// The files a run's report writes beside its output: the --manifest (what is where, for the
// next job of a workflow) and the GitHub Actions step summary.

import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { manifestJson, type PublishOutcome } from './publish.js';

/** Replaces the file whole (write, then rename), so a reader never sees half of it. */
export function writeManifest(path: string, outcome: PublishOutcome): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, manifestJson(outcome));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new ConfigError(`--manifest ${path}: cannot write it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'give a path in a directory that exists and can be written',
    });
  }
}

export function appendStepSummary(path: string, markdown: string, warn: (line: string) => void): void {
  try {
    appendFileSync(path, markdown);
  } catch (error) {
    // The run's outcome stands; a summary that cannot be written is worth a warning only.
    warn(`warning: GITHUB_STEP_SUMMARY=${path}: cannot append the summary (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
