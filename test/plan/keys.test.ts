import * as assert from 'uvu/assert';
import { formatImageRef } from '../../src/model/image-ref.js';
import { planBuild, type PlanOptions } from '../../src/plan/plan.js';
import type { BuildPlan, BuildStep } from '../../src/plan/types.js';
import { memoryCheckout, NO_FILES, PLAN_OPTIONS, test } from '../helpers.js';

// base ← mid ← app; other is unrelated.
const checkout = memoryCheckout(
  {
    base: 'FROM debian:bookworm\nRUN ansible-playbook base.yml -c local\n',
    mid: 'ARG TAG=latest\nFROM edxops/base:${TAG}\nRUN ansible-playbook mid.yml -c local\n',
    app: 'FROM edxops/mid\nCOPY --from=edxops/base /etc/os-release /\nRUN ansible-playbook app.yml -c local\n',
    other: 'FROM debian:bookworm\n',
  },
  { base: 'A: 1\n', app: 'B: 1\n' },
);
const files = new Map([
  ['docker/build/base/Dockerfile', 'b'],
  ['docker/build/mid/Dockerfile', 'm'],
  ['docker/build/app/Dockerfile', 'a'],
  ['docker/build/app/extra.conf', 'e'],
  ['playbooks/roles/common/tasks/main.yml', 'r'],
  ['ansible.cfg', 'c'],
]);

function keys(command: 'build' | 'test' | 'pkg' | 'push', options: Partial<PlanOptions> = {}, changed: Record<string, string> = {}, services = ['app', 'other']): Record<string, string> {
  const plan: BuildPlan = planBuild(checkout, command, services, {
    ...PLAN_OPTIONS,
    inputs: { ...NO_FILES, files: new Map([...files, ...Object.entries(changed)]) },
    ...options,
  });
  return Object.fromEntries(plan.steps.filter((s): s is BuildStep => s.kind === 'build').map((s) => [s.service, s.key as string]));
}

test('one key per build, whatever the command that builds it on this checkout, and wherever it is published', () => {
  const test_ = keys('test');
  assert.equal(Object.keys(test_).sort(), ['app', 'base', 'mid', 'other']);
  for (const key of Object.values(test_)) assert.match(key, /^sha256:[0-9a-f]{64}$/);
  assert.equal(keys('pkg'), test_);
  assert.equal(keys('push'), test_);
  assert.equal(keys('push', { registry: 'ghcr.io', namespace: 'my-org/images' }), test_);
  // build: the parents are the published images, named by reference: another build.
  assert.is.not(keys('build').app, test_.app);
});

test("a parent's change changes its children's keys, not its own parents' nor an unrelated service's", () => {
  const before = keys('test');
  const after = keys('test', {}, { 'docker/build/mid/Dockerfile': 'm2' });
  assert.is(after.base, before.base);
  assert.is.not(after.mid, before.mid);
  assert.is.not(after.app, before.app);
  assert.is(after.other, before.other);
  const own = keys('test', {}, { 'docker/build/app/extra.conf': 'e2' });
  assert.equal([own.base, own.mid, own.other], [before.base, before.mid, before.other]);
  assert.is.not(own.app, before.app);
});

test('inputs join the key: build args, labels, flavor, layered overrides, a resolved base digest; the OCI revision does not', () => {
  const before = keys('test');
  assert.is.not(keys('test', { buildArgs: { TAG: 'release' } }).mid, before.mid);
  assert.is.not(keys('test', { labels: { 'com.example.team': 'x' } }).app, before.app);
  assert.is.not(keys('test', { flavor: 'devstack' }).app, before.app);
  assert.equal(keys('test', { revision: { sha: '0123456789abcdef0123456789abcdef01234567', branch: 'main', committed: '2024-01-01T00:00:00Z' } }), before);
  const layered = keys('test', { overrides: [{ source: '--override', values: { B: 2 } }] }, {}, ['app']);
  assert.is(layered.base, before.base, 'overrides are layered over the services asked for only');
  assert.is.not(layered.app, before.app);
  const digest = `sha256:${'1'.repeat(64)}`;
  const pinned = keys('test', { baseDigests: new Map([['debian:bookworm', digest]]) });
  for (const service of ['base', 'mid', 'app', 'other']) assert.is.not(pinned[service], before[service], service);
});

test('a resolved base digest pins the build to it; a push builds children on the parent key ref', () => {
  const digest = `sha256:${'2'.repeat(64)}`;
  const plan = planBuild(checkout, 'push', ['app'], { ...PLAN_OPTIONS, inputs: { ...NO_FILES, files }, registry: '127.0.0.1:5055', baseDigests: new Map([['debian:bookworm', digest]]) });
  const steps = new Map(plan.steps.filter((s): s is BuildStep => s.kind === 'build').map((s) => [s.service, s]));
  assert.match(steps.get('base')?.content ?? '', new RegExp(`^FROM debian:bookworm@${digest}$`, 'm'));
  assert.ok(plan.steps.some((s) => s.kind === 'pull' && formatImageRef(s.image) === `debian:bookworm@${digest}`));
  const app = steps.get('app') as BuildStep;
  const keyRefs = (service: string) => formatImageRef(steps.get(service)?.keyRef ?? { domain: null, path: '?', tag: null, digest: null });
  assert.equal(app.bases.map(formatImageRef), [keyRefs('mid'), keyRefs('base')], 'FROM and COPY --from both read key refs');
  assert.match(app.content, new RegExp(`^COPY --from=${keyRefs('base').replace(/[.]/g, '\\.')} /etc/os-release /$`, 'm'));
  assert.match(keyRefs('app'), /^127\.0\.0\.1:5055\/edxops\/app:key-[0-9a-f]{16}$/);
  assert.is(keyRefs('app').slice(-16), (app.key as string).slice(7, 23));
});

test.run();
