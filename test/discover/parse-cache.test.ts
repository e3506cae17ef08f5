// The parse cache gives what a fresh read and parse gives, whatever happened to the checkout
// between two runs, and parses again only what changed.

import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ansibleFiles, cachedFiles, readRoleGraph } from '../../src/cli/read.js';
import { loadCheckout, ownState } from '../../src/cli/session.js';
import { ansibleSetup } from '../../src/cli/selection.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { discoverAnsible, readLegacyConfig, type AnsibleFiles } from '../../src/discover/ansible.js';
import type { SourceFile } from '../../src/discover/checkout.js';
import { discoverCheckout } from '../../src/discover/checkout.js';
import { listContext } from '../../src/discover/context.js';
import { diskFiles } from '../../src/discover/files.js';
import { ParseCache } from '../../src/discover/parse-cache.js';
import { buildCheckout, type Checkout, type DockerfileMemo } from '../../src/model/checkout.js';
import { parseLegacyConfig } from '../../src/model/legacy-config.js';
import type { ParseMemo } from '../../src/model/memo.js';
import { mayIncludeRoles, type FileReferences } from '../../src/model/role-refs.js';
import { buildRoleGraph, type RoleGraph } from '../../src/model/roles.js';
import { fixturePath, tempDir, test } from '../helpers.js';

const HOUR = 3600_000;
const NOW = Date.now();

/** A copy of the legacy-shaped fixture whose files all changed an hour ago (none is racy). */
function checkout(): { root: string; state: string } {
  const root = tempDir('dockmk-parse-cache-');
  cpSync(fixturePath('legacy-config'), root, { recursive: true, verbatimSymlinks: true });
  age(root, NOW - HOUR);
  return { root, state: tempDir('dockmk-parse-cache-state-') };
}

function age(dir: string, when: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) age(path, when);
    utimesSync(path, when / 1000, when / 1000);
  }
}

/** Writes a file as an edit an hour ago would have left it (`minutes` later than the copy). */
function edit(root: string, path: string, text: string, minutes = 10): void {
  writeFileSync(join(root, path), text);
  touch(root, path, minutes);
}

function touch(root: string, path: string, minutes = 20): void {
  const when = (NOW - HOUR + minutes * 60_000) / 1000;
  utimesSync(join(root, path), when, when);
}

function configOf(root: string, state: string, buildArgs: readonly string[] = []): Config {
  return loadConfig({ root, buildArgs }, { HOME: '/nonexistent', DOCKMK_STATE_DIR: state }, root);
}

function modelOptions(config: Config) {
  return { namespace: config.namespace, fromNamespace: config.fromNamespace, registry: config.registry, buildArgs: config.buildArgs, playsDir: config.paths.plays };
}

/** What a run without any cache reads and parses. */
async function fresh(config: Config): Promise<{ checkout: Checkout; graph: RoleGraph; around: RoleGraph }> {
  const { dirs } = ansibleSetup(config);
  const raw = discoverAnsible(config.root, dirs);
  return {
    checkout: buildCheckout(await discoverCheckout(config), modelOptions(config)),
    graph: buildRoleGraph(raw),
    around: buildRoleGraph(raw, { around: ['rbenv', 'common'] }),
  };
}

/** A memo that counts what was parsed (told to it) in a run. */
function counting<T>(memo: ParseMemo<T>): ParseMemo<T> & { parsed: string[] } {
  const parsed: string[] = [];
  return { parsed, get: (path) => memo.get(path), set: (path, value) => (parsed.push(path), memo.set(path, value)) };
}

