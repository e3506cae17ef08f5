// Publishing on a fake engine and a fake registry: each image's layers go up once, under its
// key ref; every other ref is written registry-side from it; retries, what is where, latest held
// back, the registry as the cache, promote, the highest-release rule, latest moved by someone else.
// test/it/ does the same on a real engine and registry.

import * as assert from 'uvu/assert';
import type { ContextListing } from '../../src/discover/context.js';
import { loadCredentials } from '../../src/execute/credentials.js';
import type { RunEvent } from '../../src/execute/events.js';
import { runPlan, type RunContext } from '../../src/execute/run.js';
import { formatImageRef } from '../../src/model/image-ref.js';
import { planBuild } from '../../src/plan/plan.js';
import { planPromote } from '../../src/plan/publish.js';
import { computeTags } from '../../src/plan/tags.js';
import type { BuildPlan, BuildStep } from '../../src/plan/types.js';
import { eventToJson } from '../../src/report/json.js';
import { describePartialPush, markdownSummary, publishOutcome } from '../../src/report/publish.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';
import { FakeRegistry } from './fake-registry.js';

const REGISTRY = '127.0.0.1:5077';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const checkout = memoryCheckout({ base: 'FROM debian:bookworm\n', app: 'FROM edxops/base:latest\n' });
const inputs = { files: new Map([['docker/build/base/Dockerfile', 'x']]), layout: { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' } };
const OPTIONS = { ...PLAN_OPTIONS, registry: REGISTRY, inputs };
const publishTags = computeTags({ sha: SHA, branch: 'main', defaultBranch: 'main' });
const plan = planBuild(checkout, 'push', ['base', 'app'], { ...OPTIONS, publishTags });
const keyOf = (service: string): string => formatImageRef((plan.steps.find((s) => s.kind === 'build' && s.service === service) as BuildStep).keyRef!);

function context(engine: RecordingEngine, registry: FakeRegistry, events: RunEvent[], waits: number[] = []): RunContext {
  let clock = 0;
  engine.registry = registry;
  return {
    engine,
    registry,
    credentials: loadCredentials('/nonexistent'),
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    now: () => (clock += 5),
    listContext: async (root): Promise<ContextListing> => ({ root, entries: [], dockerignore: null, bytes: 0 }),
    sleep: async (ms) => void waits.push(ms),
  };
}

const ref = (service: string, tag: string): string => `${REGISTRY}/edxops/${service}:${tag}`;
const run = (p: BuildPlan, engine: RecordingEngine, registry: FakeRegistry, events: RunEvent[] = [], waits: number[] = [], retries = 3) =>
  runPlan(p, context(engine, registry, events, waits), { jobs: 1, keepGoing: false, force: false, retry: { retries, baseDelayMs: 10, maxDelayMs: 100 } });

test('each image goes up once, under its key ref; its other refs are written from it, latest last', async () => {
  const engine = new RecordingEngine();
  const registry = new FakeRegistry();
  const result = await run(plan, engine, registry);
  assert.ok(result.ok);
  assert.equal(engine.calls.filter((c) => c.op === 'push').map((c) => c.ref).sort(), [keyOf('app'), keyOf('base')].sort(), 'the engine pushes the key refs only');
  assert.equal(
    registry.calls.filter((c) => c.op === 'copy').map((c) => c.ref),
    [ref('app', 'sha-0123456'), ref('base', 'sha-0123456'), ref('app', 'main'), ref('base', 'main'), ref('app', 'latest'), ref('base', 'latest')],
  );
  for (const target of ['sha-0123456', 'main', 'latest']) assert.is(registry.manifests.get(ref('app', target)), 'sha256:digest');
  // The child builds on its parent's key ref, never on a tag someone else may move.
  const app = plan.steps.find((s) => s.kind === 'build' && s.service === 'app') as BuildStep;
  assert.equal(app.from.map(formatImageRef), [keyOf('base')]);
});

test('a write that fails for a moment is retried, and the run succeeds', async () => {
  const engine = new RecordingEngine();
  const registry = new FakeRegistry();
  registry.flaky.set(`copy ${ref('app', 'main')}`, ['dial tcp 127.0.0.1:5077: connect: connection refused']);
  const events: RunEvent[] = [];
  const waits: number[] = [];
  const result = await run(plan, engine, registry, events, waits);
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

test('the registry gone midway: retried, then failed; latest never written; the outcome says what is where', async () => {
  const engine = new RecordingEngine();
  const registry = new FakeRegistry();
  const down = 'Put "http://127.0.0.1:5077/v2/edxops/base/manifests/main": dial tcp 127.0.0.1:5077: connect: connection refused';
  registry.failures.set(`copy ${ref('base', 'main')}`, down);
  const events: RunEvent[] = [];
  const result = await run(plan, engine, registry, events, [], 2);
  assert.not.ok(result.ok);
  const copies = registry.calls.filter((call) => call.op === 'copy').map((call) => call.ref);
  assert.not.ok(copies.some((r) => r.endsWith(':latest')), `latest was never written: ${copies.join(', ')}`);
  assert.is(copies.filter((r) => r === ref('base', 'main')).length, 3, 'one try and two retries');
  const outcome = publishOutcome(result.results);
  assert.is(outcome.complete, false);
  assert.equal(outcome.images, [
    { service: 'base', digest: 'sha256:digest', refs: [ref('base', 'sha-0123456')], key: keyOf('base') },
    { service: 'app', digest: 'sha256:digest', refs: [ref('app', 'sha-0123456'), ref('app', 'main')], key: keyOf('app') },
  ]);
  assert.equal(outcome.notPushed, [ref('base', 'main'), ref('app', 'latest'), ref('base', 'latest')]);
  assert.equal(outcome.pending.map((p) => [p.ref, p.from]), [[ref('base', 'main'), keyOf('base')], [ref('app', 'latest'), keyOf('app')], [ref('base', 'latest'), keyOf('base')]]);
  const line = describePartialPush(outcome);
  assert.match(line, /^3 of 6 refs pushed; not pushed: /);
  assert.match(line, /; latest not moved: 127.0.0.1:5077\/edxops\/app:latest, 127.0.0.1:5077\/edxops\/base:latest$/);
  const summary = eventToJson(events.at(-1) as RunEvent) as { notPushed: string[]; pushed: string[]; keys: string[] };
  assert.equal(summary.pushed, [ref('app', 'sha-0123456'), ref('base', 'sha-0123456'), ref('app', 'main')]);
  assert.equal([...summary.notPushed].sort(), [...outcome.notPushed].sort());
  assert.equal(summary.keys.sort(), [keyOf('app'), keyOf('base')].sort());
  const markdown = markdownSummary(plan, result.results, false, 1234);
  assert.match(markdown, /^### dockmk push: FAILED in 1\.2s/);
  assert.match(markdown, /\| push \| `127\.0\.0\.1:5077\/edxops\/app:sha-0123456` \| pushed \|/);
  assert.match(markdown, /\*\*Push incomplete:\*\* 3 of 6 refs pushed/);
});

test('the registry as the cache: a build it holds under its key is not built, its refs are written from it', async () => {
  const engine = new RecordingEngine();
  const registry = new FakeRegistry();
  registry.store(keyOf('base'), 'sha256:base-before');
  const events: RunEvent[] = [];
  const result = await run(plan, engine, registry, events);
  assert.ok(result.ok);
  const status = (id: string) => result.results.find((r) => r.step.id === id)?.status;
  assert.is(status('build base'), 'reused');
  assert.is(status(`push ${keyOf('base')}`), 'reused');
  assert.is(status('build app'), 'done');
  assert.equal(engine.calls.filter((c) => c.op === 'build').map((c) => c.ref), ['app:latest'], 'only app is built');
  assert.equal(engine.calls.filter((c) => c.op === 'push').map((c) => c.ref), [keyOf('app')], "base's layers are not uploaded");
  assert.ok(engine.calls.some((c) => c.op === 'pull' && c.ref === keyOf('base')), "app builds on base's key ref, pulled");
  assert.is(registry.manifests.get(ref('base', 'latest')), 'sha256:base-before');
  const summary = eventToJson(events.at(-1) as RunEvent) as { reused: string[]; built: string[] };
  assert.equal([summary.reused, summary.built], [['base'], ['app']]);
});

test('--stage writes only the immutable refs; promote writes the rest from the key refs, or refuses naming every missing one', async () => {
  const engine = new RecordingEngine();
  const registry = new FakeRegistry();
  const staged = planBuild(checkout, 'push', ['base', 'app'], { ...OPTIONS, publishTags, stage: true });
  assert.ok((await run(staged, engine, registry)).ok);
  assert.equal([...registry.manifests.keys()].sort(), [keyOf('app'), keyOf('base'), ref('app', 'sha-0123456'), ref('base', 'sha-0123456')].sort());
  const where = { namespace: 'edxops', registry: REGISTRY, flavor: 'plain' as const, tags: publishTags, stage: false };
  const sources = new Map([['app', plan.steps.find((s) => s.kind === 'build' && s.service === 'app') as BuildStep], ['base', plan.steps.find((s) => s.kind === 'build' && s.service === 'base') as BuildStep]].map(([name, step]) => [name as string, (step as BuildStep).keyRef!]));
  const promote = planPromote('/checkout', ['app', 'base'], sources, where);
  assert.ok((await run(promote, new RecordingEngine(), registry)).ok);
  assert.is(registry.manifests.get(ref('base', 'latest')), 'sha256:digest');

  const empty = new FakeRegistry();
  const refused = await run(promote, new RecordingEngine(), empty).then(
    () => null,
    (error: Error) => error,
  );
  assert.ok(refused, 'promote refuses');
  assert.match(refused.message, /^2 of 2 images are not in the registry under their build key: app \(.*key-[0-9a-f]{16}\), base \(.*\); nothing was moved$/);
  assert.equal(empty.calls.filter((c) => c.op === 'copy'), [], 'nothing was written');
});

test('a hotfix below the highest release writes its own refs and leaves 1 and latest where they are', async () => {
  const registry = new FakeRegistry();
  const engine = new RecordingEngine();
  const release = planBuild(checkout, 'push', ['base'], { ...OPTIONS, publishTags: computeTags({ sha: SHA, tag: 'v1.2.0' }) });
  assert.ok((await run(release, engine, registry)).ok);
  assert.equal([...registry.manifests.keys()].filter((r) => !r.includes(':key-')).sort(), ['1', '1.2', '1.2.0', 'latest', 'sha-0123456'].map((t) => ref('base', t)).sort());
  registry.store(ref('base', '1.2.0'), 'sha256:release-1.2.0');
  for (const t of ['1', '1.2', 'latest']) registry.store(ref('base', t), 'sha256:release-1.2.0');
  const hotfix = planBuild(checkout, 'push', ['base'], { ...OPTIONS, publishTags: computeTags({ sha: SHA, tag: 'v1.1.5' }) });
  const result = await run(hotfix, engine, registry);
  assert.ok(result.ok);
  assert.equal(
    result.results.filter((r) => r.step.kind === 'push' && r.step.source !== null).map((r) => [r.step.id.replace(`push ${REGISTRY}/edxops/base:`, ''), r.status]),
    [['sha-0123456', 'done'], ['1.1.5', 'done'], ['1.1', 'done'], ['1', 'kept'], ['latest', 'kept']],
  );
  assert.is(registry.manifests.get(ref('base', 'latest')), 'sha256:release-1.2.0');
  assert.match(String(result.results.find((r) => r.step.id.endsWith(':latest'))?.reason), /1\.2\.0 is a higher release than 1\.1\.5/);
});

test('sha-<7> is written once: the commit built again on other inputs keeps it on the first build, moves main and latest', async () => {
  const registry = new FakeRegistry();
  const engine = new RecordingEngine();
  assert.ok((await run(plan, engine, registry)).ok);
  // The same push again, nothing changed: the sha ref is there on the same image, so nothing is written for it.
  const before = registry.calls.length;
  const again = await run(plan, engine, registry);
  assert.ok(again.ok);
  assert.not.ok(registry.calls.slice(before).some((c) => c.op === 'copy' && c.ref.endsWith(':sha-0123456')), 'an immutable ref already on its image is not written again');
  assert.equal(again.results.filter((r) => r.step.id.endsWith(':sha-0123456')).map((r) => r.status), ['done', 'done']);
  // The commit built again on a newer base: a new key ref and image; sha-<7> names the earlier build.
  registry.store(ref('base', 'sha-0123456'), 'sha256:first-build');
  registry.store(ref('app', 'sha-0123456'), 'sha256:first-build');
  const rebuilt = await run(plan, engine, registry);
  assert.ok(rebuilt.ok, 'keeping an immutable ref is no failure');
  const status = (tag: string) => rebuilt.results.filter((r) => r.step.id.endsWith(`:${tag}`)).map((r) => r.status);
  assert.equal(status('sha-0123456'), ['kept', 'kept']);
  assert.equal([...status('main'), ...status('latest')], ['done', 'done', 'done', 'done']);
  for (const service of ['base', 'app']) {
    assert.is(registry.manifests.get(ref(service, 'sha-0123456')), 'sha256:first-build', `${service}:sha-0123456 not moved`);
    assert.is(registry.manifests.get(ref(service, 'latest')), 'sha256:digest', `${service}:latest on the new build`);
  }
  const reason = String(rebuilt.results.find((r) => r.step.id === `push ${ref('app', 'sha-0123456')}`)?.reason);
  assert.match(reason, /kept where it is: it names an earlier build of this commit \(sha256:first-build\), and an immutable ref is never moved; this build is .*app:key-[0-9a-f]+ \(delete the tag in the registry to re-point it\)/);
  assert.ok(publishOutcome(rebuilt.results).kept.some((k) => k.ref === ref('app', 'sha-0123456')), 'the outcome lists it as kept');
});

test('a registry that refuses the tags list: the floating refs of a release are not moved, and it says why', async () => {
  const registry = new FakeRegistry();
  const release = planBuild(checkout, 'push', ['base'], { ...OPTIONS, publishTags: computeTags({ sha: SHA, tag: 'v1.2.0' }) });
  registry.failures.set(`tags ${REGISTRY}/edxops/base`, 'list the tags of 127.0.0.1:5077/edxops/base: HTTP 403 DENIED: requested access to the resource is denied');
  const result = await run(release, new RecordingEngine(), registry);
  assert.not.ok(result.ok);
  assert.ok(registry.manifests.get(ref('base', '1.2.0')), 'the full version is written');
  for (const floating of ['1.2', '1', 'latest']) assert.not.ok(registry.manifests.has(ref('base', floating)), `${floating} not moved`);
  assert.match(String(result.results.find((r) => r.status === 'failed')?.reason), /could not list the tags of 127\.0\.0\.1:5077\/edxops\/base \(.*403.*\): which release is the highest could not be checked, so .*base:1\.2 was not moved/);
});

test('latest moved by someone else while the run published: not overwritten, said so', async () => {
  const registry = new FakeRegistry();
  registry.store(ref('app', 'latest'), 'sha256:before');
  registry.afterCopy = (target) => {
    if (target === ref('app', 'main')) registry.store(ref('app', 'latest'), 'sha256:other-run');
  };
  const result = await run(plan, new RecordingEngine(), registry);
  assert.not.ok(result.ok);
  assert.is(registry.manifests.get(ref('app', 'latest')), 'sha256:other-run');
  const failure = result.results.find((r) => r.status === 'failed');
  assert.match(String(failure?.reason), /app:latest moved while this run was publishing \(it pointed at sha256:before when the run started, now sha256:other-run\); it was not overwritten/);
});

test.run();
