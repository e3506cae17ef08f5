import * as assert from 'uvu/assert';
import { CycleError, DiscoveryError, UsageError } from '../../src/errors.js';
import type { Checkout } from '../../src/model/checkout.js';
import { formatImageRef } from '../../src/model/image-ref.js';
import { planBuild, planPull } from '../../src/plan/plan.js';
import type { BuildPlan, BuildStep } from '../../src/plan/types.js';
import { fixturePath, loadCheckout, memoryCheckout, PLAN_OPTIONS, planOptionsFor, test } from '../helpers.js';

const LEGACY = fixturePath('legacy-config');
const OPTIONS = PLAN_OPTIONS;

const builds = (plan: BuildPlan) => plan.steps.filter((step): step is BuildStep => step.kind === 'build');
const ids = (plan: BuildPlan) => plan.steps.map((step) => step.id);
/** Step ids with each build key shortened to `key-…`: the keys are tested in test/plan/keys.test.ts. */
const shapes = (plan: BuildPlan) => ids(plan).map((id) => id.replace(/:key-[0-9a-f]{16}$/, ':key-…'));

/** Every step's needs come earlier; every service is built once; parents before children. */
function assertWellFormed(plan: BuildPlan, checkout: Checkout): void {
  const seen = new Set<string>();
  for (const step of plan.steps) {
    assert.not.ok(seen.has(step.id), `${step.id} twice`);
    for (const need of step.needs) assert.ok(seen.has(need), `${step.id} needs ${need}, which does not come first`);
    seen.add(step.id);
  }
  const order = builds(plan).map((step) => step.service);
  for (const [index, name] of order.entries()) {
    for (const parent of checkout.services.get(name)?.parents ?? []) {
      if (plan.command !== 'build') assert.ok(order.indexOf(parent) !== -1 && order.indexOf(parent) < index, `${parent} before ${name}`);
    }
  }
}

test('test: parents of this checkout are tested first and FROM edxops/X becomes X:test', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'test', ['zz-chain-leaf', 'edxapp'], planOptionsFor(config));
  assertWellFormed(plan, checkout);
  assert.equal(ids(plan), ['pull ubuntu:focal', 'build focal-common', 'build edxapp', 'build zz-chain-leaf']);
  const [base, edxapp, leaf] = builds(plan);
  assert.equal(base?.from.map(formatImageRef), ['ubuntu:focal']);
  assert.equal(edxapp?.from.map(formatImageRef), ['focal-common:test']);
  assert.equal(leaf?.from.map(formatImageRef), ['edxapp:test']);
  assert.equal(builds(plan).map((step) => formatImageRef(step.tag)), ['focal-common:test', 'edxapp:test', 'zz-chain-leaf:test']);
  assert.match(edxapp?.content ?? '', /^FROM focal-common:test$/m);
  assert.equal(plan.steps[0], { kind: 'pull', id: 'pull ubuntu:focal', needs: [], image: { domain: null, path: 'ubuntu', tag: 'focal', digest: null }, policy: 'missing', optional: false });
});

test('a service needed twice is built once', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'test', ['forum', 'analytics_pipeline', 'xenial-common', 'forum'], planOptionsFor(config));
  assert.equal(builds(plan).map((step) => step.service), ['xenial-common', 'analytics_pipeline', 'forum']);
});

test('every command over every service of the legacy-shaped fixture gives a well-formed plan', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  for (const command of ['build', 'test', 'pkg', 'push'] as const) {
    const plan = planBuild(checkout, command, [], planOptionsFor(config));
    assertWellFormed(plan, checkout);
    assert.is(builds(plan).length, checkout.services.size, command);
    // The plan is data: a real run's plan memo (src/cli/build.ts) keeps it as JSON and runs what it reads back.
    assert.equal(JSON.parse(JSON.stringify(plan)), plan, `${command}: the same after JSON`);
  }
});

test('pkg builds on packaged parents (X:latest), not on test ones (the legacy bug)', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plan = planBuild(checkout, 'pkg', ['forum'], planOptionsFor(config));
  assert.equal(builds(plan).map((step) => [formatImageRef(step.tag), step.from.map(formatImageRef)]), [
    ['xenial-common:latest', ['ubuntu:xenial']],
    ['forum:latest', ['xenial-common:latest']],
  ]);
});

