import { execFileSync } from 'node:child_process';
import { cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { parseNameStatus } from '../../src/discover/git.js';
import { cleanEnv, fixturePath, REPO_ROOT, tempDir, test } from '../helpers.js';

const AFFECTED = fixturePath('affected');
const LEGACY = fixturePath('legacy-config');
const STATE = tempDir('dockmk-affected-state-');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function dockmk(cwd: string, argv: string[], stdin?: string, state = STATE): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: '/nonexistent', DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKMK_STATE_DIR: state },
    cwd,
    signal: new AbortController().signal,
    now: () => 0,
    stdin: (async function* () {
      if (stdin !== undefined) yield stdin;
    })(),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8', env: cleanEnv() });
}

/** The affected fixture as a git repository with one commit. */
function repository(): string {
  const root = tempDir('dockmk-affected-git-');
  cpSync(AFFECTED, root, { recursive: true });
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'fixture');
  return root;
}

test('--files - reads paths from stdin and needs no git: one service per line, sorted', async () => {
  const { code, stdout, stderr } = await dockmk(AFFECTED, ['affected', '--files', '-'], './playbooks/roles/tls/tasks/main.yml\n\n# a comment\nconfig/web.ini\n');
  assert.is(code, 0, stderr);
  assert.is(stdout, 'web\nworker\n');
  assert.match(stderr, /^dockmk: 2 of 7 services affected in the paths on stdin \(2 changed paths\)\n$/);
});

test('--json is an array; --json --explain adds the chains', async () => {
  const plain = await dockmk(AFFECTED, ['affected', '--files', '-', '--json'], 'playbooks/roles/queue/tasks/main.yml\n');
  assert.equal(JSON.parse(plain.stdout), ['worker']);
  const explained = JSON.parse((await dockmk(AFFECTED, ['affected', '--files', '-', '--json', '--explain'], 'playbooks/roles/queue/tasks/main.yml\n')).stdout);
  assert.equal(explained[0].service, 'worker');
  assert.equal(explained[0].reasons[0].rule, 'role');
  assert.equal(explained[0].reasons[0].chain.map((link: { kind: string }) => link.kind), ['role', 'role', 'play', 'service']);
});

test('--explain prints file → role → … → play → service, and what affects nothing', async () => {
  const { stdout } = await dockmk(AFFECTED, ['affected', '--files', '-', '--explain'], 'playbooks/roles/jwt/tasks/main.yml\nREADME.md\n');
  assert.is(
    stdout,
    [
      'web',
      '  playbooks/roles/jwt/tasks/main.yml → role jwt → role web_app (include_role playbooks/roles/web_app/tasks/main.yml:7) → docker/plays/web.yml:11 → web (runs it)',
      '',
      'changed paths that affect no service:',
      '  README.md: no rule maps it to a service (not a service file, play, role or file a Dockerfile copies)',
      '',
    ].join('\n'),
  );
});

test('a role no play covers: the warning is on stderr without asking for it', async () => {
  const { code, stdout, stderr } = await dockmk(AFFECTED, ['affected', '--files', '-'], 'playbooks/roles/unused/tasks/main.yml\n');
  assert.is(code, 0);
  assert.is(stdout, '');
  assert.match(stderr, /^warning: playbooks\/roles\/unused\/tasks\/main\.yml: role unused is not covered/);
});

test('--range on a git history: modified, renamed and deleted files', async () => {
  const root = repository();
  writeFileSync(join(root, 'playbooks/roles/tls/tasks/main.yml'), '- name: changed\n  debug: {}\n');
  renameSync(join(root, 'docker/build/web/files/site.conf'), join(root, 'docker/build/web/files/site-renamed.conf'));
  rmSync(join(root, 'playbooks/roles/queue/tasks/main.yml'));
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'change');
  const { code, stdout, stderr } = await dockmk(root, ['affected', '--range', 'HEAD~1..HEAD', '--explain']);
  assert.is(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.equal(lines.filter((line) => line !== '' && !line.startsWith(' ')), ['web', 'worker']);
  assert.ok(lines.includes('  docker/build/web/files/site.conf ⇒ docker/build/web/files/site-renamed.conf (renamed) → web'), stdout);
  assert.ok(lines.some((line) => line.startsWith('  playbooks/roles/queue/tasks/main.yml (deleted) → role queue → role worker (import_role')), stdout);
  assert.match(stderr, /2 of 7 services affected in HEAD~1\.\.HEAD \(3 changed paths\)/);
});

