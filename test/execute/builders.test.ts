// The run on each builder, against a recording engine: the failure line from each builder's
// output, and the refusal of BuildKit-only syntax before anything is built.

import * as assert from 'uvu/assert';
import type { ContextListing } from '../../src/discover/context.js';
import { DiscoveryError, EngineError } from '../../src/errors.js';
import { chooseBuilder, engineFactsFrom, type BuilderChoice } from '../../src/execute/builder.js';
import { loadCredentials } from '../../src/execute/credentials.js';
import type { RunEvent } from '../../src/execute/events.js';
import { runPlan, type RunContext } from '../../src/execute/run.js';
import { failureReason } from '../../src/execute/steps.js';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildStep } from '../../src/plan/types.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';
import { RecordingEngine } from './fake-engine.js';
import { FakeRegistry } from './fake-registry.js';

const DOCKERFILE = ['FROM debian:bookworm AS builder', 'RUN make', '', 'FROM debian:bookworm', 'WORKDIR /app', 'COPY --from=builder /out /app', 'RUN ./check', ''].join('\n');
const step = planBuild(memoryCheckout({ app: DOCKERFILE }), 'test', ['app'], PLAN_OPTIONS).steps.find((s): s is BuildStep => s.kind === 'build') as BuildStep;
const none = loadCredentials('/nonexistent');

test('the failure line names the Dockerfile line on each builder', () => {
  const cases: [string, string[]][] = [
    ['classic', ['Step 5/6 : COPY --from=builder /out /app', ' ---> 0123', 'Step 6/6 : RUN ./check', 'check: failed']],
    ['Buildah', ['[2/2] STEP 3/4: COPY --from=builder /out /app', '[2/2] STEP 4/4: RUN ./check', 'check: failed']],
    ['BuildKit', ['#9 ERROR: exit code: 1', '------', ' > [stage-1 4/4] RUN ./check:', '#9 check: failed', '------']],
  ];
  for (const [builder, output] of cases) {
    const reason = failureReason(step, new EngineError('exit code: 1'), output, none);
    assert.is(reason, 'build app failed at docker/build/app/Dockerfile:7 (RUN ./check): exit code: 1', builder);
  }
  assert.is(failureReason(step, new EngineError('boom'), ['no header'], none), 'build app failed: boom');
});

class ChoosingEngine extends RecordingEngine {
  constructor(private readonly choice: BuilderChoice) {
    super();
  }

  async builder(): Promise<BuilderChoice> {
    return this.choice;
  }
}

function context(engine: RecordingEngine, events: RunEvent[]): RunContext {
  return {
    engine,
    registry: new FakeRegistry(),
    credentials: none,
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    now: () => 0,
    listContext: async (root: string): Promise<ContextListing> => ({ root, entries: [], dockerignore: null, bytes: 0 }),
  };
}

const podman = engineFactsFrom({ Components: [{ Name: 'Podman Engine', Version: '4.3.1' }], Version: '4.3.1', ApiVersion: '1.41', Os: 'linux' }, {});

test('on a classic-only engine, RUN --mount is refused at its line before the first step; the run says which builder', async () => {
  const plan = planBuild(memoryCheckout({ base: 'FROM debian:bookworm\nRUN true\n', app: 'FROM edxops/base:latest AS b\nFROM debian:bookworm\nRUN --mount=from=b,target=/b true\n' }), 'test', ['base', 'app'], PLAN_OPTIONS);
  const engine = new ChoosingEngine(chooseBuilder('auto', podman, 'unix:///run/podman.sock'));
  const events: RunEvent[] = [];
  const error = await runPlan(plan, context(engine, events)).then(() => null, (caught: unknown) => caught);
  assert.ok(error instanceof DiscoveryError, String(error));
  assert.match(error.message, /^docker\/build\/app\/Dockerfile:3: RUN --mount needs BuildKit, and Podman 4\.3\.1 at unix:\/\/\/run\/podman\.sock offers only the classic builder/);
  assert.equal(engine.calls, [], 'nothing pulled or built, not even the service without BuildKit syntax');
  assert.equal(events.filter((e) => e.kind === 'builder').map((e) => e.kind === 'builder' && e.builder), ['classic']);

  const onBuildkit = new ChoosingEngine({ name: 'buildkit', reason: 'test', buildkitOffered: true, engine: 'test' });
  const ran = await runPlan(plan, context(onBuildkit, []));
  assert.ok(ran.ok);
  assert.ok(onBuildkit.calls.some((call) => call.op === 'build'));
});

test.run();
