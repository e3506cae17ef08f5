import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { readHistory } from '../../src/discover/runs.js';
import type { RunEvent } from '../../src/execute/events.js';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildStep } from '../../src/plan/types.js';
import { createHistoryRecorder } from '../../src/report/history.js';
import { memoryCheckout, PLAN_OPTIONS, tempDir, test } from '../helpers.js';

const plan = planBuild(memoryCheckout({ a: 'FROM debian\n', b: 'FROM debian\n' }), 'test', [], PLAN_OPTIONS);
const [, a, b] = plan.steps as [unknown, BuildStep, BuildStep];

async function record(events: RunEvent[], stateDir = join(tempDir('dockmk-history-'), '.dockmk')): Promise<string> {
  const recorder = createHistoryRecorder({ stateDir, runId: 'run-1', flavor: 'plain', clock: () => new Date('2026-01-02T03:04:05Z') });
  for (const event of events) recorder.emit(event);
  await recorder.close();
  return stateDir;
}

test('one record per build step with its full log; nothing logged for up-to-date builds', async () => {
  const stateDir = await record([
    { kind: 'run-start', plan, engine: 'unix:///x', at: 0, jobs: 2 },
    { kind: 'step-start', step: a, index: 1, total: 3 },
    { kind: 'step-output', step: a, line: 'Step 1/1 : FROM debian' },
    { kind: 'step-end', result: { step: a, status: 'done', durationMs: 1234, imageId: 'sha256:1' }, output: [] },
    { kind: 'step-start', step: b, index: 2, total: 3 },
    { kind: 'step-end', result: { step: b, status: 'up-to-date', durationMs: 3 }, output: [] },
  ]);
  const records = readHistory(stateDir);
  assert.equal(records.map((r) => [r.service, r.status, r.durationMs, r.command, r.startedAt]), [
    ['a', 'built', 1234, 'test', '2026-01-02T03:04:05.000Z'],
    ['b', 'up-to-date', 3, 'test', '2026-01-02T03:04:05.000Z'],
  ]);
  assert.is(readFileSync(join(stateDir, records[0]?.log ?? 'missing'), 'utf8'), 'Step 1/1 : FROM debian\n');
  assert.is(records[1]?.log, undefined);
  assert.not.ok(existsSync(join(stateDir, 'logs/run-1/b.log')));
  assert.is(readFileSync(join(stateDir, '.gitignore'), 'utf8').trim().split('\n').at(-1), '*', 'the state directory ignores itself');
});

test('a build records its inputs and bases for status; an up-to-date step only its hash', async () => {
  const inputs = { digest: 'd', parts: { dockerfile: 'x', 'role common': 'y' } };
  const built = { ...a, inputs };
  const same = { ...b, inputs };
  const stateDir = await record([
    { kind: 'run-start', plan, engine: 'unix:///x', at: 0, jobs: 2 },
    { kind: 'step-end', result: { step: built, status: 'done', durationMs: 9, inputHash: 'sha256:h', baseIds: { debian: 'sha256:d' } }, output: [] },
    { kind: 'step-end', result: { step: same, status: 'up-to-date', durationMs: 1, inputHash: 'sha256:h', baseIds: { debian: 'sha256:d' } }, output: [] },
  ]);
  const [first, second] = readHistory(stateDir);
  assert.equal(first?.inputs, inputs.parts);
  assert.equal(first?.bases, { debian: 'sha256:d' });
  assert.is(second?.inputHash, 'sha256:h');
  assert.is(second?.inputs, undefined);
  assert.is(second?.bases, undefined);
});

test('a torn last line (a crash mid-write) leaves every earlier record readable', async () => {
  const stateDir = await record([
    { kind: 'run-start', plan, engine: 'unix:///x', at: 0, jobs: 2 },
    { kind: 'step-start', step: a, index: 1, total: 3 },
    { kind: 'step-end', result: { step: a, status: 'cancelled', durationMs: 5, reason: 'interrupted' }, output: [] },
  ]);
  appendFileSync(join(stateDir, 'history.jsonl'), '{"v":1,"run":"run-2","serv');
  assert.equal(readHistory(stateDir).map((r) => [r.service, r.status]), [['a', 'interrupted']]);
  await record(
    [
      { kind: 'run-start', plan, engine: 'unix:///x', at: 0, jobs: 2 },
      { kind: 'step-end', result: { step: b, status: 'done', durationMs: 7 }, output: [] },
    ],
    stateDir,
  );
  assert.equal(readHistory(stateDir).map((r) => [r.service, r.status]), [['a', 'interrupted'], ['b', 'built']], 'the next run starts on a fresh line');
});

test('a history that cannot be written is one warning naming the file; the recorder goes on', async () => {
  // A state directory below a regular file: every write fails (ENOTDIR), as a read-only or
  // full one does (test/it/state-faults.test.ts does those on a real tmpfs).
  const parent = tempDir('dockmk-history-');
  writeFileSync(join(parent, 'not-a-dir'), '');
  const stateDir = join(parent, 'not-a-dir', '.dockmk');
  const warnings: string[] = [];
  const recorder = createHistoryRecorder({ stateDir, runId: 'run-1', flavor: 'plain', clock: () => new Date(0), warn: (message) => warnings.push(message) });
  for (const event of [
    { kind: 'run-start', plan, engine: 'unix:///x', at: 0, jobs: 2 },
    { kind: 'step-start', step: a, index: 1, total: 3 },
    { kind: 'step-output', step: a, line: 'Step 1/1 : FROM debian' },
    { kind: 'step-end', result: { step: a, status: 'done', durationMs: 1 }, output: [] },
    { kind: 'step-start', step: b, index: 2, total: 3 },
    { kind: 'step-end', result: { step: b, status: 'failed', durationMs: 1, reason: 'x' }, output: [] },
  ] satisfies RunEvent[]) {
    recorder.emit(event);
  }
  await recorder.close();
  assert.equal(warnings, [
    `${join(stateDir, 'logs', 'run-1')}: cannot write the build logs (ENOTDIR: not a directory): \`dockmk logs\` will not have this run; the run goes on and its result stands — free space there, or set DOCKMK_STATE_DIR to a writable directory`,
    `${join(stateDir, 'history.jsonl')}: cannot write the build history (ENOTDIR: not a directory): the record of a (and of later builds, while this lasts) is lost; the run goes on and its result stands — free space there, or set DOCKMK_STATE_DIR to a writable directory`,
  ]);
});

test.run();
