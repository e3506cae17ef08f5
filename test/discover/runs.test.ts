// Reading history.jsonl: bad lines are warnings with file:line, every good line is kept.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { readHistory } from '../../src/discover/runs.js';
import { readBuildDurations } from '../../src/discover/history.js';
import { tempDir, test } from '../helpers.js';

const record = (service: string, durationMs = 60_000): string =>
  JSON.stringify({ v: 1, run: 'r1', command: 'test', service, flavor: 'plain', tag: `${service}:test`, status: 'built', startedAt: '2026-01-01T00:00:00.000Z', durationMs, engine: 'unix:///x' });

function stateWith(lines: readonly string[]): string {
  const stateDir = join(tempDir('dockmk-runs-'), '.dockmk');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'history.jsonl'), lines.join('\n'));
  return stateDir;
}

test('a corrupt line is a warning with file:line; the good lines before and after it are kept', () => {
  const stateDir = stateWith([record('a'), 'garbage{', record('b'), '', '["an array"]', '{"v":1,"service":"c"}', record('d'), '{"v":1,"run":"r2","serv']);
  const warnings: string[] = [];
  const records = readHistory(stateDir, (message) => warnings.push(message));
  assert.equal(records.map((r) => r.service), ['a', 'b', 'd']);
  const file = join(stateDir, 'history.jsonl');
  assert.equal(warnings, [
    `${file}:2: not JSON (a line cut short by a crash, or edited by hand); skipped, the other lines are kept`,
    `${file}:5: not a history record (not a JSON object); skipped, the other lines are kept`,
    `${file}:6: not a history record (run, tag, status, startedAt, durationMs missing or of the wrong type); skipped, the other lines are kept`,
    `${file}: 1 more bad line skipped (4 in all); remove them, or the file, to silence this`,
  ]);
});

test('records of another version are skipped without a word; no file is no history', () => {
  const warnings: string[] = [];
  const stateDir = stateWith([JSON.stringify({ v: 2, service: 'x' }), record('a')]);
  assert.equal(readHistory(stateDir, (message) => warnings.push(message)).map((r) => r.service), ['a']);
  assert.equal(warnings, []);
  assert.equal(readHistory(join(stateDir, 'absent'), (message) => warnings.push(message)), []);
  assert.equal(warnings, []);
});

test('a history that cannot be read (a directory) is one warning, and no history', () => {
  const stateDir = join(tempDir('dockmk-runs-'), '.dockmk');
  mkdirSync(join(stateDir, 'history.jsonl'), { recursive: true });
  const warnings: string[] = [];
  assert.equal(readHistory(stateDir, (message) => warnings.push(message)), []);
  assert.equal(warnings, [`${join(stateDir, 'history.jsonl')}: cannot read the build history (EISDIR); going on without it`]);
});

test('shard weights come from the good lines of a damaged history', () => {
  const stateDir = stateWith([record('a', 120_000), '\u0000\u0000\u0000', record('a', 240_000)]);
  const warnings: string[] = [];
  assert.equal([...readBuildDurations(stateDir, 5, (message) => warnings.push(message))], [['a', [120_000, 240_000]]]);
  assert.is(warnings.length, 1);
  assert.match(warnings[0] ?? '', /history\.jsonl:2: not JSON/);
});

test.run();
