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
  /** The build key of the service's current inputs (src/plan/keys.ts). */
  readonly key: string | null;
  /** With --registry-check: whether the registry holds the current key's ref (`key-<16 hex>`). */
  readonly registry?: { readonly ref: string; readonly present: boolean };
}

const STATE_WORDS: Record<ServiceState, string> = { built: 'built', 'not-built': 'not built', modified: 'modified' };

export function formatStatusText(entries: readonly StatusEntry[]): string {
  const checked = entries.some((entry) => entry.registry !== undefined);
  const rows = entries.map((entry) => [
    entry.service,
    STATE_WORDS[entry.state],
    entry.imageId ? shortId(entry.imageId) : '-',
    ...(checked ? [entry.registry === undefined ? '-' : entry.registry.present ? 'has this key' : 'lacks this key'] : []),
    entry.last ? `${entry.last.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ${entry.last.status} in ${formatDuration(entry.last.durationMs)}` : '-',
    entry.changed.join(', '),
  ]);
  return table([['SERVICE', 'STATE', 'IMAGE', ...(checked ? ['REGISTRY'] : []), 'LAST BUILD', 'CHANGED'], ...rows]);
}
