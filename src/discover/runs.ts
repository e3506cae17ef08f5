// Reads what earlier runs recorded under the state directory: history.jsonl (one record per
// build step) and the full logs. A torn or malformed line (a crash mid-write, a bad edit) is
// skipped with a warning naming file:line; every good line around it is kept. Records of
// another version (a newer dockmk) are skipped without a word.

import { readFileSync } from 'node:fs';
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

/** Called with one line for each problem: `<file>:<line>: …` (a warning, not an error). */
export type HistoryWarn = (message: string) => void;

/** At most this many bad lines are named one by one; the rest are counted. */
const NAMED_PROBLEMS = 3;

export function readHistory(stateDir: string, warn: HistoryWarn = () => undefined): BuildRecord[] {
  const path = join(stateDir, HISTORY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warn(`${path}: cannot read the build history (${code ?? String(error)}); going on without it`);
    return [];
  }
  const records: BuildRecord[] = [];
  const bad: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parseRecord(line);
    if (typeof parsed !== 'string') records.push(parsed);
    else if (parsed !== OTHER_VERSION) bad.push(`${path}:${index + 1}: ${parsed}`);
  });
  for (const message of bad.slice(0, NAMED_PROBLEMS)) warn(`${message}; skipped, the other lines are kept`);
  if (bad.length > NAMED_PROBLEMS) {
    const more = bad.length - NAMED_PROBLEMS;
    warn(`${path}: ${more} more bad ${more === 1 ? 'line' : 'lines'} skipped (${bad.length} in all); remove them, or the file, to silence this`);
  }
  return records;
}

const OTHER_VERSION = 'a record of another version';

/** The record a line holds, or why it holds none. */
function parseRecord(line: string): BuildRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON (a line cut short by a crash, or edited by hand)';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a history record (not a JSON object)';
  const record = value as Partial<Record<keyof BuildRecord, unknown>>;
  if (record.v !== HISTORY_VERSION) return typeof record.v === 'number' ? OTHER_VERSION : 'not a history record (no version)';
  const missing: string[] = (['run', 'service', 'tag', 'status', 'startedAt'] as const).filter((key) => typeof record[key] !== 'string');
  if (typeof record.durationMs !== 'number') missing.push('durationMs');
  return missing.length === 0 ? (value as BuildRecord) : `not a history record (${missing.join(', ')} missing or of the wrong type)`;
}
