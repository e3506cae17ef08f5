// Plans on a declared layout (the images-layout fixture): bare-name references rewritten to the
// tags dockmk builds, each service built from its own context, inputs read from that context.

import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { readInputs } from '../../src/cli/session.js';
import { bakeLayout } from '../../src/discover/bake.js';
import { buildCheckout } from '../../src/model/checkout.js';
import { selectServices } from '../../src/plan/select.js';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildStep } from '../../src/plan/types.js';
import { fixturePath, loadCheckout, planOptionsFor, tempDir, test } from '../helpers.js';

const LAYOUT = fixturePath('images-layout');

async function testPlan(flags: { bake?: string } = {}): Promise<Map<string, BuildStep>> {
  const { config, checkout } = await loadCheckout(LAYOUT, flags);
  const plan = planBuild(checkout, 'test', [], planOptionsFor(config));
  return new Map(plan.steps.flatMap((step) => (step.kind === 'build' ? [[step.service, step] as const] : [])));
}

const lines = (step: BuildStep | undefined, pattern: RegExp): string[] => (step?.content ?? '').split('\n').filter((line) => pattern.test(line));

test('test: parents first, as bake orders them; FROM, COPY --from and RUN --mount=from rewritten to the test tags', async () => {
  const builds = await testPlan();
  const order = [...builds.keys()];
  for (const [child, parent] of [['nodejs', 'base'], ['agent', 'nodejs'], ['agent', 'builder'], ['docker-nodejs', 'nodejs'], ['docs', 'builder']]) {
    assert.ok(order.indexOf(parent as string) < order.indexOf(child as string), `${parent} before ${child}`);
  }
  assert.equal(lines(builds.get('agent'), /^(FROM|RUN)/), ['FROM nodejs:test', 'RUN --mount=from=builder:test,source=/dist,target=/dist cp -r /dist/agent /opt/agent']);
  assert.is(builds.get('agent')?.content.split('\n').length, 5, 'a rewritten instruction keeps its lines (blank continuation lines)');
  assert.equal(lines(builds.get('docs'), /^(FROM|COPY)/), ['FROM base:test', 'COPY --from=builder:test /dist /srv/docs']);
  assert.equal(lines(builds.get('docker-nodejs'), /^FROM/), ['FROM nodejs:test'], 'the same Dockerfile on the other base');
  assert.equal(lines(builds.get('docker'), /^FROM/), ['FROM base:test']);
  assert.equal(lines(builds.get('base'), /^(FROM|COPY)/), ['FROM debian:bookworm AS builder', 'FROM scratch', 'COPY --from=builder /rootfs /', 'COPY motd /etc/motd'], 'a stage reference stays');
  assert.equal([...(builds.get('agent')?.needs ?? [])].sort(), ['build builder', 'build nodejs']);
});

test('each build carries its context and its own build args; the bake file plans the same builds', async () => {
  const builds = await testPlan();
  assert.is(builds.get('base')?.context, 'images/base');
  assert.is(builds.get('agent')?.context, '.');
  assert.equal(builds.get('nodejs')?.buildArgs, { NODE_MAJOR: '22' });
  const baked = await testPlan({ bake: `${LAYOUT}/images/docker-bake.hcl` });
  assert.equal([...baked.keys()].sort(), [...builds.keys()].sort());
  for (const [name, step] of builds) {
    const other = baked.get(name);
    assert.equal([other?.content, other?.context, other?.needs, other?.buildArgs], [step.content, step.context, step.needs, step.buildArgs], name);
  }
});

