import * as assert from 'uvu/assert';
import { planBuild } from '../../src/plan/plan.js';
import { fixturePath, loadCheckout, planOptionsFor, test } from '../helpers.js';
import { computeTags, DEFAULT_TAG_RULES, higherRelease, isImmutable, normalizeTag, parseSemver, type Revision } from '../../src/plan/tags.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const tags = (rev: Revision, rules = DEFAULT_TAG_RULES): string[] => computeTags(rev, rules).map((t) => t.tag);

test('tagged commit on the default branch: semver, branch, sha, latest last', () => {
  assert.equal(tags({ sha: SHA, branch: 'main', tag: 'v1.2.3', defaultBranch: 'main' }), ['1.2.3', '1.2', '1', 'main', 'sha-0123456', 'latest']);
});

test('another branch gets no latest', () => {
  assert.equal(tags({ sha: SHA, branch: 'feature/X', defaultBranch: 'main' }), ['feature-x', 'sha-0123456']);
});

test('prerelease: full version only, no 1.2, 1 or latest', () => {
  assert.equal(tags({ sha: SHA, branch: 'main', tag: 'v2.0.0-rc.1', defaultBranch: 'main' }), ['2.0.0-rc.1', 'main', 'sha-0123456']);
});

test('major 0 gets no bare 0; non-semver tag kept as the tag', () => {
  assert.equal(tags({ sha: SHA, tag: 'v0.3.1' }), ['0.3.1', '0.3', 'sha-0123456', 'latest']);
  assert.equal(tags({ sha: SHA, tag: 'Release_2024' }), ['release_2024', 'sha-0123456']);
});

test('rules: long sha, latest always/never, semver off keeps the raw tag', () => {
  const rules = { ...DEFAULT_TAG_RULES, longSha: true, semver: false, latest: 'always' as const };
  assert.equal(tags({ sha: SHA, branch: 'dev', tag: 'v1.0.0', defaultBranch: 'main' }, rules), ['v1.0.0', 'dev', 'sha-0123456', `sha-${SHA}`, 'latest']);
  assert.equal(tags({ sha: SHA, branch: 'main', defaultBranch: 'main' }, { ...DEFAULT_TAG_RULES, latest: 'never' }), ['main', 'sha-0123456']);
});

test('a branch named latest does not become the moving tag', () => {
  assert.equal(tags({ sha: SHA, branch: 'latest', defaultBranch: 'main' }), ['sha-0123456']);
});

test('normalizeTag', () => {
  assert.is(normalizeTag('Feature/Foo Bar'), 'feature-foo-bar');
  assert.is(normalizeTag('-.x'), 'x');
  assert.is(normalizeTag('///'), undefined);
  assert.is(normalizeTag('a/b'), 'a-b');
  assert.is(normalizeTag(''), undefined);
  assert.is(normalizeTag('a'.repeat(200))!.length, 128);
});

test('parseSemver', () => {
  assert.equal(parseSemver('v1.2.3'), { major: '1', minor: '2', patch: '3' });
  assert.equal(parseSemver('1.2.3-beta.2+build'), { major: '1', minor: '2', patch: '3', prerelease: 'beta.2' });
  assert.is(parseSemver('1.2'), undefined);
  assert.is(parseSemver('01.2.3'), undefined);
});

test('push plan: immutable refs need their own key, versioned ones every key and immutable ref, latest every versioned one', async () => {
  const { config, checkout } = await loadCheckout(fixturePath('legacy-config'), { registry: '127.0.0.1:5055', namespace: 'edxops' });
  const publishTags = computeTags({ sha: SHA, branch: 'main', tag: 'v1.2.3', defaultBranch: 'main' });
  const plan = planBuild(checkout, 'push', ['xqueue', 'forum'], { ...planOptionsFor(config), publishTags });
  const writes = plan.steps.filter((s) => s.kind === 'push' && s.source !== null);
  const keys = plan.steps.filter((s) => s.kind === 'push' && s.source === null && (s.service === 'forum' || s.service === 'xqueue')).map((s) => s.id);
  const immutable = writes.filter((s) => s.kind === 'push' && !s.mutable);
  const versioned = writes.filter((s) => s.kind === 'push' && s.mutable && !s.id.endsWith(':latest'));
  const latest = writes.filter((s) => s.id.endsWith(':latest'));
  assert.equal(immutable.map((s) => s.id), ['push 127.0.0.1:5055/edxops/forum:sha-0123456', 'push 127.0.0.1:5055/edxops/xqueue:sha-0123456']);
  assert.is(versioned.length, 2 * 4);
  assert.equal(latest.map((s) => s.id), ['push 127.0.0.1:5055/edxops/forum:latest', 'push 127.0.0.1:5055/edxops/xqueue:latest']);
  for (const step of immutable) assert.is(step.needs.length, 1, `${step.id} waits for its own key only`);
  for (const step of versioned) for (const need of [...keys, ...immutable.map((s) => s.id)]) assert.ok(step.needs.includes(need), `${step.id} needs ${need}`);
  for (const step of latest) for (const v of versioned) assert.ok(step.needs.includes(v.id), `${step.id} needs ${v.id}`);
  const index = (id: string) => plan.steps.findIndex((s) => s.id === id);
  assert.ok(Math.max(...versioned.map((s) => index(s.id))) < Math.min(...latest.map((s) => index(s.id))));
});

test('a release tag floats 1, 1.2 and latest only to the highest release of their range', () => {
  const release = computeTags({ sha: SHA, tag: 'v1.1.5' });
  assert.equal(release.map((t) => [t.tag, t.follows?.range ?? null]), [['1.1.5', null], ['1.1', 'minor'], ['1', 'major'], ['sha-0123456', null], ['latest', 'all']]);
  const follows = (tag: string) => release.find((t) => t.tag === tag)!.follows!;
  const existing = ['1.2.0', '1.1.4', '1.1', '1', 'latest', '2.0.0-rc.1', 'sha-abcdef0', 'main', '0.9.9'];
  assert.is(higherRelease(follows('1.1'), existing), null, '1.1.5 is the highest 1.1.x');
  assert.is(higherRelease(follows('1'), existing), '1.2.0');
  assert.is(higherRelease(follows('latest'), existing), '1.2.0');
  assert.is(higherRelease(follows('latest'), ['1.1.5', '1.0.0', '2.0.0-rc.1']), null, 'a prerelease never counts');
  assert.is(higherRelease(follows('latest'), []), null, 'the first release');
  // On the default branch without a release, latest follows the branch and always moves.
  assert.equal(computeTags({ sha: SHA, branch: 'main', defaultBranch: 'main' }).find((t) => t.kind === 'latest')?.follows, undefined);
  assert.ok(release.filter((t) => t.kind === 'sha').every(isImmutable));
  assert.not.ok(release.filter((t) => t.kind !== 'sha').some(isImmutable));
});

test.run();
