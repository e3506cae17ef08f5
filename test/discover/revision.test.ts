import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { tempDir, test } from '../helpers.js';
import { parseDecorations, readRevision, revisionFromEnv, sourceUrl } from '../../src/discover/revision.js';
import { computeTags } from '../../src/plan/tags.js';

test('GITHUB_* override git', () => {
  const base = { sha: 'a'.repeat(40), branch: 'main', defaultBranch: 'main' };
  assert.equal(revisionFromEnv(base, { GITHUB_REF: 'refs/tags/v1.0.0', GITHUB_SHA: 'b'.repeat(40) }), { ...base, sha: 'b'.repeat(40), tag: 'v1.0.0' });
  assert.equal(revisionFromEnv(base, { GITHUB_REF: 'refs/heads/dev' }).branch, 'dev');
  assert.equal(revisionFromEnv(base, { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r' }).source, 'https://github.com/o/r');
});

test('sourceUrl drops credentials and .git', () => {
  assert.is(sourceUrl('git@github.com:openedx/configuration.git'), 'https://github.com/openedx/configuration');
  assert.is(sourceUrl('https://x:secret@github.com/o/r.git'), 'https://github.com/o/r');
  assert.is(sourceUrl('/some/path'), undefined);
});

test('a real tagged commit on main', async () => {
  const dir = tempDir('dockmk-rev-');
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'f'), 'x');
  git('add', 'f');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'c');
  git('tag', 'v1.2.3');
  const sha = git('rev-parse', 'HEAD').trim();
  const rev = await readRevision(dir, {});
  assert.is(rev.sha, sha);
  assert.is(rev.branch, 'main');
  assert.is(rev.tag, 'v1.2.3');
  assert.ok(rev.committed);
  assert.equal(computeTags(rev).map((t) => t.tag), ['1.2.3', '1.2', '1', 'main', `sha-${sha.slice(0, 7)}`, 'latest']);
  git('checkout', '-q', '-b', 'topic');
  assert.equal(computeTags(await readRevision(dir, {})).map((t) => t.tag), ['1.2.3', '1.2', '1', 'topic', `sha-${sha.slice(0, 7)}`]);
});

test('git log decorations: the branch checked out, a release tag first; none when detached or untagged', () => {
  assert.equal(parseDecorations('HEAD -> main, tag: nightly, tag: v1.2.3, origin/main, origin/HEAD'), { branch: 'main', tag: 'v1.2.3' });
  assert.equal(parseDecorations('HEAD, tag: open-release/quince.1'), { tag: 'open-release/quince.1' });
  assert.equal(parseDecorations('HEAD -> feature/x'), { branch: 'feature/x' });
  assert.equal(parseDecorations(''), {});
});

test('SOURCE_DATE_EPOCH sets the commit time of the labels', () => {
  assert.is(revisionFromEnv({ committed: '2026-01-01T00:00:00Z' }, { SOURCE_DATE_EPOCH: '1700000000' }).committed, '2023-11-14T22:13:20.000Z');
  assert.is(revisionFromEnv({ committed: '2026-01-01T00:00:00Z' }, { SOURCE_DATE_EPOCH: 'soon' }).committed, '2026-01-01T00:00:00Z');
});

test.run();
