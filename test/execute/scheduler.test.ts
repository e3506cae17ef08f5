import * as assert from 'uvu/assert';
import type { ContextListing } from '../../src/discover/context.js';
import { loadCredentials } from '../../src/execute/credentials.js';
import type { RunEvent, StepResult } from '../../src/execute/events.js';
import { runPlan, type RunOptions } from '../../src/execute/run.js';
import { INPUT_LABEL } from '../../src/execute/steps.js';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildPlan } from '../../src/plan/types.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';
import { FakeRegistry } from './fake-registry.js';

// base → mid → leaf; base → side; lone (no parent here).
const checkout = memoryCheckout({
  base: 'FROM debian:bookworm\n',
  mid: 'FROM edxops/base\n',
  leaf: 'FROM edxops/mid\n',
  side: 'FROM edxops/base\n',
  lone: 'FROM debian:bookworm\n',
});
const inputs = { files: new Map([['docker/build/base/Dockerfile', 'x']]), layout: { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' } };
const plan = planBuild(checkout, 'test', [], { ...PLAN_OPTIONS, inputs });

function start(engine: RecordingEngine, options: Partial<RunOptions> = {}, plan_: BuildPlan = plan) {
  const events: RunEvent[] = [];
  const controller = new AbortController();
  const listing: ContextListing = { root: '/checkout', entries: [], dockerignore: null, bytes: 0 };
  const done = runPlan(
    plan_,
    {
      engine,
      registry: new FakeRegistry(),
      credentials: loadCredentials('/nonexistent'),
      emit: (event) => events.push(event),
      signal: controller.signal,
      now: () => 0,
      listContext: async () => listing,
    },
    { jobs: 2, keepGoing: false, force: false, ...options },
  );
  return { events, controller, done };
}

const statusOf = (results: readonly StepResult[]) => Object.fromEntries(results.map((r) => [r.step.id, r.status]));
const started = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step-start' ? [e.step.id] : []));
const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((done) => setImmediate(done));
};

test('builds start once their parents are built, at most --jobs at a time', async () => {
  const engine = new RecordingEngine();
  const { done } = start(engine, { jobs: 2 });
  const result = await done;
  assert.ok(result.ok);
  assert.is(engine.maxRunning, 2);
  const order = engine.calls.filter((c) => c.op === 'build').map((c) => c.ref.replace(':test', ''));
  for (const [parent, child] of [['base', 'mid'], ['mid', 'leaf'], ['base', 'side']]) {
    assert.ok(order.indexOf(parent as string) < order.indexOf(child as string), `${parent} before ${child}`);
  }
  const serial = new RecordingEngine();
  await start(serial, { jobs: 1 }).done;
  assert.is(serial.maxRunning, 1);
});

test('fail-fast: a failure cancels the running builds, restores their tags, skips the rest', async () => {
  const engine = new RecordingEngine();
  engine.images.set('lone:test', { id: 'sha256:old-lone', labels: {} });
  engine.hold('lone:test');
  engine.failures.set('build base:test', 'boom');
  const { done, events } = start(engine, { jobs: 2 });
  const result = await done;
  assert.not.ok(result.ok);
  assert.not.ok(result.interrupted);
  const statuses = statusOf(result.results);
  assert.is(statuses['build base'], 'failed');
  assert.is(statuses['build lone'], 'cancelled');
  assert.match(result.results.find((r) => r.step.id === 'build lone')?.reason ?? '', /cancelled: build base failed/);
  for (const id of ['build mid', 'build leaf', 'build side']) assert.is(statuses[id], 'skipped', id);
  assert.equal(started(events).filter((id) => id.startsWith('build')).sort(), ['build base', 'build lone']);
  assert.is(engine.images.get('lone:test')?.id, 'sha256:old-lone', 'the cancelled build left its tag where it was');
});

test('--keep-going builds everything that does not descend from the failure', async () => {
  const engine = new RecordingEngine();
  engine.failures.set('build mid:test', 'boom');
  const result = await start(engine, { keepGoing: true }).done;
  assert.not.ok(result.ok);
  const statuses = statusOf(result.results);
  assert.equal([statuses['build base'], statuses['build side'], statuses['build lone']], ['done', 'done', 'done']);
  assert.is(statuses['build mid'], 'failed');
  assert.is(statuses['build leaf'], 'skipped');
  assert.match(result.results.find((r) => r.step.id === 'build leaf')?.reason ?? '', /skipped: build mid failed/);
});

test('an interrupt cancels running builds, starts nothing more, and moves no tag', async () => {
  const engine = new RecordingEngine();
  engine.hold('base:test');
  const { done, controller, events } = start(engine, { jobs: 1 });
  await until(() => engine.held.has('base:test'));
  controller.abort();
  const result = await done;
  assert.ok(result.interrupted);
  assert.not.ok(result.ok);
  const statuses = statusOf(result.results);
  assert.is(statuses['build base'], 'cancelled');
  assert.is(result.results.find((r) => r.step.id === 'build base')?.reason, 'interrupted');
  assert.ok(Object.entries(statuses).every(([id, status]) => id === 'build base' || id.startsWith('pull') || status === 'skipped'));
  assert.is(engine.images.get('base:test'), undefined, 'no tag appeared');
  const end = events.at(-1);
  assert.ok(end?.kind === 'run-end' && end.interrupted);
});

test('a build whose tag carries its input hash is up to date; --force and --no-cache build anyway', async () => {
  const engine = new RecordingEngine();
  await start(engine).done;
  const labels = engine.calls.filter((c) => c.op === 'build').map((c) => c.labels?.[INPUT_LABEL]);
  assert.ok(labels.every((label) => typeof label === 'string' && label.startsWith('sha256:')), 'every build is labelled');
  engine.calls.length = 0;
  const again = await start(engine).done;
  assert.equal(
    again.results.filter((r) => r.step.kind === 'build').map((r) => r.status),
    ['up-to-date', 'up-to-date', 'up-to-date', 'up-to-date', 'up-to-date'],
  );
  assert.equal(engine.calls.filter((c) => c.op === 'build'), []);
  const forced = await start(engine, { force: true }).done;
  assert.ok(forced.results.filter((r) => r.step.kind === 'build').every((r) => r.status === 'done'));
  const noCache = planBuild(checkout, 'test', ['lone'], { ...PLAN_OPTIONS, inputs, noCache: true });
  assert.is((await start(engine, {}, noCache).done).results.at(-1)?.status, 'done');
});

test('a rebuilt parent makes its children out of date (parent image IDs are inputs)', async () => {
  const engine = new RecordingEngine();
  await start(engine).done;
  engine.calls.length = 0;
  // Rebuild mid alone: a new image ID for leaf's parent.
  const forcedMid = planBuild(checkout, 'test', ['mid'], { ...PLAN_OPTIONS, inputs });
  const onlyMid: BuildPlan = { ...forcedMid, steps: forcedMid.steps.filter((s) => s.id === 'build mid').map((s) => ({ ...s, needs: [] })) };
  await start(engine, { force: true }, onlyMid).done;
  engine.calls.length = 0;
  const result = await start(engine).done;
  const statuses = statusOf(result.results);
  assert.is(statuses['build leaf'], 'done', 'leaf is rebuilt on the new mid');
  assert.is(statuses['build side'], 'up-to-date');
  assert.is(statuses['build base'], 'up-to-date');
});

test('the labels ride in the Dockerfile sent, as one LABEL instruction, not as a builder step each', async () => {
  const engine = new RecordingEngine();
  await start(engine).done;
  const builds = engine.calls.filter((c) => c.op === 'build');
  assert.ok(builds.length > 0 && builds.every((c) => c.labelsInDockerfile === true), 'the engine is told the Dockerfile sets them');
  for (const [i, call] of builds.entries()) {
    const label = /^LABEL .*$/m.exec(engine.contexts[i] ?? '')?.[0] ?? '';
    assert.ok(label.includes(`"${INPUT_LABEL}"="${call.labels?.[INPUT_LABEL]}"`), `${call.ref}: ${label}`);
  }
});

test.run();