test('build uses the published parents as written, pulling them every time', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  // The devstack flavor sends legacy Dockerfiles (which list devstack:install) as written.
  const plan = planBuild(checkout, 'build', ['forum', 'focal-common'], { ...planOptionsFor(config), flavor: 'devstack' });
  assert.equal(ids(plan), ['pull ubuntu:focal', 'pull edxops/xenial-common:latest', 'build focal-common', 'build forum']);
  assert.equal(plan.steps.slice(0, 2).map((step) => step.kind === 'pull' && step.policy), ['missing', 'always']);
  const forum = builds(plan)[1];
  assert.equal(forum?.from.map(formatImageRef), ['edxops/xenial-common:latest']);
  assert.is(forum?.content, checkout.services.get('forum')?.dockerfile.text, 'nothing to rewrite');
  assert.is(formatImageRef(forum?.tag ?? { domain: null, path: '?', tag: null, digest: null }), 'forum:build-devstack');
});

test('build publishing to GHCR under another namespace takes FROM edxops/X from there, keeping the tag', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: 'ghcr.io', namespace: 'my-org/configuration' });
  const plan = planBuild(checkout, 'build', ['forum'], planOptionsFor(config));
  assert.equal(ids(plan), ['pull ghcr.io/my-org/configuration/xenial-common:latest', 'build forum']);
  assert.match(builds(plan)[0]?.content ?? '', /^FROM ghcr\.io\/my-org\/configuration\/xenial-common:latest$/m);
  const tagged = await loadCheckout(LEGACY, { namespace: 'my-org', buildArgs: ['BASE_IMAGE_TAG=release'] });
  assert.equal(ids(planBuild(tagged.checkout, 'build', ['forum'], planOptionsFor(tagged.config))), ['pull my-org/xenial-common:release', 'build forum']);
});

test('push --parents published: a CI wave builds on the published parents and publishes the <svc>:build images', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: '127.0.0.1:5055' });
  const plan = planBuild(checkout, 'push', ['forum'], { ...planOptionsFor(config), parents: 'published' });
  assert.equal(shapes(plan), [
    'pull 127.0.0.1:5055/edxops/xenial-common:latest',
    'build forum',
    'tag 127.0.0.1:5055/edxops/forum:key-…',
    'push 127.0.0.1:5055/edxops/forum:key-…',
    'push 127.0.0.1:5055/edxops/forum:latest',
  ]);
  assert.equal(builds(plan).map((step) => formatImageRef(step.tag)), ['forum:build']);
  const tag = plan.steps.find((step) => step.kind === 'tag');
  assert.is(tag?.kind === 'tag' ? formatImageRef(tag.source) : '', 'forum:build');
  // the default stays the legacy one: parents packaged from this checkout first
  assert.ok(ids(planBuild(checkout, 'push', ['forum'], planOptionsFor(config))).includes('build xenial-common'));
});

test('build against a private registry resolves published parents there', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: 'registry.example.com:5000' });
  const plan = planBuild(checkout, 'build', ['forum'], planOptionsFor(config));
  assert.equal(ids(plan), ['pull registry.example.com:5000/edxops/xenial-common:latest', 'build forum']);
  assert.match(builds(plan)[0]?.content ?? '', /^FROM registry\.example\.com:5000\/edxops\/xenial-common:latest$/m);
});

test('push: every build goes up under its key ref, children build on it; only the requested services are published, after every key', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: '127.0.0.1:5055', namespace: 'edxops' });
  const plan = planBuild(checkout, 'push', ['xqueue', 'forum'], planOptionsFor(config));
  assertWellFormed(plan, checkout);
  assert.equal(shapes(plan), [
    'pull ubuntu:focal',
    'pull ubuntu:xenial',
    'build focal-common',
    'tag 127.0.0.1:5055/edxops/focal-common:key-…',
    'push 127.0.0.1:5055/edxops/focal-common:key-…',
    'build xenial-common',
    'tag 127.0.0.1:5055/edxops/xenial-common:key-…',
    'push 127.0.0.1:5055/edxops/xenial-common:key-…',
    'build forum',
    'tag 127.0.0.1:5055/edxops/forum:key-…',
    'push 127.0.0.1:5055/edxops/forum:key-…',
    'build xqueue',
    'tag 127.0.0.1:5055/edxops/xqueue:key-…',
    'push 127.0.0.1:5055/edxops/xqueue:key-…',
    'push 127.0.0.1:5055/edxops/forum:latest',
    'push 127.0.0.1:5055/edxops/xqueue:latest',
  ]);
  const forum = builds(plan).find((step) => step.service === 'forum');
  const base = builds(plan).find((step) => step.service === 'xenial-common');
  assert.equal(forum?.from.map(formatImageRef), [formatImageRef(base!.keyRef!)], 'forum builds FROM the key ref of its parent');
  assert.equal(forum?.fetch.map(formatImageRef), [formatImageRef(base!.keyRef!)], 'pulled when forum has to build and the engine lacks it');
  assert.ok(forum?.needs.includes(`tag ${formatImageRef(base!.keyRef!)}`), 'once the parent is built and tagged, or found in the registry');
  const latest = plan.steps.filter((step) => step.kind === 'push' && step.source !== null);
  for (const step of latest) {
    assert.equal(step.kind === 'push' && step.source?.tag?.startsWith('key-'), true, `${step.id} is written from a key ref`);
    for (const key of ['forum', 'xqueue']) assert.ok(step.needs.includes(`push ${formatImageRef(builds(plan).find((b) => b.service === key)!.keyRef!)}`), `${step.id} waits for ${key}'s key`);
  }
});

