import * as assert from 'uvu/assert';
import { ociLabels, versionOf } from '../../src/plan/labels.js';
import { planBuild } from '../../src/plan/plan.js';
import type { BuildStep, PullStep } from '../../src/plan/types.js';
import { memoryCheckout, PLAN_OPTIONS, test } from '../helpers.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

test('OCI labels: title always; source, revision, created, version from the revision', () => {
  assert.equal(ociLabels('forum', {}), { 'org.opencontainers.image.title': 'forum' });
  assert.equal(
    ociLabels('forum', { sha: SHA, branch: 'main', tag: 'v1.2.3', source: 'https://github.com/o/r', committed: '2026-11-23T17:10:11+01:00' }),
    {
      'org.opencontainers.image.title': 'forum',
      'org.opencontainers.image.source': 'https://github.com/o/r',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '2026-11-23T16:10:11.000Z',
      'org.opencontainers.image.version': '1.2.3',
    },
  );
});

test('version: the release, else the tag, else the branch, else the short sha', () => {
  assert.is(versionOf({ tag: 'v2.0.0-rc.1', branch: 'main', sha: SHA }), '2.0.0-rc.1');
  assert.is(versionOf({ tag: 'open-release/quince.1', sha: SHA }), 'open-release-quince.1');
  assert.is(versionOf({ branch: 'Feature/X', sha: SHA }), 'feature-x');
  assert.is(versionOf({ sha: SHA }), 'sha-0123456');
  assert.is(versionOf({}), undefined);
});

const checkout = memoryCheckout({ base: 'FROM debian:bookworm\n', app: 'FROM edxops/base:latest\n' });
const inputs = { files: new Map([['docker/build/app/Dockerfile', 'x']]), layout: { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' } };
const buildOf = (options = {}) => planBuild(checkout, 'test', ['app'], { ...PLAN_OPTIONS, inputs, ...options }).steps.find((s): s is BuildStep => s.kind === 'build' && s.service === 'app') as BuildStep;

test('a new commit changes the OCI labels, not the input hash; a user label changes both', () => {
  const first = buildOf({ revision: { sha: SHA, branch: 'main' } });
  const next = buildOf({ revision: { sha: 'f'.repeat(40), branch: 'main' } });
  assert.is.not(first.labels['org.opencontainers.image.revision'], next.labels['org.opencontainers.image.revision']);
  assert.is(first.inputs?.digest, next.inputs?.digest);
  const labelled = buildOf({ revision: { sha: SHA, branch: 'main' }, labels: { 'com.example.team': 'edx' } });
  assert.is(labelled.labels['com.example.team'], 'edx');
  assert.is(labelled.labels['org.opencontainers.image.title'], 'app');
  assert.is.not(labelled.inputs?.digest, first.inputs?.digest);
  assert.ok('labels' in (labelled.inputs?.parts ?? {}), 'status can name the labels as the changed input');
});

test('--cache-from: {service} filled in, pulled first as an optional step the build waits for', () => {
  const plan = planBuild(checkout, 'test', ['app'], { ...PLAN_OPTIONS, cacheFrom: ['ghcr.io/o/{service}:cache', 'debian:bookworm'] });
  const pulls = plan.steps.filter((s): s is PullStep => s.kind === 'pull');
  const byId = new Map(pulls.map((p) => [p.id, p]));
  assert.ok(byId.get('pull ghcr.io/o/app:cache')?.optional);
  assert.ok(byId.get('pull ghcr.io/o/base:cache')?.optional);
  // also a real base of `base`: never optional
  assert.is(byId.get('pull debian:bookworm')?.optional, false);
  const app = plan.steps.find((s): s is BuildStep => s.kind === 'build' && s.service === 'app') as BuildStep;
  assert.equal(app.cacheFrom.map((r) => `${r.domain ?? ''}/${r.path}:${r.tag}`), ['ghcr.io/o/app:cache', '/debian:bookworm']);
  assert.ok(app.needs.includes('pull ghcr.io/o/app:cache'));
  assert.throws(() => planBuild(checkout, 'test', ['app'], { ...PLAN_OPTIONS, cacheFrom: ['Bad Ref'] }), /--cache-from "Bad Ref"/);
});

test.run();
