import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listContext, type ContextListing } from '../../src/discover/context.js';
import type { Credentials } from '../../src/execute/credentials.js';
import { loadCredentials } from '../../src/execute/credentials.js';
import type { RunEvent } from '../../src/execute/events.js';
import { runPlan, type RunContext } from '../../src/execute/run.js';
import { planBuild } from '../../src/plan/plan.js';
import { createPlainReporter } from '../../src/report/plain.js';
import { fixturePath, loadCheckout, memoryCheckout, PLAN_OPTIONS, planOptionsFor, tempDir, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';
import { FakeRegistry } from './fake-registry.js';

const LEGACY = fixturePath('legacy-config');
const emptyContext = async (root: string): Promise<ContextListing> => ({ root, entries: [], dockerignore: null, bytes: 0 });

function credentialsWith(registry: string, user: string, password: string): Credentials {
  const dir = tempDir('dockmk-creds-');
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
  return loadCredentials(dir);
}

function context(engine: RecordingEngine, events: RunEvent[], credentials = loadCredentials('/nonexistent')): RunContext {
  let clock = 0;
  return {
    engine,
    registry: new FakeRegistry(),
    credentials,
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    now: () => (clock += 5),
    listContext: emptyContext,
  };
}

test('runs the steps in plan order; a missing-policy pull of a present image is not pulled', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'test', ['forum'], planOptionsFor(config));
  const engine = new RecordingEngine();
  engine.images.set('ubuntu:xenial', { id: 'sha256:present', labels: {} });
  const events: RunEvent[] = [];
  const result = await runPlan(plan, context(engine, events));
  assert.ok(result.ok);
  assert.equal(engine.calls.map((call) => `${call.op} ${call.ref}`), ['build xenial-common:test', 'build forum:test']);
  assert.equal(result.results.map((r) => r.status), ['present', 'done', 'done']);
  assert.equal(events.map((e) => e.kind).filter((k) => k !== 'step-output'), [
    'run-start', 'step-start', 'step-end', 'step-start', 'context', 'step-end', 'step-start', 'step-end', 'run-end',
  ]);
});

test('the streamed context carries the rendered Dockerfile and a .dockerignore that hides it', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'test', ['forum'], planOptionsFor(config));
  const engine = new RecordingEngine();
  await runPlan(plan, context(engine, []));
  const tar = engine.contexts[1] ?? '';
  assert.match(tar, /\.dockmk\.Dockerfile/);
  assert.match(tar, /FROM xenial-common:test/);
  assert.match(tar, /\.dockerignore\n\.dockmk\.Dockerfile\n/);
});

test('fail-fast: a failed build stops the run, later steps are reported skipped', async () => {
  const checkout = memoryCheckout({
    base: '# the base\nFROM debian:bookworm\nLABEL a=b\n\nRUN apt-get update \\\n    && false\n',
    app: 'FROM edxops/base:latest\n',
  });
  const plan = planBuild(checkout, 'push', ['app'], { ...PLAN_OPTIONS, registry: '127.0.0.1:5055' });
  const engine = new RecordingEngine();
  engine.outputs.set('build base:latest', ['Step 1/3 : FROM debian:bookworm', 'Step 2/3 : LABEL a=b', 'Step 3/3 : RUN apt-get update     && false', 'boom']);
  engine.failures.set('build base:latest', "The command '/bin/sh -c apt-get update     && false' returned a non-zero code: 1");
  const events: RunEvent[] = [];
  const result = await runPlan(plan, context(engine, events));
  assert.not.ok(result.ok);
  assert.equal(result.results.map((r) => [r.step.id.replace(/:key-[0-9a-f]{16}$/, ':key-…'), r.status]), [
    ['pull debian:bookworm', 'done'],
    ['build base', 'failed'],
    ['tag 127.0.0.1:5055/edxops/base:key-…', 'skipped'],
    ['push 127.0.0.1:5055/edxops/base:key-…', 'skipped'],
    ['build app', 'skipped'],
    ['tag 127.0.0.1:5055/edxops/app:key-…', 'skipped'],
    ['push 127.0.0.1:5055/edxops/app:key-…', 'skipped'],
    ['push 127.0.0.1:5055/edxops/app:latest', 'skipped'],
  ]);
  assert.not.ok(engine.calls.some((call) => call.op === 'tag' || call.op === 'push'), 'nothing tagged or pushed');
  assert.match(
    result.results[1]?.reason ?? '',
    /^build base failed at docker\/build\/base\/Dockerfile:5 \(RUN apt-get update {5}&& false\): The command .* returned a non-zero code: 1$/,
  );
  const end = events.find((e) => e.kind === 'step-end' && e.result.status === 'failed');
  assert.ok(end?.kind === 'step-end' && end.output.includes('boom'), 'the failing step reports its last lines');
});

