// What a build is asked for reaches the engine: --build-arg, --no-cache, --cache-from, the
// labels and the rendered Dockerfile's name, step by step, as the recording engine saw them.
// (test/it/build-options.test.ts proves the same on the real engine.)

import * as assert from 'uvu/assert';
import { loadCredentials } from '../../src/execute/credentials.js';
import { runPlan } from '../../src/execute/run.js';
import { RENDERED_DOCKERFILE } from '../../src/execute/context.js';
import { planBuild } from '../../src/plan/plan.js';
import { fixturePath, loadCheckout, planOptionsFor, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';
import { FakeRegistry } from './fake-registry.js';

const LEGACY = fixturePath('legacy-config');

async function run(flags: Parameters<typeof loadCheckout>[1]): Promise<RecordingEngine> {
  const { config, checkout } = await loadCheckout(LEGACY, flags);
  const plan = planBuild(checkout, 'test', ['forum'], planOptionsFor(config));
  const engine = new RecordingEngine();
  engine.images.set('ubuntu:xenial', { id: 'sha256:present', labels: {} });
  const result = await runPlan(plan, {
    engine,
    registry: new FakeRegistry(),
    credentials: loadCredentials('/nonexistent'),
    emit: () => undefined,
    signal: new AbortController().signal,
    now: () => 0,
    listContext: async (root) => ({ root, entries: [], dockerignore: null, bytes: 0 }),
  });
  assert.ok(result.ok, JSON.stringify(result.results.map((r) => [r.step.id, r.status, r.reason])));
  return engine;
}

test('--build-arg and --no-cache reach every build; without them, no args and the cache', async () => {
  const plain = (await run({})).builds();
  assert.equal(plain.map((build) => [build.tag, build.noCache, build.buildArgs]), [
    ['xenial-common:test', false, {}],
    ['forum:test', false, {}],
  ]);
  const flagged = (await run({ buildArgs: ['OPENEDX_RELEASE=open-release/x', 'EXTRA=1'], noCache: true })).builds();
  assert.equal(flagged.map((build) => [build.tag, build.noCache, build.buildArgs]), [
    ['xenial-common:test', true, { OPENEDX_RELEASE: 'open-release/x', EXTRA: '1' }],
    ['forum:test', true, { OPENEDX_RELEASE: 'open-release/x', EXTRA: '1' }],
  ]);
});

test('--cache-from, --label and the rendered Dockerfile reach the build', async () => {
  const [base, forum] = (await run({ cacheFrom: ['ghcr.io/o/{service}:cache'], labels: ['com.example.team=edx'] })).builds();
  assert.equal(forum?.cacheFrom, ['ghcr.io/o/forum:cache']);
  assert.equal(base?.cacheFrom, ['ghcr.io/o/xenial-common:cache']);
  assert.is(forum?.dockerfile, RENDERED_DOCKERFILE);
  assert.is(forum?.labels['com.example.team'], 'edx');
});

test.run();
