// A push against a registry that fails midway: retries, what is where, latest held back.
// The registry is a fake engine here; test/it/publish.test.ts does the same on a real one.

import * as assert from 'uvu/assert';
import type { ContextListing } from '../../src/discover/context.js';
import { loadCredentials } from '../../src/execute/credentials.js';
import type { RunEvent } from '../../src/execute/events.js';
import { runPlan, type RunContext } from '../../src/execute/run.js';
import { planBuild } from '../../src/plan/plan.js';
import { computeTags } from '../../src/plan/tags.js';
import { eventToJson } from '../../src/report/json.js';
import { describePartialPush, markdownSummary, publishOutcome } from '../../src/report/publish.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';

const REGISTRY = '127.0.0.1:5077';
const checkout = memoryCheckout({ base: 'FROM debian:bookworm\n', app: 'FROM edxops/base:latest\n' });
const publishTags = computeTags({ sha: '0123456789abcdef0123456789abcdef01234567', branch: 'main', defaultBranch: 'main' });
const plan = planBuild(checkout, 'push', ['base', 'app'], { ...PLAN_OPTIONS, registry: REGISTRY, publishTags });

function context(engine: RecordingEngine, events: RunEvent[], waits: number[]): RunContext {
  let clock = 0;
  return {
    engine,
    credentials: loadCredentials('/nonexistent'),
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    now: () => (clock += 5),
    listContext: async (root): Promise<ContextListing> => ({ root, entries: [], dockerignore: null, bytes: 0 }),
    sleep: async (ms) => void waits.push(ms),
  };
}

const ref = (service: string, tag: string): string => `${REGISTRY}/edxops/${service}:${tag}`;

test('a push that fails for a moment is retried, and the run succeeds', async () => {
  const engine = new RecordingEngine();
  engine.flaky.set(`push ${ref('app', 'main')}`, ['dial tcp 127.0.0.1:5077: connect: connection refused']);
  const events: RunEvent[] = [];
  const waits: number[] = [];
  const result = await runPlan(plan, context(engine, events, waits), { jobs: 1, keepGoing: false, force: false });
  assert.ok(result.ok);
  assert.is(waits.length, 1);
  const retry = events.find((event) => event.kind === 'step-retry');
  assert.ok(retry?.kind === 'step-retry');
  assert.equal(eventToJson(retry), {
    event: 'step-retry',
    step: `push ${ref('app', 'main')}`,
    attempt: 2,
    of: 4,
    delayMs: waits[0],
    reason: 'dial tcp 127.0.0.1:5077: connect: connection refused',
  });
  assert.is(publishOutcome(result.results).complete, true);
});

test('the registry gone midway: retried, then failed; latest never pushed; the outcome says what is where', async () => {
  const engine = new RecordingEngine();
  const down = 'Get "http://127.0.0.1:5077/v2/": dial tcp 127.0.0.1:5077: connect: connection refused';
  // app's versioned refs get through; then the registry is gone.
  for (const [service, tag] of [['base', 'main'], ['base', 'sha-0123456'], ['app', 'latest'], ['base', 'latest']] as const) {
    engine.failures.set(`push ${ref(service, tag)}`, down);
  }
  const events: RunEvent[] = [];
  const waits: number[] = [];
  const result = await runPlan(plan, context(engine, events, waits), { jobs: 1, keepGoing: false, force: false, retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 100 } });
  assert.not.ok(result.ok);
  const pushes = engine.calls.filter((call) => call.op === 'push').map((call) => call.ref);
  assert.not.ok(pushes.some((r) => r.endsWith(':latest')), `latest was never pushed: ${pushes.join(', ')}`);
  assert.is(pushes.filter((r) => r === ref('base', 'main')).length, 3, 'one try and two retries');
  const outcome = publishOutcome(result.results);
  assert.is(outcome.complete, false);
  assert.equal(outcome.images, [{ service: 'app', digest: 'sha256:digest', refs: [ref('app', 'main'), ref('app', 'sha-0123456')] }]);
  assert.equal(outcome.notPushed, [ref('base', 'main'), ref('base', 'sha-0123456'), ref('app', 'latest'), ref('base', 'latest')]);
  const line = describePartialPush(outcome);
  assert.match(line, /^2 of 6 refs pushed; not pushed: /);
  assert.match(line, /; latest not moved: 127.0.0.1:5077\/edxops\/app:latest, 127.0.0.1:5077\/edxops\/base:latest$/);
  const summary = eventToJson(events.at(-1) as RunEvent) as { notPushed: string[]; pushed: string[] };
  assert.equal(summary.pushed, [ref('app', 'main'), ref('app', 'sha-0123456')]);
  assert.equal([...summary.notPushed].sort(), [...outcome.notPushed].sort());
  const markdown = markdownSummary(plan, result.results, false, 1234);
  assert.match(markdown, /^### dockmk push: FAILED in 1\.2s/);
  assert.match(markdown, /\| push \| `127\.0\.0\.1:5077\/edxops\/app:sha-0123456` \| pushed \|/);
  assert.match(markdown, /\*\*Push incomplete:\*\* 2 of 6 refs pushed/);
});

test.run();