test('inputs: a service with its own context reads that directory only; a root-context one the checkout', async () => {
  const { config, checkout } = await loadCheckout(LAYOUT);
  const { inputs } = await readInputs(config, checkout);
  const plan = planBuild(checkout, 'test', [], { ...planOptionsFor(config), inputs });
  const step = (name: string) => plan.steps.find((s): s is BuildStep => s.kind === 'build' && s.service === name);
  assert.equal(Object.keys(step('base')?.inputs?.parts ?? {}).filter((part) => part.startsWith('context')), ['context images/base/']);
  const changed = new Map(inputs.files);
  changed.set('agent/package.json', 'another digest');
  const again = planBuild(checkout, 'test', [], { ...planOptionsFor(config), inputs: { ...inputs, files: changed } });
  const key = (p: typeof plan, name: string) => p.steps.find((s): s is BuildStep => s.kind === 'build' && s.service === name)?.key;
  assert.is(key(again, 'base'), key(plan, 'base'), 'a file outside its context does not change base');
  assert.is.not(key(again, 'agent'), key(plan, 'agent'), 'the root-context agent COPYs it');
  assert.is(key(again, 'builder'), key(plan, 'builder'), 'builder, on the root too, copies agent/src only');
  // base's files come from its own listing of images/base.
  const contexts = new Map(inputs.contexts);
  contexts.set('images/base', new Map([...(contexts.get('images/base') ?? []), ['images/base/motd', 'changed too']]));
  const third = planBuild(checkout, 'test', ['agent'], { ...planOptionsFor(config), inputs: { ...inputs, files: changed, contexts } });
  assert.is.not(key(third, 'base'), key(plan, 'base'));
  assert.ok(key(third, 'agent') !== key(again, 'agent'), 'agent builds on base: its key holds the parents\' keys');
  assert.equal(Object.keys(step('agent')?.inputs?.parts ?? {}).filter((part) => !['dockerfile', 'build args', 'flavor'].includes(part)), ['copied files']);
});

test("a context directory is hashed as the engine gets it: by its own .dockerignore, not the root's", async () => {
  const root = tempDir('dockmk-layout-');
  cpSync(LAYOUT, root, { recursive: true });
  writeFileSync(join(root, '.dockerignore'), 'images/base/motd\n');
  writeFileSync(join(root, 'images/base/.dockerignore'), 'notes.txt\n');
  const keyOf = async (): Promise<string | null | undefined> => {
    const { config, checkout } = await loadCheckout(root);
    const { inputs } = await readInputs(config, checkout);
    return planBuild(checkout, 'test', ['base'], { ...planOptionsFor(config), inputs }).steps.find((s): s is BuildStep => s.kind === 'build' && s.service === 'base')?.key;
  };
  const before = await keyOf();
  writeFileSync(join(root, 'images/base/notes.txt'), 'not sent\n');
  assert.is(await keyOf(), before, 'excluded by the context\'s own .dockerignore');
  writeFileSync(join(root, 'images/base/motd'), 'another welcome\n');
  assert.is.not(await keyOf(), before, 'sent, whatever the root .dockerignore says');
});

test('a docker-image:// context puts that image in place of the name; a group selects its targets', () => {
  const json = {
    group: { tools: { targets: ['tool'] } },
    target: { base: { context: 'base' }, tool: { context: 'tool', contexts: { toolchain: 'docker-image://debian:bookworm-slim', base: 'target:base' } } },
  };
  const layout = bakeLayout({ path: 'docker-bake.json', text: JSON.stringify(json), json });
  const files: Record<string, string> = { 'base/Dockerfile': 'FROM debian:bookworm\n', 'tool/Dockerfile': 'FROM toolchain AS build\nRUN true\nFROM base\nCOPY --from=build /x /x\n' };
  const raw = { root: '/c', plays: [], layout, services: layout.specs.map((spec) => ({ name: spec.name, dockerfile: { path: spec.dockerfile, text: files[spec.dockerfile] as string }, overrides: null, spec })) };
  const checkout = buildCheckout(raw, { namespace: 'edxops', registry: null, buildArgs: {}, playsDir: 'docker/plays' });
  assert.equal(checkout.services.get('tool')?.parents, ['base']);
  assert.equal(selectServices(checkout, ['tools']), ['tool']);
  const plan = planBuild(checkout, 'test', ['tools'], { namespace: 'edxops', registry: null, buildArgs: {}, noCache: false, pull: 'auto' });
  const tool = plan.steps.find((step): step is BuildStep => step.kind === 'build' && step.service === 'tool');
  assert.equal(lines(tool, /^(FROM|COPY)/), ['FROM debian:bookworm-slim AS build', 'FROM base:test', 'COPY --from=build /x /x']);
  assert.ok(plan.steps.some((step) => step.kind === 'pull' && step.id === 'pull debian:bookworm-slim'), 'the context image is pulled like any base');
});

test.run();
