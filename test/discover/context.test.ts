import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { tempTree, test } from '../helpers.js';
import { excludingPattern, listContext, parsePatterns, patternLines } from '../../src/discover/context.js';
import { DiscoveryError } from '../../src/errors.js';

const tree = (files: Record<string, string>): string => tempTree(files, 'dockmk-context-');

test('.dockerignore patterns as Docker reads them', () => {
  assert.equal(parsePatterns('# comment\n\n /abs/ \n!keep\n ./a/../b \n!  spaced\n.\n'), ['abs', '!keep', 'b', '!spaced']);
});

test('without .dockerignore everything is sent, directories before their contents', async () => {
  const root = tree({ 'a/b.txt': 'b', 'c.txt': 'cc' });
  const listing = await listContext(root);
  assert.equal(listing.entries.map((e) => `${e.type}:${e.path}`), ['directory:a', 'file:a/b.txt', 'file:c.txt']);
  assert.is(listing.bytes, 3);
  assert.is(listing.dockerignore, null);
});

test('exclusions, exceptions, wildcards and pruned directories', async () => {
  const root = tree({
    '.dockerignore': 'node_modules\n*.md\n!README.md\ndocs\n!docs/keep.txt\n**/*.pyc\n.git\n',
    'node_modules/x/index.js': '',
    'README.md': '',
    'CHANGES.md': '',
    'sub/NOTES.md': '',
    'docs/keep.txt': '',
    'docs/drop.txt': '',
    'lib/a.pyc': '',
    'lib/a.py': '',
    '.git/HEAD': '',
  });
  const listing = await listContext(root);
  assert.equal(listing.entries.map((e) => e.path), ['README.md', 'docs/keep.txt', 'lib', 'lib/a.py', 'sub', 'sub/NOTES.md']);
  assert.is(listing.dockerignore?.startsWith('node_modules'), true);
});

test('symlinks are sent as links, not followed', async () => {
  const root = tree({ 'playbooks/roles/common/tasks/main.yml': '- debug: msg=hi\n' });
  mkdirSync(join(root, 'docker/plays'), { recursive: true });
  symlinkSync('../../playbooks/roles', join(root, 'docker/plays/roles'));
  const listing = await listContext(root);
  const link = listing.entries.find((e) => e.path === 'docker/plays/roles');
  assert.equal([link?.type, link?.linkname], ['symlink', '../../playbooks/roles']);
  assert.not.ok(listing.entries.some((e) => e.path.startsWith('docker/plays/roles/')));
});

test("dockmk's own state directory is never sent, even without a .dockerignore", async () => {
  const root = tree({ '.dockmk/history.jsonl': '{}\n', 'a.txt': 'a', 'sub/.dockmk/keep.txt': 'k' });
  const listing = await listContext(root, ['.dockmk']);
  assert.equal(listing.entries.map((e) => e.path), ['a.txt', 'sub', 'sub/.dockmk', 'sub/.dockmk/keep.txt']);
});

test('a file name that is not valid UTF-8: one error naming it with its bytes escaped, unless .dockerignore leaves it out', async () => {
  const root = tree({ 'docs/a.txt': 'a' });
  writeFileSync(join(root, 'docs/café.txt'), '');
  // A Latin-1 é (one byte, 0xe9): Node writes string paths as UTF-8, so give the bytes.
  writeFileSync(Buffer.concat([Buffer.from(`${root}/docs/caf`), Buffer.from([0xe9]), Buffer.from('-raw.txt')]), 'x');
  await listContext(root).then(
    () => assert.unreachable('a name that is not UTF-8 is refused'),
    (error: unknown) => {
      assert.ok(error instanceof DiscoveryError);
      assert.is(error.message, 'docs/caf\\xe9-raw.txt: its name is not valid UTF-8, and dockmk sends only UTF-8 names to the engine');
      assert.match(error.hint ?? '', /add it to \.dockerignore/);
    },
  );
  writeFileSync(join(root, '.dockerignore'), 'docs/caf*-raw.txt\n');
  const listing = await listContext(root);
  assert.equal(listing.entries.map((e) => e.path), ['docs', 'docs/a.txt', 'docs/café.txt'], 'a UTF-8 é is a name like any other');
});

test('.dockerignore: the line of each pattern, and which line leaves a path out', () => {
  const text = '# state\n.git\n\ndocker/build/*/ansible_overrides.yml\ndocs\n!docs/keep.txt\n';
  assert.equal(patternLines(text), [
    { pattern: '.git', line: 2 },
    { pattern: 'docker/build/*/ansible_overrides.yml', line: 4 },
    { pattern: 'docs', line: 5 },
    { pattern: '!docs/keep.txt', line: 6 },
  ]);
  assert.equal(excludingPattern(text, 'docker/build/x/ansible_overrides.yml'), { pattern: 'docker/build/*/ansible_overrides.yml', line: 4 });
  assert.equal(excludingPattern(text, 'docs/other.txt'), { pattern: 'docs', line: 5 });
  assert.is(excludingPattern(text, 'docs/keep.txt'), null);
  assert.is(excludingPattern(text, 'README.md'), null);
});

test.run();
