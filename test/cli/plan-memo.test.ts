// A dry run prints from the plan memo only what planning afresh would print: the same command
// on the same checkout is answered from it; a change to a role, the options, or a command that
// selects by a change list plans again. The memo's text is swapped for a marker to tell which.

import { cpSync, existsSync, lutimesSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { fixturePath, tempDir, test } from '../helpers.js';

const HOUR_AGO = Math.floor((Date.now() - 3600_000) / 1000);
const MARKER = 'printed from the memo\n';

/** The legacy fixture copied, every mtime an hour back (past the racy window). */
function checkout(): string {
  const root = tempDir('dockmk-memo-checkout-');
  cpSync(fixturePath('legacy-config'), root, { recursive: true, filter: (path) => !path.includes('/.dockmk') });
  backdate(root);
  return root;
}

function backdate(root: string, seconds = HOUR_AGO): void {
  // lutimes: the fixture's links (docker/plays/roles) dated themselves, not what they point at.
  for (const name of readdirSync(root, { recursive: true, encoding: 'utf8' })) lutimesSync(join(root, name), seconds, seconds);
  utimesSync(root, seconds, seconds);
}

async function dryRun(root: string, state: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return dockmk(root, state, '--dry-run', ...args);
}

/** dockmk test, with an engine that never answers: a real run plans, then stops at the ping. */
async function dockmk(root: string, state: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['test', '--root', root, ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: '/nonexistent', DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKMK_STATE_DIR: state, GITHUB_SHA: '0'.repeat(40) },
    cwd: root,
    signal: new AbortController().signal,
    now: () => 0,
  });
  return { code, stdout, stderr };
}

/** Every memo of `state` made to print MARKER; how many there are. */
function mark(state: string): number {
  const dir = join(state, 'cache', 'plans');
  const files = readdirSync(dir);
  for (const name of files) {
    const memo = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { value: unknown };
    memo.value = MARKER;
    writeFileSync(join(dir, name), JSON.stringify(memo));
  }
  return files.length;
}

test('the same dry run is answered from the memo; an edited role, other options or a change list plan again', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  const first = await dryRun(root, state, '--json');
  assert.is(first.code, 0, first.stderr);
  assert.ok(JSON.parse(first.stdout).steps.length > 10);
  assert.is(mark(state), 1, 'one memo kept');
  assert.equal(await dryRun(root, state, '--json'), { code: 0, stdout: MARKER, stderr: '' }, 'answered from the memo');

  // Other options: another key, planned afresh.
  const text = await dryRun(root, state);
  assert.ok(text.stdout !== MARKER && text.stdout.includes('build'), text.stdout.slice(0, 200));
  const devstack = await dryRun(root, state, '--json', '--devstack');
  assert.ok(devstack.stdout !== MARKER);
  assert.ok(devstack.stdout !== first.stdout, 'the devstack plan differs');

  // A change list selects by what git or a file says: never from the memo.
  writeFileSync(join(state, 'changes.txt'), 'README.md\n');
  assert.is.not((await dryRun(root, state, '--json', '--files', join(state, 'changes.txt'))).stdout, MARKER);

  // A role's tasks edited: planned afresh, as a run with no memo plans it, and the keys move.
  mark(state);
  const tasks = join(root, 'playbooks/roles/common/tasks/main.yml');
  writeFileSync(tasks, `${readFileSync(tasks, 'utf8')}\n- name: one more\n  debug: msg=more\n`);
  utimesSync(tasks, HOUR_AGO + 1, HOUR_AGO + 1);
  const edited = await dryRun(root, state, '--json');
  assert.is(edited.code, 0, edited.stderr);
  assert.is.not(edited.stdout, MARKER);
  assert.is(edited.stdout, (await dryRun(root, tempDir('dockmk-memo-fresh-'), '--json')).stdout, 'as planned with no memo');
  assert.is.not(edited.stdout, first.stdout, 'the input digests changed');
});