test('--since compares the merge base with the working tree, untracked files included', async () => {
  const root = repository();
  git(root, 'checkout', '-q', '-b', 'topic');
  writeFileSync(join(root, 'playbooks/roles/metrics/tasks.yml'), 'x: 1\n');
  writeFileSync(join(root, 'docker/plays/worker_deploy.yml'), '- hosts: all\n  roles: [worker]\n');
  assert.equal(JSON.parse((await dockmk(root, ['affected', '--since', 'main', '--json'])).stdout), ['monitor', 'worker']);
  const changes = parseNameStatus('M\0a\0R087\0old name\0new name\0D\0gone\0');
  assert.equal(changes, [
    { path: 'a', status: 'modified' },
    { path: 'new name', status: 'renamed', previous: 'old name' },
    { path: 'gone', status: 'deleted' },
  ]);
});

test("--since: dockmk's own state inside the checkout, untracked, is not a change", async () => {
  const root = repository();
  writeFileSync(join(root, 'docker/plays/worker_deploy.yml'), '- hosts: all\n  roles: [worker]\n');
  const state = join(root, '.dockmk');
  // The first run writes its caches there; .gitignore does not name the directory.
  assert.equal(JSON.parse((await dockmk(root, ['affected', '--since', 'HEAD', '--json'], undefined, state)).stdout), ['worker']);
  assert.ok(git(root, 'status', '--porcelain', '--untracked-files=all').includes('.dockmk/'), 'the state is there, untracked');
  const explained = await dockmk(root, ['affected', '--since', 'HEAD', '--explain'], undefined, state);
  assert.not.match(explained.stdout, /\.dockmk/, explained.stdout);
  assert.match(explained.stderr, /\(1 changed path\)/, explained.stderr);
});