test('--pull always and never', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { pull: 'always' });
  assert.equal(planBuild(checkout, 'test', ['forum'], planOptionsFor(config)).steps[0], {
    kind: 'pull', id: 'pull ubuntu:xenial', needs: [], image: { domain: null, path: 'ubuntu', tag: 'xenial', digest: null }, policy: 'always', optional: false,
  });
  const never = await loadCheckout(LEGACY, { pull: 'never' });
  assert.equal(ids(planBuild(never.checkout, 'test', ['forum'], planOptionsFor(never.config))), ['build xenial-common', 'build forum']);
});

test('rendering keeps every line number, even for a FROM continued over lines', () => {
  const text = '# comment\nARG T=latest\nfrom --platform=linux/amd64 \\\n   edxops/base:${T} \\\n   AS b\nRUN echo hi\n';
  const checkout = memoryCheckout({ base: 'FROM debian:bookworm\n', app: text });
  const plan = planBuild(checkout, 'test', ['app'], OPTIONS);
  const app = builds(plan)[1];
  assert.is(app?.content, '# comment\nARG T=latest\nFROM --platform=linux/amd64 base:test AS b\n\n\nRUN echo hi\n');
});

test('COPY --from a checkout image is a dependency and is rewritten too', () => {
  const checkout = memoryCheckout({ tools: 'FROM debian:bookworm\n', app: 'FROM debian:bookworm\nCOPY --from=edxops/tools:latest /t /t\n' });
  const plan = planBuild(checkout, 'test', ['app'], OPTIONS);
  assert.equal(ids(plan), ['pull debian:bookworm', 'build tools', 'build app']);
  assert.match(builds(plan)[1]?.content ?? '', /^COPY --from=tools:test \/t \/t$/m);
});

test('an unresolved FROM fails a build with file:line, but test rewrites it away', () => {
  const checkout = memoryCheckout({ base: 'FROM debian:bookworm\n', app: 'ARG TAG\nFROM edxops/base:${TAG}\n' });
  assert.equal(checkout.services.get('app')?.parents, ['base']);
  assert.throws(() => planBuild(checkout, 'build', ['app'], OPTIONS), (error: unknown) =>
    error instanceof DiscoveryError && /docker\/build\/app\/Dockerfile:2: .*ARG TAG has no value/.test(error.message) && /--build-arg/.test(error.hint ?? ''),
  );
  assert.equal(builds(planBuild(checkout, 'test', ['app'], OPTIONS))[1]?.from.map(formatImageRef), ['base:test']);
});

test('a FROM cycle is refused, naming the services and lines', () => {
  const checkout = memoryCheckout({ a: 'FROM edxops/c\n', b: 'FROM debian\nFROM edxops/a\n', c: 'FROM edxops/b\n', d: 'FROM edxops/d\n' });
  assert.throws(() => planBuild(checkout, 'test', ['c'], OPTIONS), (error: unknown) =>
    error instanceof CycleError &&
    error.message.includes('a → b → c → a') &&
    error.message.includes('docker/build/b/Dockerfile:2'),
  );
  assert.throws(() => planBuild(checkout, 'pkg', ['d'], OPTIONS), (error: unknown) => error instanceof CycleError && error.message.includes('d → d'));
  // build mode builds on published images: no local cycle.
  assert.is(builds(planBuild(checkout, 'build', ['d'], OPTIONS)).length, 1);
});

test('malformed ansible_overrides.yml is refused with file:line before anything runs', () => {
  const checkout = memoryCheckout({ app: 'FROM debian\n' }, { app: 'A: 1\nB: [unclosed\nC: 3\n' });
  assert.throws(() => planBuild(checkout, 'test', ['app'], OPTIONS), (error: unknown) =>
    error instanceof DiscoveryError && /^docker\/build\/app\/ansible_overrides\.yml:\d+: invalid YAML/.test(error.message),
  );
  const list = memoryCheckout({ app: 'FROM debian\n' }, { app: '- a\n- b\n' });
  assert.throws(() => planBuild(list, 'test', ['app'], OPTIONS), /ansible_overrides\.yml:1: overrides must be a mapping/);
});

