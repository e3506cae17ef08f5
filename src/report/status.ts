// docker:status as a table, and the entry shape its --json prints.

import type { ServiceState } from '../plan/changes.js';
import { formatDuration, shortId, table } from './describe.js';

export interface StatusEntry {
  readonly service: string;
  readonly tag: string;
  readonly state: ServiceState;
  /** For `modified`: the inputs that differ from the build that made the image. */
  readonly changed: readonly string[];
  readonly imageId: string | null;
  readonly last: { at: string; durationMs: number; status: string; imageId: string | null; command: string } | null;
}

const STATE_WORDS: Record<ServiceState, string> = { built: 'built', 'not-built': 'not built', modified: 'modified' };

export function formatStatusText(entries: readonly StatusEntry[]): string {
  const rows = entries.map((entry) => [
    entry.service,
    STATE_WORDS[entry.state],
    entry.imageId ? shortId(entry.imageId) : '-',
    entry.last ? `${entry.last.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ${entry.last.status} in ${formatDuration(entry.last.durationMs)}` : '-',
    entry.changed.join(', '),
  ]);
  return table([['SERVICE', 'STATE', 'IMAGE', 'LAST BUILD', 'CHANGED'], ...rows]);
}
