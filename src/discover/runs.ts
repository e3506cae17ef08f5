// Reads what earlier runs recorded under the state directory: history.jsonl (one record per
// build step) and the full logs. A torn or malformed line (a crash mid-write) is skipped; the
// records before it stay readable.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const HISTORY_FILE = 'history.jsonl';
export const HISTORY_VERSION = 1;

export type BuildOutcome = 'built' | 'up-to-date' | 'reused' | 'failed' | 'cancelled' | 'interrupted' | 'skipped';

export interface BuildRecord {
  readonly v: typeof HISTORY_VERSION;
  readonly run: string;
  readonly command: string;
  readonly service: string;
  readonly flavor: string;
  readonly tag: string;
  readonly status: BuildOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly engine: string;
  readonly imageId?: string;
  readonly inputHash?: string;
  /** Digest per named input (see plan/inputs.ts), to tell later which inputs changed. */
  readonly inputs?: Readonly<Record<string, string>>;
  /** The ID of each base image the build read, by reference. */
  readonly bases?: Readonly<Record<string, string>>;
  readonly reason?: string;
  /** The full log, relative to the state directory. */
  readonly log?: string;
}

export function readHistory(stateDir: string): BuildRecord[] {
  const path = join(stateDir, HISTORY_FILE);
  if (!existsSync(path)) return [];
  const records: BuildRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as BuildRecord;
      if (record.v === HISTORY_VERSION && typeof record.service === 'string') records.push(record);
    } catch {
      // A line cut short by a crash: the records around it are still good.
    }
  }
  return records;
}
