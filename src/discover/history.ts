// Build durations recorded by earlier runs on this machine (history.jsonl, written by
// report/history.ts and read by discover/runs.ts), for weighing shards: per service, the
// durations of its most recent builds that really built (an up-to-date or failed step says
// nothing about how long a build takes). No history file: no durations.

import { readHistory, type BuildRecord, type HistoryWarn } from './runs.js';

/** The last `recent` durations (ms) of each service's `built` records, oldest first. */
export function buildDurations(records: readonly BuildRecord[], recent = 5): ReadonlyMap<string, readonly number[]> {
  const durations = new Map<string, number[]>();
  for (const record of records) {
    if (record.status !== 'built' || !(record.durationMs > 0) || !Number.isFinite(record.durationMs)) continue;
    const list = durations.get(record.service) ?? [];
    list.push(record.durationMs);
    if (list.length > recent) list.shift();
    durations.set(record.service, list);
  }
  return durations;
}

export function readBuildDurations(stateDir: string, recent = 5, warn?: HistoryWarn): ReadonlyMap<string, readonly number[]> {
  return buildDurations(readHistory(stateDir, warn), recent);
}