/** A run through the caches in `config.stateDir`, as the CLI makes it; what it parsed. */
async function cached(config: Config, files?: AnsibleFiles): Promise<{ checkout: Checkout; graph: RoleGraph; parsed: string[] }> {
  const { dirs } = ansibleSetup(config);
  const checkoutFiles = cachedFiles(config, 'checkout');
  const dockerfiles = counting(checkoutFiles.cache.memos<DockerfileMemo>());
  const model = buildCheckout(await discoverCheckout(config, checkoutFiles), { ...modelOptions(config), memo: dockerfiles });
  assert.is(checkoutFiles.cache.save(), null);
  const ansible = files ?? ansibleFiles(config);
  const raw = discoverAnsible(ansible, dirs, { keepTasks: mayIncludeRoles });
  const roles = counting(ansible.roles.cache.memos<FileReferences>());
  const plays = ansible.plays.cache.memos<FileReferences>();
  const graph = buildRoleGraph(raw, { memo: { get: (path) => roles.get(path) ?? plays.get(path), set: (path, value) => (roles.set(path, value), plays.set(path, value)) } });
  assert.is(ansible.roles.cache.save(), null);
  assert.is(ansible.plays.cache.save(), null);
  return { checkout: model, graph, parsed: [...dockerfiles.parsed, ...roles.parsed].sort() };
}

async function sameAsFresh(config: Config, label: string, files?: AnsibleFiles): Promise<string[]> {
  const expected = await fresh(config);
  const actual = await cached(config, files);
  assert.equal(actual.checkout, expected.checkout, `${label}: the checkout`);
  assert.equal(actual.graph, expected.graph, `${label}: the role graph`);
  const around = readRoleGraph(ansibleFiles(config), ansibleSetup(config).dirs, { around: ['rbenv', 'common'] }).graph;
  assert.equal(around, expected.around, `${label}: the role graph around two roles`);
  return actual.parsed;
}

test('a second run parses nothing, and gives what a fresh parse gives', async () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  const first = await sameAsFresh(config, 'cold');
  assert.ok(first.length > 100, 'the first run parses every Dockerfile and role file');
  assert.equal(await sameAsFresh(config, 'warm'), []);
});

test('an edited file is read and parsed again, and only it', async () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  await sameAsFresh(config, 'cold');
  const meta = 'playbooks/roles/common/meta/main.yml';
  edit(root, meta, `${readFileSync(join(root, meta), 'utf8')}  - role: rbenv\n`);
  const dockerfile = 'docker/build/forum/Dockerfile';
  edit(root, dockerfile, readFileSync(join(root, dockerfile), 'utf8').replace(/^FROM .*$/m, 'FROM edxops/xenial-common:latest'));
  assert.equal(await sameAsFresh(config, 'after the edits'), [dockerfile, meta].sort());
  // The same size, a later mtime: read again too.
  edit(root, meta, readFileSync(join(root, meta), 'utf8').replace('rbenv', 'nginx'), 30);
  assert.equal(await sameAsFresh(config, 'after an edit of the same size'), [meta]);
});

test('a file touched without a change is read again, with the same result', async () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  await sameAsFresh(config, 'cold');
  touch(root, 'playbooks/roles/common/meta/main.yml');
  touch(root, 'docker/build/forum/Dockerfile');
  assert.equal(await sameAsFresh(config, 'after touch'), ['docker/build/forum/Dockerfile', 'playbooks/roles/common/meta/main.yml']);
});