test('push: the registry is asked to accept the credentials before anything is built', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: '127.0.0.1:5055' });
  const plan = planBuild(checkout, 'push', ['forum'], planOptionsFor(config));
  const engine = new RecordingEngine();
  engine.rejectAuth = 'registry 127.0.0.1:5055 refused the credentials: 401 Unauthorized';
  const credentials = credentialsWith('127.0.0.1:5055', 'me', 's3cr3t-pass');
  await assertRejects(runPlan(plan, context(engine, [], credentials)), /nothing was built or pushed/);
  assert.equal(engine.calls.map((call) => call.op), ['auth']);
});

test('credentials reach pull and push for their registry only, and never an event', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: '127.0.0.1:5055' });
  const plan = planBuild(checkout, 'push', ['forum'], planOptionsFor(config));
  const engine = new RecordingEngine();
  engine.outputs.set('push 127.0.0.1:5055/edxops/forum:latest', ['echo of s3cr3t-pass from a noisy registry']);
  const credentials = credentialsWith('127.0.0.1:5055', 'me', 's3cr3t-pass');
  const events: RunEvent[] = [];
  await runPlan(plan, context(engine, events, credentials));
  const push = engine.calls.find((call) => call.op === 'push');
  assert.equal(push?.auth, { serveraddress: '127.0.0.1:5055', username: 'me', password: 's3cr3t-pass' });
  assert.is(engine.calls.find((call) => call.op === 'pull')?.auth, null, 'Docker Hub gets no 127.0.0.1 credentials');
  assert.not.match(JSON.stringify(events), /s3cr3t-pass/);
});

async function assertRejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable('expected a rejection');
}

test('a context above the threshold is flagged once, and the plain report warns with the .dockerignore hint', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'test', ['forum'], planOptionsFor(config));
  const events: RunEvent[] = [];
  const big = async (root: string): Promise<ContextListing> => ({ root, entries: [], dockerignore: null, bytes: 3 * 1024 * 1024 });
  const options = { jobs: 2, keepGoing: false, force: false };
  await runPlan(plan, { ...context(new RecordingEngine(), events), listContext: big }, { ...options, contextWarnBytes: 1024 * 1024 });
  const flagged = events.filter((event) => event.kind === 'context');
  assert.equal(flagged.map((event) => event.kind === 'context' && event.large), [true]);
  let printed = '';
  const report = createPlainReporter({ write: (text: string) => (printed += text) });
  for (const event of flagged) report(event);
  assert.match(printed, /^warning: the build context is 3(\.0)? ?MiB and the checkout has no \.dockerignore: .* add a \.dockerignore .*\n$/m);
  const withIgnore: RunEvent[] = [];
  await runPlan(plan, { ...context(new RecordingEngine(), withIgnore), listContext: async (root) => ({ ...(await big(root)), dockerignore: '.git\n' }) }, { ...options, contextWarnBytes: 1024 * 1024 });
  printed = '';
  for (const event of withIgnore.filter((e) => e.kind === 'context')) report(event);
  assert.match(printed, /^warning: the build context is 3(\.0)? ?MiB: every build sends all of it .* in \.dockerignore\n$/m);

  const quiet: RunEvent[] = [];
  await runPlan(plan, { ...context(new RecordingEngine(), quiet), listContext: big }, options);
  assert.equal(quiet.filter((event) => event.kind === 'context').map((event) => event.kind === 'context' && event.large), [false]);
});

test('a context file that changes before it is sent fails that build at once, naming it (the engine is not left waiting)', async () => {
  const root = tempDir('dockmk-run-context-');
  writeFileSync(join(root, 'build.json'), '{"event":"run-start"}\n');
  const listing = await listContext(root);
  writeFileSync(join(root, 'build.json'), '{"event":"run-start"}\n{"event":"step-start"}\n'); // `dockmk test --json > build.json`
  const plan = planBuild(memoryCheckout({ app: 'FROM debian:bookworm\nADD . /checkout\n' }), 'test', ['app'], PLAN_OPTIONS);
  const engine = new RecordingEngine();
  engine.images.set('debian:bookworm', { id: 'sha256:present', labels: {} });
  // The fake engine, like the real ones, waits for the rest of a body that breaks off until the call is aborted.
  const result = await runPlan(plan, { ...context(engine, []), listContext: async () => listing });
  assert.not.ok(result.ok);
  assert.equal(result.results.map((r) => [r.step.id, r.status]), [['pull debian:bookworm', 'present'], ['build app', 'failed']]);
  assert.is(result.results[1]?.reason, 'build app failed: build.json changed while it was being sent to the engine');
});

test.run();
