import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../helpers.js';
import { listContext, parsePatterns } from '../../src/discover/context.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'dockmk-context-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

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

test.run();
