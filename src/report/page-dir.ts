// The directory a status page goes to, checked before a run starts: apart from page.ts, so that
// the check does not load the page's renderers.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** Refuses a directory that holds anything but an earlier page, before a run starts. */
export function checkPageDir(dir: string, option: string): void {
  if (!existsSync(dir)) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new ConfigError(`${option} ${dir}: not a directory it can write in (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (entries.length === 0) return;
  let ours = false;
  try {
    ours = (JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { generator?: string }).generator === 'dockmk';
  } catch {
    ours = false;
  }
  if (!ours) {
    throw new ConfigError(`${option} ${dir}: the directory holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''})`, {
      hint: 'give a new or empty directory, or one an earlier dockmk page was written to',
    });
  }
}
