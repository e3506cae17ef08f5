// The terminal view names the step a build is at, from whichever builder's header it printed last.

import * as assert from 'uvu/assert';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildStep } from '../../src/plan/types.js';
import { createTtyReporter } from '../../src/report/tty.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';

const plan = planBuild(memoryCheckout({ app: 'FROM debian:bookworm\nRUN true\n' }), 'test', ['app'], PLAN_OPTIONS);
const build = plan.steps.find((step): step is BuildStep => step.kind === 'build') as BuildStep;

function lastDrawn(lines: string[]): string {
  let text = '';
  const report = createTtyReporter({ write: (chunk: string) => (text += chunk), columns: 200 }, { now: () => 0, every: () => () => undefined });
  report({ kind: 'run-start', plan, engine: 'fake://', at: 0, jobs: 1 });
  report({ kind: 'builder', builder: 'buildkit', reason: 'test' });
  report({ kind: 'step-start', step: build, index: 1, total: 2 });
  for (const line of lines) report({ kind: 'step-output', step: build, line });
  // eslint-disable-next-line no-control-regex
  const screen = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  return screen.split('\n').filter((line) => line.includes('  app')).at(-1) ?? '';
}

test('the step of each builder: classic, BuildKit (with its stage), Buildah', () => {
  assert.match(lastDrawn(['Step 2/3 : RUN true', 'hello']), /app step 2\/3 .* hello$/);
  assert.match(lastDrawn(['#7 [builder 2/4] RUN make', '#7 compiling']), /app step builder 2\/4 .* #7 compiling$/);
  assert.match(lastDrawn(['[2/2] STEP 3/5: RUN true']), /app step stage 2 3\/5 /);
});

test('the builder is said above the progress', () => {
  let text = '';
  const report = createTtyReporter({ write: (chunk: string) => (text += chunk) }, { now: () => 0, every: () => () => undefined });
  report({ kind: 'run-start', plan, engine: 'fake://', at: 0, jobs: 1 });
  report({ kind: 'builder', builder: 'classic', reason: 'Podman 4.3.1 builds with Buildah' });
  assert.match(text, /builder: classic \(Podman 4\.3\.1 builds with Buildah\)\n/);
});

test.run();