test('renamed, added and deleted roles and services are seen', async () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  await sameAsFresh(config, 'cold');
  renameSync(join(root, 'playbooks/roles/edx_django_service'), join(root, 'playbooks/roles/edx_django_service2'));
  renameSync(join(root, 'docker/build/forum'), join(root, 'docker/build/forum2'));
  rmSync(join(root, 'playbooks/roles/common/meta'), { recursive: true });
  cpSync(join(root, 'playbooks/roles/nginx'), join(root, 'playbooks/roles/nginx_copy'), { recursive: true });
  age(join(root, 'playbooks/roles/nginx_copy'), NOW - HOUR / 2);
  // A new file in a listed directory, whose mtime then goes back to a time long past (only its
  // difference from the cached one tells that the directory changed).
  edit(root, 'playbooks/roles/rbenv/tasks/extra.yml', '- include_role:\n    name: nginx\n');
  touch(root, 'playbooks/roles/rbenv/tasks', 40);
  const parsed = await sameAsFresh(config, 'after renames');
  assert.ok(parsed.includes('playbooks/roles/rbenv/tasks/extra.yml'), parsed.join(', '));
  // A renamed file keeps its inode but not its path: parsed again under its new name.
  assert.ok(parsed.includes('docker/build/forum2/Dockerfile'), parsed.join(', '));
  assert.ok(parsed.includes('playbooks/roles/edx_django_service2/tasks/main.yml'), parsed.join(', '));
  assert.ok(parsed.includes('playbooks/roles/nginx_copy/meta/main.yml'), parsed.join(', '));
  assert.not.ok(parsed.includes('docker/build/analytics_api/Dockerfile'));
});

