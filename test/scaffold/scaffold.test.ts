import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/session.js';
import { DEFAULT_PATHS } from '../../src/config/config.js';
import { UsageError } from '../../src/errors.js';
import { readTemplates, writeScaffold } from '../../src/scaffold/files.js';
import { commonBase, renderScaffold, resolveParent, roleOf, scaffoldPaths, validateServiceName } from '../../src/scaffold/scaffold.js';
import { fixturePath, loadCheckout, REPO_ROOT, tempDir, test } from '../helpers.js';

function exampleCopy(): string {
  const root = tempDir('dockmk-scaffold-');
  for (const path of ['docker', 'playbooks', '.dockerignore']) cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true, verbatimSymlinks: true });
  return root;
}

async function dockmk(root: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => ((stdout += text), true) },
    stderr: { write: (text: string) => ((stderr += text), true) },
    env: { HOME: '/nonexistent' },
    cwd: root,
    signal: new AbortController().signal,
    now: () => 0,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

test('service names: lowercase letters, digits, single - or _, starting with a letter', () => {
  for (const name of ['demo', 'my-app', 'app2', 'my_app', 'a1-b2_c3']) validateServiceName(name);
  for (const name of ['', 'Bad', '1app', '-x', '_x', 'my--app', 'my__app', 'my-_app', 'app-', 'app_', 'a/b', 'a.b', 'a b', 'ünï']) {
    assert.throws(() => validateServiceName(name), (error: unknown) => error instanceof UsageError, name);
  }
});

test('the role is the service name with _ for -, as in the examples (hello-app → hello_app)', () => {
  assert.is(roleOf('hello-app'), 'hello_app');
  assert.is(roleOf('python-app-common'), 'python_app_common');
  assert.is(roleOf('memcached'), 'memcached');
  assert.equal(scaffoldPaths('my-app', DEFAULT_PATHS), [
    'docker/build/my-app/Dockerfile',
    'docker/build/my-app/ansible_overrides.yml',
    'docker/plays/my-app.yml',
    'playbooks/roles/my_app/tasks/main.yml',
    'playbooks/roles/my_app/defaults/main.yml',
    'playbooks/roles/my_app/meta/main.yml',
  ]);
});

test('the default parent is the common base: bookworm-common here, xenial-common in the legacy fixture', async () => {
  assert.is(commonBase((await loadCheckout(REPO_ROOT)).checkout), 'bookworm-common');
  assert.is(commonBase((await loadCheckout(fixturePath('legacy-config'))).checkout), 'xenial-common');
});

test('--from: a service, <namespace>/<service>, or an allowed external image; anything else is refused', async () => {
  const { checkout, config } = await loadCheckout(REPO_ROOT);
  assert.equal(resolveParent('python-app-common', checkout, config), { kind: 'service', name: 'python-app-common' });
  assert.equal(resolveParent('edxops/nginx:latest', checkout, config), { kind: 'service', name: 'nginx' });
  assert.equal(resolveParent('debian:bookworm', checkout, config), { kind: 'image', image: 'debian:bookworm' });
  assert.throws(() => resolveParent('alpine:3', checkout, config), /neither a service of this checkout nor an allowed external base/);
  assert.throws(() => resolveParent('Not An Image', checkout, config), (error: unknown) => error instanceof UsageError);
});

test('rendering: an image parent gets the Ansible install RUN; a service parent builds on it', () => {
  const templates = readTemplates();
  const on = (parent: Parameters<typeof renderScaffold>[0]['parent']) =>
    renderScaffold({ service: 'my-app', parent, namespace: 'acme', paths: DEFAULT_PATHS, common: true }, templates)[0]?.text ?? '';
  const child = on({ kind: 'service', name: 'bookworm-common' });
  assert.match(child, /^ARG BASE_IMAGE_TAG=latest\nFROM acme\/bookworm-common:\$\{BASE_IMAGE_TAG\}$/m);
  assert.not.match(child, /apt-get/);
  const root = on({ kind: 'image', image: 'debian:bookworm' });
  assert.match(root, /^FROM debian:bookworm\nRUN export DEBIAN_FRONTEND=noninteractive/m);
  assert.match(root, /apt-get install -y --no-install-recommends ansible-core/);
  for (const text of [child, root]) {
    assert.match(text, /ansible-playbook my-app\.yml \\\n\s+-i '127\.0\.0\.1,' -c local/);
    assert.match(text, /--extra-vars=@\/ansible_overrides\.yml/);
    assert.not.match(text, /\{\{|\}\}/);
  }
  const files = renderScaffold({ service: 'my-app', parent: { kind: 'service', name: 'x-common' }, namespace: 'acme', paths: DEFAULT_PATHS, common: false }, templates);
  assert.is(files[2]?.text.includes('- common'), false, 'no common role, none in the play');
  assert.match(files[5]?.text ?? '', /dependencies: \[\]/);
  assert.match(files[3]?.text ?? '', /dest: "\{\{ my_app_message_file \}\}"/);
});

test('`dockmk new` writes files that pass `dockmk lint`, and refuses to overwrite any of them', async () => {
  const root = exampleCopy();
  const created = await dockmk(root, 'new', 'demo-one');
  assert.is(created.code, 0, created.stderr);
  for (const path of scaffoldPaths('demo-one', DEFAULT_PATHS)) assert.ok(existsSync(join(root, path)), path);
  const lint = await dockmk(root, 'lint');
  assert.is(lint.code, 0, lint.stdout + lint.stderr);
  assert.is(lint.stdout, '');

  // Again: one clear line, exit 2, nothing changed.
  const before = readFileSync(join(root, 'docker/build/demo-one/Dockerfile'), 'utf8');
  const again = await dockmk(root, 'new', 'demo-one', '--from', 'debian:bookworm');
  assert.is(again.code, 2);
  assert.is(again.stderr.trim().split('\n').length, 1);
  assert.match(again.stderr, /docker\/build\/demo-one\/Dockerfile already exists/);
  assert.is(readFileSync(join(root, 'docker/build/demo-one/Dockerfile'), 'utf8'), before);

  // A single existing file (here the role's meta) is enough: none of the others is written.
  mkdirSync(join(root, 'playbooks/roles/demo_two/meta'), { recursive: true });
  writeFileSync(join(root, 'playbooks/roles/demo_two/meta/main.yml'), '---\ndependencies: []\n');
  const clash = await dockmk(root, 'new', 'demo-two');
  assert.is(clash.code, 2);
  assert.match(clash.stderr, /playbooks\/roles\/demo_two\/meta\/main\.yml already exists: nothing was written/);
  for (const path of scaffoldPaths('demo-two', DEFAULT_PATHS).slice(0, 5)) assert.not.ok(existsSync(join(root, path)), path);

  // A bad name is refused before anything is read or written.
  const bad = await dockmk(root, 'new', 'Demo');
  assert.is(bad.code, 2);
  assert.not.ok(existsSync(join(root, 'docker/build/Demo')));
});

test('writeScaffold checks every path before writing the first', () => {
  const root = tempDir('dockmk-scaffold-write-');
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'b/two'), 'mine');
  assert.throws(() => writeScaffold(root, [{ path: 'a/one', text: '1' }, { path: 'b/two', text: '2' }]), /b\/two already exists/);
  assert.not.ok(existsSync(join(root, 'a/one')));
  assert.is(readFileSync(join(root, 'b/two'), 'utf8'), 'mine');
});

test.run();
