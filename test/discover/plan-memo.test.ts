// The plan memo answers only for the checkout it was kept for: any change the walk or a
// reader would see (a file edited, added, removed, renamed, made executable; a link
// re-pointed; a file behind .dockerignore the model read; a file that was missing and is now
// there) is a miss, and so is another key, a damaged memo, or a change too recent to trust.

import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listContext } from '../../src/discover/context.js';
import { statPath } from '../../src/discover/files.js';
import { PlanMemo, ReadLog } from '../../src/discover/plan-memo.js';
import { tempDir, tempTree, test } from '../helpers.js';

/** A whole second, long ago: an mtime that can be put back exactly. */
const SOME_TIME = 1_600_000_000;
/** A run that started after everything here was written, past the racy window. */
const LATER = Date.now() + 60_000;

/** Every file and directory under `root` (the root too) dated SOME_TIME. */
function backdate(root: string): void {
  for (const name of readdirSync(root, { recursive: true, encoding: 'utf8' })) utimesSync(join(root, name), SOME_TIME, SOME_TIME);
  utimesSync(root, SOME_TIME, SOME_TIME);
}

function checkout(): string {
  const root = tempTree({
    '.dockerignore': 'private\n',
    'docker/build/app/Dockerfile': 'FROM debian:bookworm\n',
    'roles/common/tasks/main.yml': '- debug: msg=hi\n',
    'roles/common/meta/main.yml': 'dependencies: []\n',
    'private/notes.yml': 'seen by a reader only\n',
    'README.md': 'readme\n',
  });
  symlinkSync('README.md', join(root, 'link'));
  // A link out of the checkout: the walk lists the link, a reader reads what it points at.
  const outside = tempTree({ 'vars.yml': 'a: 1\n' }, 'dockmk-memo-outside-');
  backdate(outside);
  symlinkSync(join(outside, 'vars.yml'), join(root, 'shared.yml'));
  backdate(root);
  return root;
}

/** What a run's readers saw: a file the walk covers, one behind .dockerignore, and missing ones. */
function readsOf(root: string): ReadLog {
  const log = new ReadLog();
  for (const path of ['docker/build/app/Dockerfile', 'shared.yml', 'private/notes.yml', 'docker/build/app/ansible_overrides.yml', 'util/parsefiles_config.yml', 'private/extra.yml']) {
    log.observe(path, statPath(join(root, path)));
  }
  return log;
}

async function keep(root: string, state: string, parts: unknown = 'parts'): Promise<PlanMemo> {
  const memo = new PlanMemo(state, parts, LATER);
  assert.is(memo.write(await listContext(root), readsOf(root), 'the plan'), null);
  return memo;
}

async function answer(root: string, state: string, parts: unknown = 'parts'): Promise<unknown> {
  return new PlanMemo(state, parts, LATER).read(await listContext(root));
}