test('bad input: no change named, bad ranges and references, bad shards: one line, exit 2', async () => {
  const root = repository();
  const cases: [string[], RegExp][] = [
    [['affected'], /^dockmk: affected needs a change: --since REF, --range A\.\.B or --files FILE/],
    [['affected', '--range', 'HEAD'], /^dockmk: --range "HEAD" is not a commit range/],
    [['affected', '--range=--output=x..HEAD'], /^dockmk: --range "--output=x\.\.HEAD" is not a commit range/],
    [['affected', '--range', '--json'], /^dockmk: Not enough arguments following: range/],
    [['affected', '--since', 'no-such-branch'], /^dockmk: git merge-base failed in .*: fatal: Not a valid object name no-such-branch — check the reference exists here/],
    [['affected', '--since', 'main', '--files', 'x'], /^dockmk: Arguments since and files are mutually exclusive/],
    [['affected', '--files', 'missing.txt'], /^dockmk: --files missing\.txt: no such file/],
    [['list', '--shard', '0/2'], /^dockmk: --shard "0\/2" is not of the form K\/N/],
    [['list', '--shard', '3/2'], /^dockmk: --shard 3\/2: shard 3 of 2 does not exist/],
    [['matrix', '--shard', '1/2'], /^dockmk: matrix prints every shard: --shard does not apply/],
    [['matrix', '--shards', '0'], /^dockmk: --shards 0 is not a number of shards/],
  ];
  for (const [argv, message] of cases) {
    const { code, stdout, stderr } = await dockmk(root, argv);
    assert.is(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
    assert.is(stderr.trim().split('\n').length, 1, stderr);
    assert.is(stdout, '');
  }
  const copy = tempDir('dockmk-nogit-');
  cpSync(AFFECTED, copy, { recursive: true });
  const outside = await dockmk(copy, ['affected', '--since', 'main']);
  assert.is(outside.code, 2);
  assert.match(outside.stderr, /: fatal: not a git repository.* — run dockmk inside a git checkout, or list the changed paths with --files/);
});

test('build/test/pkg/push act on the affected set; nothing affected is an empty plan, not every service', async () => {
  const { code, stdout, stderr } = await dockmk(LEGACY, ['test', '--files', '-', '--dry-run', '--json'], 'playbooks/roles/rbenv/tasks/main.yml\n');
  assert.is(code, 0, stderr);
  const plan = JSON.parse(stdout) as { steps: { action: string; service?: string }[] };
  assert.equal(plan.steps.filter((s) => s.action === 'build').map((s) => s.service), ['xenial-common', 'forum']);
  const none = await dockmk(LEGACY, ['test', '--files', '-', '--dry-run', '--json'], 'util/parsefiles_config.yml\n');
  assert.equal(JSON.parse(none.stdout).steps, []);
  assert.match(none.stderr, /no service selected, nothing to do/);
  const real = await dockmk(LEGACY, ['push', '--files', '-'], 'README.md\n');
  assert.is(real.code, 0, 'no engine is needed to do nothing');
  const children = await dockmk(LEGACY, ['pkg', 'focal-common', '--with-children', '--dry-run', '--json']);
  assert.is(JSON.parse(children.stdout).steps.filter((s: { action: string }) => s.action === 'build').length, 16, 'focal-common, its 14 children and zz-chain-leaf on edxapp');
});

test('--shard on list: the shards of every service are disjoint and cover them all', async () => {
  const all = JSON.parse((await dockmk(LEGACY, ['list', '--json'])).stdout).map((s: { name: string }) => s.name);
  const seen: string[] = [];
  for (const shard of ['1/3', '2/3', '3/3']) seen.push(...JSON.parse((await dockmk(LEGACY, ['list', '--json', '--shard', shard])).stdout).map((s: { name: string }) => s.name));
  assert.equal(seen.sort(), all.sort());
});

test('matrix --waves: one line of JSON, parents in earlier waves', async () => {
  const { code, stdout, stderr } = await dockmk(LEGACY, ['matrix', '--shards', '3', '--waves', '--with-children', '--files', '-'], 'docker/build/focal-common/Dockerfile\n');
  assert.is(code, 0, stderr);
  assert.is(stdout.trim().split('\n').length, 1);
  const matrix = JSON.parse(stdout) as { include: { shard: string; services: string; wave: number }[] };
  assert.equal([...new Set(matrix.include.map((e) => e.wave))], [1, 2, 3]);
  assert.equal(matrix.include.filter((e) => e.wave === 1).map((e) => e.services), ['focal-common']);
  assert.equal(matrix.include.filter((e) => e.wave === 3).map((e) => e.services), ['zz-chain-leaf']);
  // How the workflow uses it is checked in test/workflow.test.ts.
});

test('the commit that added the example services affects all five (a history made here, not this clone\'s)', async () => {
  // This repository's own history may be one commit deep (a --depth 1 clone) or absent (a
  // tarball): the history the test needs is made in a repository of its own, from the
  // examples as they are now.
  const root = tempDir('dockmk-affected-examples-');
  git(root, 'init', '-q', '-b', 'main');
  writeFileSync(join(root, 'README.md'), 'before the examples\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'before the examples');
  for (const path of ['docker', 'playbooks', '.dockerignore']) cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true, verbatimSymlinks: true });
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'add the example services');
  const { code, stdout, stderr } = await dockmk(root, ['affected', '--range', 'HEAD~1..HEAD']);
  assert.is(code, 0, stderr);
  assert.is(stdout, 'bookworm-common\nhello-app\nmemcached\nnginx\npython-app-common\n');
  const explained = await dockmk(root, ['affected', '--range', 'HEAD~1..HEAD', '--explain']);
  assert.match(explained.stdout, /^hello-app\n {2}docker\/build\/hello-app\/Dockerfile \(added\)( \(\+\d+ more\))? → hello-app$/m);
  assert.match(explained.stdout, /→ role python_app → role hello_app \(meta playbooks\/roles\/hello_app\/meta\/main\.yml:\d+\) → docker\/plays\/hello-app\.yml:\d+ → hello-app/);
});

test.run();