test('a truncated, damaged or foreign cache is ignored without an error', async () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  const all = await sameAsFresh(config, 'cold');
  const file = (part: string): string => join(state, 'cache', `parse-${part}.json`);
  for (const part of ['checkout', 'roles']) truncateSync(file(part), Math.floor(readFileSync(file(part)).length / 2));
  writeFileSync(file('plays'), readFileSync(file('plays'), 'utf8').replace(/^\{"v":"[^"]*"/, '{"v":"0:another-build"'));
  assert.equal(await sameAsFresh(config, 'after damage'), all, 'everything is parsed again');
  assert.equal(await sameAsFresh(config, 'after the rewrite'), [], 'and the cache is whole again');
  writeFileSync(file('roles'), '{"v":');
  writeFileSync(file('checkout'), 'null');
  writeFileSync(file('plays'), '[]');
  assert.equal(await sameAsFresh(config, 'after garbage'), all);
  // The right build and checkout, records not in the form it writes (an object, as format 1 had; a record cut short).
  const whole = JSON.parse(readFileSync(file('checkout'), 'utf8')) as { files: unknown[][]; dirs: unknown[][] };
  writeFileSync(file('checkout'), JSON.stringify({ ...whole, files: Object.fromEntries(whole.files.map((record) => [record[0], record.slice(1)])) }));
  writeFileSync(file('roles'), JSON.stringify({ ...(JSON.parse(readFileSync(file('roles'), 'utf8')) as object), dirs: [['playbooks/roles', 1]] }));
  // The plays' cache was left whole: only the services and the roles are parsed again.
  const play = (path: string): boolean => path.startsWith('docker/plays/') || (path.startsWith('playbooks/') && !path.startsWith('playbooks/roles/'));
  assert.equal(await sameAsFresh(config, 'after records of another form'), all.filter((path) => !play(path)));
});

test('the stats of a context listing serve instead of a walk of their own, with the same results', async () => {
  const { root, state } = checkout();
  rmSync(join(root, '.dockerignore'), { force: true });
  const config = configOf(root, state);
  const listed = async () => ansibleFiles(config, await listContext(root, ownState(config)));
  await sameAsFresh(config, 'cold, listed', await listed());
  assert.equal(await sameAsFresh(config, 'warm, from the disk'), []);
  edit(root, 'playbooks/roles/common/meta/main.yml', '---\ndependencies: [nginx]\n');
  assert.equal(await sameAsFresh(config, 'warm, listed', await listed()), ['playbooks/roles/common/meta/main.yml']);
});

test('a Dockerfile is parsed again when a --build-arg it declares changes', async () => {
  const { root, state } = checkout();
  await sameAsFresh(configOf(root, state), 'cold');
  const withArg = configOf(root, state, ['BASE_IMAGE_TAG=zebra', 'UNDECLARED_ANYWHERE=x']);
  const parsed = await sameAsFresh(withArg, 'with a build arg');
  const declaring = readdirSync(join(root, 'docker/build'))
    .map((name) => `docker/build/${name}/Dockerfile`)
    .filter((path) => existsSync(join(root, path)) && /^ARG BASE_IMAGE_TAG/m.test(readFileSync(join(root, path), 'utf8')))
    .sort();
  assert.ok(declaring.length > 0);
  assert.equal(parsed, declaring);
  assert.equal(await sameAsFresh(withArg, 'again with it'), []);
});

test('a file changed within the racy window is not kept: the next run reads it again', () => {
  const { root, state } = checkout();
  const path = 'playbooks/roles/common/meta/main.yml';
  touch(root, path, 1);
  const { size, mtimeMs, ino } = statSync(join(root, path));
  const key = { size, mtimeMs, ino };
  const run = (now: number): boolean => {
    const files = diskFiles(root, new ParseCache(join(state, 'racy.json'), root, now));
    const hit = files.cache.lookup(path, key) !== null;
    assert.is(files.read(path)?.text, readFileSync(join(root, path), 'utf8'));
    assert.is(files.cache.save(), null);
    return hit;
  };
  assert.is(run(mtimeMs + 500), false, 'nothing cached yet');
  assert.is(run(mtimeMs + 1000), false, 'changed half a second before the first run: not kept');
  assert.is(run(mtimeMs + 5000), false, 'kept only now');
  assert.is(run(mtimeMs + 6000), true);
});

test('saved twice in a run: the second write holds what was remembered since, and nothing new is no write', () => {
  const { root, state } = checkout();
  const path = 'playbooks/roles/common/meta/main.yml';
  touch(root, path, 1);
  const file = join(state, 'twice.json');
  const { mtimeMs } = statSync(join(root, path));
  const files = diskFiles(root, new ParseCache(file, root, mtimeMs + 5000));
  files.read(path);
  assert.is(files.cache.save(), null);
  const first = statSync(file).mtimeMs;
  assert.is(files.cache.save(), null);
  assert.is(statSync(file).mtimeMs, first, 'nothing new: not written again');
  files.cache.remember(path, 'parsed');
  assert.is(files.cache.save(), null);
  const again = new ParseCache(file, root, mtimeMs + 6000);
  assert.is(diskFiles(root, again).read(path)?.text, readFileSync(join(root, path), 'utf8'));
  assert.is(again.memo(path), 'parsed', 'the memo of the second save is there');
});

test('the legacy util/parsefiles_config.yml is parsed again only when it changed', () => {
  const { root, state } = checkout();
  const config = configOf(root, state);
  const path = 'util/parsefiles_config.yml';
  const freshSetup = () => parseLegacyConfig(readLegacyConfig(root) as SourceFile);
  assert.equal(ansibleSetup(config).legacy, freshSetup(), 'cold');
  assert.ok(existsSync(join(state, 'cache', 'parse-legacy.json')));
  assert.equal(ansibleSetup(config).legacy, freshSetup(), 'warm');
  edit(root, path, `${readFileSync(join(root, path), 'utf8')}  - zz_new_image: 42\n`);
  const edited = ansibleSetup(config).legacy;
  assert.is(edited?.weights.zz_new_image, 42);
  assert.equal(edited, freshSetup(), 'after an edit');
});

test('a cache that cannot be written is a warning, and the run goes on', async () => {
  const { root, state } = checkout();
  writeFileSync(join(state, 'cache'), 'a file where the cache directory would go');
  let stderr = '';
  const config = configOf(root, state);
  const model = await loadCheckout(config, { stderr: { write: (text: string) => ((stderr += text), true) } });
  assert.equal(model, (await fresh(config)).checkout);
  assert.match(stderr, /^warning: .*parse-checkout\.json: cannot write the parse cache \(E[A-Z]+: [a-z ]+\); going on without it, .* — free space there, or set DOCKMK_STATE_DIR to a writable directory/);
  assert.is(stderr.trim().split('\n').length, 1);
  assert.equal(readdirSync(state), ['cache'], 'no temporary file is left behind');
});

test.run();
