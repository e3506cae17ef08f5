import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { InterruptedError } from '../../src/errors.js';
import { LOCK_FILE, lockCheckout } from '../../src/execute/lock.js';
import { tempDir, test } from '../helpers.js';

const dir = () => tempDir('dockmk-lock-');

test('a second run waits for the first, says once who it waits for, and goes on when it is done', async () => {
  const state = dir();
  const said: string[] = [];
  const first = await lockCheckout(state, 'test', { signal: new AbortController().signal, say: (line) => said.push(line) });
  assert.equal(JSON.parse(readFileSync(join(state, LOCK_FILE), 'utf8')).pid, process.pid);
  let second = false;
  const waiting = lockCheckout(state, 'push', { signal: new AbortController().signal, say: (line) => said.push(line), pollMs: 5 }).then((lock) => {
    second = true;
    return lock;
  });
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.is(second, false, 'the second run waits');
  assert.is(said.length, 1);
  assert.match(said[0] ?? '', new RegExp(`^dockmk: waiting for dockmk test \\(pid ${process.pid}, since .*\\) to finish on this checkout`));
  first.release();
  (await waiting).release();
  assert.is(second, true);
  assert.not.ok(existsSync(join(state, LOCK_FILE)), 'released');
});

test('a lock whose run died is taken over, and said so; an interrupt ends the wait', async () => {
  const state = dir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(state, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), command: 'test', startedAt: 'then' }));
  const said: string[] = [];
  const lock = await lockCheckout(state, 'test', { signal: new AbortController().signal, say: (line) => said.push(line) });
  assert.match(said[0] ?? '', new RegExp(`took over the run lock .* of pid ${dead.stdout} \\(dockmk test, since then\\), which is no longer running`));
  const abort = new AbortController();
  const waiting = lockCheckout(state, 'push', { signal: abort.signal, say: () => undefined, pollMs: 5 });
  abort.abort();
  await waiting.then(
    () => assert.unreachable('an interrupt ends the wait'),
    (error: unknown) => assert.instance(error, InterruptedError),
  );
  lock.release();
});

test('a state directory that cannot hold a lock is a warning, and the run goes on', async () => {
  if (process.getuid?.() === 0) {
    // root writes anywhere: a file where the directory should be stands in for a read-only one
    const parent = dir();
    writeFileSync(join(parent, 'state'), 'not a directory');
    const said: string[] = [];
    const lock = await lockCheckout(join(parent, 'state'), 'test', { signal: new AbortController().signal, say: (line) => said.push(line) });
    lock.release();
    assert.match(said[0] ?? '', /^warning: .*run\.lock: cannot hold the run lock \((ENOTDIR|EEXIST): [a-z ]+\); .* — free space there, or set DOCKMK_STATE_DIR/);
    return;
  }
  const state = dir();
  chmodSync(state, 0o500);
  const said: string[] = [];
  (await lockCheckout(state, 'test', { signal: new AbortController().signal, say: (line) => said.push(line) })).release();
  assert.match(said[0] ?? '', /cannot hold the run lock \(EACCES: permission denied\)/);
});

test.run();