test('a run that warns keeps no memo, so that its warnings are said again', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  mkdirSync(join(root, 'docker/build/BadName'));
  writeFileSync(join(root, 'docker/build/BadName/Dockerfile'), 'FROM debian:bookworm\n');
  backdate(root);
  for (const run of ['first', 'second']) {
    const { code, stderr } = await dryRun(root, state, '--json');
    assert.is(code, 0);
    assert.match(stderr, /BadName\/Dockerfile: "BadName" is not a valid image name/, run);
  }
  assert.not.ok(existsSync(join(state, 'cache', 'plans')), 'no memo kept');
});

/** The one memo file of `state`. */
function onlyMemo(state: string): string {
  const dir = join(state, 'cache', 'plans');
  const [name, ...more] = readdirSync(dir);
  assert.ok(name !== undefined && more.length === 0, 'one memo kept');
  return join(dir, name);
}

function editMemo(file: string, edit: (memo: { value: { plan: { steps: unknown[] }; sources: Record<string, unknown> } }) => void): void {
  const memo = JSON.parse(readFileSync(file, 'utf8'));
  edit(memo);
  writeFileSync(file, JSON.stringify(memo));
}

const NO_ENGINE = /no Docker engine answers at unix:\/\/\/nonexistent\/docker.sock/;

test('a real run keeps its plan, runs it from the memo next time, and plans again after an edit', async () => {
  const root = checkout();
  const state = tempDir('dockmk-memo-state-');
  const first = await dockmk(root, state);
  assert.is(first.code, 1);
  assert.match(first.stderr, NO_ENGINE, 'planned, then stopped at the ping');
  const planned = JSON.parse((await dryRun(root, tempDir('dockmk-memo-fresh-'), '--json')).stdout) as { steps: { action: string }[] };
  const kept = onlyMemo(state);
  editMemo(kept, (memo) => {
    assert.is(memo.value.plan.steps.length, planned.steps.length, 'the plan kept whole');
    assert.is(Object.keys(memo.value.sources).length, planned.steps.filter((step) => step.action === 'build').length, 'the COPY sources of every build');
    // Nothing to do: a run that takes its plan from here needs no engine.
    memo.value.plan.steps = [];
  });
  const second = await dockmk(root, state);
  assert.equal([second.code, second.stderr], [0, ''], 'run from the memo');
  assert.match(second.stdout, /nothing to do/);

  // The dry run has a key of its own: it plans (and prints) the whole plan.
  assert.is((await dryRun(root, state, '--json')).stdout, JSON.stringify(planned, null, 2) + '\n');

  // A memo that holds no plan is no answer.
  editMemo(kept, (memo) => (memo.value = 'a dry run\'s text' as never));
  assert.match((await dockmk(root, state)).stderr, NO_ENGINE, 'planned afresh');

  editMemo(kept, (memo) => (memo.value.plan.steps = []));
  assert.is((await dockmk(root, state)).code, 0);
  const tasks = join(root, 'playbooks/roles/common/tasks/main.yml');
  writeFileSync(tasks, `${readFileSync(tasks, 'utf8')}\n- name: one more\n  debug: msg=more\n`);
  utimesSync(tasks, HOUR_AGO + 1, HOUR_AGO + 1);
  assert.match((await dockmk(root, state)).stderr, NO_ENGINE, 'an edited role: planned afresh');

  // Build args may be secrets: neither a real run nor a dry run keeps a plan that holds them.
  const withArgs = tempDir('dockmk-memo-state-');
  assert.match((await dockmk(root, withArgs, '--build-arg', 'TOKEN=s3cret')).stderr, NO_ENGINE);
  assert.is((await dryRun(root, withArgs, '--json', '--build-arg', 'TOKEN=s3cret')).code, 0);
  assert.not.ok(existsSync(join(withArgs, 'cache', 'plans')), 'no memo kept');
});

test.run();