test('unknown names get the nearest services; path-like names are refused', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  assert.throws(() => planBuild(checkout, 'test', ['froum'], planOptionsFor(config)), (error: unknown) =>
    error instanceof UsageError && error.message === 'unknown service "froum"' && /did you mean forum\b/.test(error.hint ?? ''),
  );
  for (const name of ['../forum', 'docker/build/forum', '..']) {
    assert.throws(() => planBuild(checkout, 'test', [name], planOptionsFor(config)), (error: unknown) =>
      error instanceof UsageError && error.message === `"${name}" is not a service name`,
    );
  }
});

test('a directory without a Dockerfile is named as such, not as an unknown service', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  assert.throws(() => planBuild(checkout, 'test', ['jenkins_analytics'], planOptionsFor(config)), (error: unknown) =>
    error instanceof UsageError && error.message === 'docker/build/jenkins_analytics is not a service: it has no file named exactly Dockerfile',
  );
});

test('pull: services map to their published image; refs are taken as written, @ for : as in make', async () => {
  const { config, checkout } = await loadCheckout(LEGACY, { registry: 'ghcr.io', namespace: 'openedx/images' });
  const plan = planPull(checkout, ['forum', 'edxops/xqueue@latest', `ubuntu@sha256:${'a'.repeat(64)}`], planOptionsFor(config));
  assert.equal(ids(plan), ['pull ghcr.io/openedx/images/forum:latest', 'pull edxops/xqueue:latest', `pull ubuntu@sha256:${'a'.repeat(64)}`]);
  assert.throws(() => planPull(checkout, ['Not/Valid:'], planOptionsFor(config)), (error: unknown) => error instanceof UsageError);
});

test('--devstack: every flavor has its own tags, parents included; the plain flavor skips devstack:install', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const plain = planBuild(checkout, 'test', ['edxapp'], planOptionsFor(config));
  const devstack = planBuild(checkout, 'test', ['edxapp'], { ...planOptionsFor(config), flavor: 'devstack' });
  assert.equal(builds(devstack).map((step) => formatImageRef(step.tag)), ['focal-common:test-devstack', 'edxapp:test-devstack']);
  assert.equal(builds(devstack)[1]?.from.map(formatImageRef), ['focal-common:test-devstack']);
  assert.equal(builds(plain).map((step) => formatImageRef(step.tag)), ['focal-common:test', 'edxapp:test']);
  assert.match(builds(plain)[1]?.content ?? '', /ansible-playbook --skip-tags=devstack:install/);
  assert.not.match(builds(devstack)[1]?.content ?? '', /--skip-tags=devstack:install/);
  const pkg = planBuild(checkout, 'push', ['edxapp'], { ...planOptionsFor(config), flavor: 'devstack' });
  const tag = pkg.steps.find((step) => step.kind === 'tag' && step.source.path === 'edxapp');
  assert.is(tag?.kind === 'tag' ? formatImageRef(tag.source) : null, 'edxapp:latest-devstack');
  const published = pkg.steps.filter((step) => step.kind === 'push' && step.source !== null).map((step) => step.id);
  assert.equal(published, ['push edxops/edxapp:latest-devstack']);
  const plainPush = planBuild(checkout, 'push', ['edxapp'], planOptionsFor(config));
  const key = (plan: BuildPlan) => builds(plan).find((step) => step.service === 'edxapp')?.key;
  assert.is.not(key(pkg), key(plainPush), 'the flavors never share a build key');
});

test('overrides layer over the services asked for, not over the parents built first', async () => {
  const { config, checkout } = await loadCheckout(LEGACY);
  const layers = [{ source: '--override', values: { EDXAPP_X: 1 } }];
  const plan = planBuild(checkout, 'test', ['edxapp'], { ...planOptionsFor(config), overrides: layers });
  const [base, edxapp] = builds(plan);
  assert.equal([base?.overrides, base?.files], [null, {}]);
  assert.is((edxapp?.overrides as Record<string, unknown> | null)?.EDXAPP_X, 1);
  assert.equal(Object.keys(edxapp?.files ?? {}), ['docker/build/edxapp/ansible_overrides.yml']);
  const withoutFile = [...checkout.services.values()].find((service) => service.overrides === null);
  assert.ok(withoutFile, 'the fixture has a service without ansible_overrides.yml');
  assert.throws(
    () => planBuild(checkout, 'build', [withoutFile.name], { ...planOptionsFor(config), overrides: layers }),
    (error: unknown) => error instanceof UsageError && /has no ansible_overrides\.yml/.test((error as Error).message),
  );
});

test.run();