test('the memo answers while nothing changed, and misses after any change a run could see', async () => {
  const changes: [string, (root: string) => void][] = [
    ['a file edited (same size, one second on)', (root) => (writeFileSync(join(root, 'README.md'), 'README\n'), utimesSync(join(root, 'README.md'), SOME_TIME + 1, SOME_TIME + 1))],
    ['a file replaced by another with the same size and mtime', (root) => {
      writeFileSync(join(root, 'new.md'), 'README\n');
      utimesSync(join(root, 'new.md'), SOME_TIME, SOME_TIME);
      renameSync(join(root, 'new.md'), join(root, 'README.md'));
      utimesSync(root, SOME_TIME, SOME_TIME);
    }],
    ['a file made executable', (root) => chmodSync(join(root, 'roles/common/tasks/main.yml'), 0o755)],
    ['a file added deep down, its directory dated back', (root) => {
      writeFileSync(join(root, 'roles/common/tasks/more.yml'), '- debug: msg=more\n');
      backdate(root);
    }],
    ['a file removed, its directory dated back', (root) => (rmSync(join(root, 'roles/common/meta/main.yml')), backdate(root))],
    ['a directory added', (root) => (mkdirSync(join(root, 'roles/other')), backdate(root))],
    ['a link pointed elsewhere', (root) => (rmSync(join(root, 'link')), symlinkSync('docker', join(root, 'link')), backdate(root))],
    ['a file out of the checkout that a reader read through a link, edited', (root) => {
      const target = readlinkSync(join(root, 'shared.yml'));
      writeFileSync(target, 'a: 2\n');
      utimesSync(target, SOME_TIME + 1, SOME_TIME + 1);
    }],
    ['a file behind .dockerignore that a reader read, edited', (root) => (writeFileSync(join(root, 'private/notes.yml'), 'changed\n'), backdate(root))],
    ['a file a reader found missing, made (in an ignored directory)', (root) => (writeFileSync(join(root, 'private/extra.yml'), 'x: 1\n'), backdate(root))],
    ['a file a reader found missing, made with its directory', (root) => (mkdirSync(join(root, 'util')), writeFileSync(join(root, 'util/parsefiles_config.yml'), 'a: 1\n'), backdate(root))],
    ['a file a reader found missing, made in a listed directory', (root) => (writeFileSync(join(root, 'docker/build/app/ansible_overrides.yml'), 'A: 1\n'), backdate(root))],
  ];
  for (const [name, change] of changes) {
    const root = checkout();
    const state = tempDir('dockmk-memo-state-');
    await keep(root, state);
    assert.is(await answer(root, state), 'the plan', `before: ${name}`);
    assert.is(await answer(root, state), 'the plan', `asked again: ${name}`);
    change(root);
    assert.is(await answer(root, state), null, name);
  }
});

test('another key has no answer; each key keeps its own; the oldest go beyond eight', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  await keep(root, state, { command: 'test' });
  assert.is(await answer(root, state, { command: 'build' }), null);
  await keep(root, state, { command: 'build' });
  assert.is(await answer(root, state, { command: 'test' }), 'the plan');
  assert.is(await answer(root, state, { command: 'build' }), 'the plan');
  // Maps and Sets count by their contents.
  await keep(root, state, new Map([['a', new Set([1])]]));
  assert.is(await answer(root, state, new Map([['a', new Set([2])]])), null);
  assert.is(await answer(root, state, new Map([['a', new Set([1])]])), 'the plan');
  const dir = join(state, 'cache', 'plans');
  for (let i = 0; i < 10; i++) {
    // Dated one second apart, so that which is oldest does not depend on the clock's resolution.
    const { file } = await keep(root, state, { i });
    utimesSync(file, SOME_TIME + i, SOME_TIME + i);
  }
  assert.is(readdirSync(dir).length, 8);
  assert.is(await answer(root, state, { i: 9 }), 'the plan');
  assert.is(await answer(root, state, { i: 0 }), null, 'the oldest removed');
});

test('a damaged, truncated or foreign memo is no answer and no error', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  const memo = await keep(root, state);
  const text = readFileSync(memo.file, 'utf8');
  for (const [name, damaged] of [
    ['truncated', text.slice(0, text.length / 2)],
    ['not JSON', 'hello'],
    ['null', 'null'],
    ['another format', text.replace('"format":1', '"format":0')],
    ['records not arrays', text.replace(/"observed":\[.*?\],"value"/, '"observed":[1],"value"')],
  ] as const) {
    writeFileSync(memo.file, damaged);
    assert.is(await answer(root, state), null, name);
  }
});

test('nothing is kept of a run that saw a change too recent to trust, or a file change while it read', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  const listing = await listContext(root);
  // The run began within the racy window of the files' mtime.
  assert.is(new PlanMemo(state, 'parts', SOME_TIME * 1000 + 500).write(listing, readsOf(root), 'the plan'), null);
  assert.is(await answer(root, state), null);
  // A reader saw a file twice, changed in between.
  const log = readsOf(root);
  log.observe('docker/build/app/Dockerfile', { kind: 'file', size: 1, mtimeMs: 1, ino: 1 });
  assert.ok(log.changedDuringRun);
  assert.is(new PlanMemo(state, 'parts', LATER).write(listing, log, 'the plan'), null);
  assert.is(await answer(root, state), null);
});

test.run();
