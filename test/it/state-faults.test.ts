// dockmk's own state on a disk that fails: a real full tmpfs, then the same tmpfs read-only,
// under DOCKMK_STATE_DIR (mounted as root). The digest cache, the history and the logs are
// worth a warning each, never the run: the build's result stands, the exit code is the
// build's, and history.jsonl keeps every byte it had (a line cut short by the full disk is cut
// off again). And a damaged history: status keeps the good lines and names the bad ones.

import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, docker, dockmk, imageId, ok, summaryOf, tempDir, test } from './helpers.js';

const SERVICE = `stf-${randomBytes(3).toString('hex')}`;
const TAG = `${SERVICE}:test`;
const made = new Set<string>();

function checkout(): string {
  const root = tempDir('dockmk-it-state-faults-');
  mkdirSync(join(root, 'docker/build', SERVICE), { recursive: true });
  writeFileSync(join(root, 'docker/build', SERVICE, 'Dockerfile'), 'FROM debian:bookworm\nADD . /checkout\nRUN cat /checkout/release.txt\n');
  writeFileSync(join(root, 'release.txt'), 'release 1\n');
  return root;
}

function sh(command: string, ...args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  assert.is(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr || result.error?.message} (this test mounts a tmpfs: it must run as root)`);
}

/** Writes zeros into `file` until the file system says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    assert.is((error as NodeJS.ErrnoException).code, 'ENOSPC', `filling ${file}`);
  } finally {
    closeSync(fd);
  }
}

function warnings(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
}

async function built(result: CliResult): Promise<void> {
  ok(result);
  const id = await imageId(TAG);
  assert.ok(id !== null, `${TAG} is there`);
  made.add(id as string);
}

test('a full disk, then a read-only one, under the state dir: warnings naming each file, the build stands, the history intact', async () => {
  const root = checkout();
  const mount = tempDir('dockmk-it-full-');
  sh('mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount);
  try {
    const stateDir = join(mount, 'state');
    const env = { DOCKMK_STATE_DIR: stateDir };
    const first = await dockmk(['test', SERVICE, '--root', root, '--json'], { env });
    await built(first);
    assert.equal(warnings(first), [], 'with room, no warning');
    const history = join(stateDir, 'history.jsonl');

    // Pad the history with a good record to 10 bytes short of a page: the next line needs a
    // page the full disk does not have, after its first 10 bytes went into this one.
    const line = readFileSync(history, 'utf8').trim();
    const size = statSync(history).size;
    const fixed = size + line.length + '"reason":"",'.length + 1; // the padded line and its newline, without the padding
    const pad = (((4086 - fixed) % 4096) + 4096) % 4096;
    appendFileSync(history, `${line.replace('{', `{"reason":"${'p'.repeat(pad)}",`)}\n`);
    assert.is(statSync(history).size % 4096, 4086, 'the history ends 10 bytes short of a page');
    fill(join(mount, 'filler'));
    const before = readFileSync(history);

    writeFileSync(join(root, 'release.txt'), 'release 2\n');
    const full = await dockmk(['test', SERVICE, '--root', root, '--json'], { env });
    await built(full);
    assert.equal(summaryOf(full).built, [SERVICE], 'the build ran and its result stands');
    const seen = warnings(full);
    const about = (file: string): string[] => seen.filter((warning) => warning.startsWith(`warning: ${file}: cannot write`));
    assert.is(about(join(stateDir, 'cache', 'digests.json')).length, 1, `one warning for the digest cache:\n${full.stderr}`);
    assert.is(about(history).length, 1, `one warning for the history:\n${full.stderr}`);
    assert.ok(seen.every((warning) => /\(ENOSPC: no space left on device\)/.test(warning)), `every warning says why:\n${full.stderr}`);
    assert.not.match(full.stderr, /internal error|\n\s+at /, 'no stack trace');
    assert.ok(readFileSync(history).equals(before), 'history.jsonl has the bytes it had: the cut-short line was cut off again');

    // The same disk read-only: an up-to-date run still records, and cannot.
    sh('mount', '-o', 'remount,ro', mount);
    const readOnly = await dockmk(['test', SERVICE, '--root', root, '--json'], { env });
    ok(readOnly);
    assert.equal(summaryOf(readOnly).upToDate, [SERVICE]);
    assert.is(warnings(readOnly).filter((warning) => warning.startsWith(`warning: ${history}: cannot write the build history (EROFS: read-only file system)`)).length, 1, readOnly.stderr);
    assert.ok(readFileSync(history).equals(before));

    // Room again: the run records as before, on a line of its own.
    sh('mount', '-o', 'remount,rw', mount);
    rmSync(join(mount, 'filler'));
    const again = await dockmk(['test', SERVICE, '--root', root, '--json'], { env });
    ok(again);
    assert.equal(warnings(again), []);
    const lines = readFileSync(history, 'utf8').trimEnd().split('\n');
    assert.is(lines.length, 3);
    assert.equal(lines.map((text) => (JSON.parse(text) as { status: string }).status), ['built', 'built', 'up-to-date']);
  } finally {
    spawnSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});

test('corrupt lines in history.jsonl: a warning with file:line each, status shows the last build from the good lines', async () => {
  const root = checkout();
  const stateDir = join(root, '.dockmk');
  const env = { DOCKMK_STATE_DIR: stateDir };
  await built(await dockmk(['test', SERVICE, '--root', root, '--json', '--force'], { env }));
  const history = join(stateDir, 'history.jsonl');
  const good = readFileSync(history, 'utf8');
  writeFileSync(history, `this is not json\n${good}{"v":1,"run":"x","service":`);

  const status = await dockmk(['status', SERVICE, '--root', root, '--json'], { env });
  ok(status);
  const [entry] = JSON.parse(status.stdout) as { service: string; state: string; last: { status: string; imageId: string | null } | null }[];
  assert.is(entry?.state, 'built');
  assert.is(entry?.last?.status, 'built', 'the last build, from the good line');
  assert.is(entry?.last?.imageId, await imageId(TAG));
  assert.equal(warnings(status), [
    `warning: ${history}:1: not JSON (a line cut short by a crash, or edited by hand); skipped, the other lines are kept`,
    `warning: ${history}:3: not JSON (a line cut short by a crash, or edited by hand); skipped, the other lines are kept`,
  ]);

  // The next run appends on a fresh line; the torn one stays where it is, skipped.
  ok(await dockmk(['test', SERVICE, '--root', root, '--json'], { env }));
  const lines = readFileSync(history, 'utf8').trimEnd().split('\n');
  assert.equal(lines.slice(0, 3), ['this is not json', good.trimEnd(), '{"v":1,"run":"x","service":'], 'the earlier lines as they were');
  assert.is((JSON.parse(lines[3] ?? '') as { status: string }).status, 'up-to-date', 'the new record on a line of its own');
  rmSync(root, { recursive: true, force: true });
});

test.after(async () => {
  for (const id of made) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
});

test.run();
