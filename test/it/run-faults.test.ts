// Faults of a run on the real engine and a registry of the test's own: SIGTERM and a second
// Ctrl-C during a build and during a push, two runs at once on one checkout, a parent removed
// while the run goes on. Each: the exit code, the tags as before, nothing left running, history.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as assert from 'uvu/assert';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { cleanEnv, docker, dockerConfig, dockmk, eventually, imageId, ok, processesWith, summaryOf, test } from './helpers.js';
import { startRegistry, type OwnRegistry } from './registry.js';

const ID = `${process.pid}`;

/** A checkout of trivial services: `<name>` → Dockerfile text. */
function checkout(services: Record<string, string>): string {
  const root = tempDir('dockmk-it-runfault-');
  for (const [name, text] of Object.entries(services)) {
    mkdirSync(join(root, 'docker/build', name), { recursive: true });
    writeFileSync(join(root, 'docker/build', name, 'Dockerfile'), text);
  }
  return root;
}

interface Started {
  child: ChildProcess;
  /** Resolves with the first line of JSON progress that `match` accepts. */
  until(match: (line: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
  stderr(): string;
  stdout(): string;
}

function start(argv: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/dockmk.js'), ...argv], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  lines.on('line', (line) => {
    stdout += `${line}\n`;
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    until: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() => reject(new Error(`the run ended before the line awaited; stderr:\n${stderr}\nstdout tail:\n${stdout.slice(-2000)}`)));
      }),
  };
}

function history(stateDir: string): { service: string; status: string; reason?: string }[] {
  // Every line is whole JSON: a torn line would throw here.
  return readFileSync(join(stateDir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { service: string; status: string });
}

/** The engine removes a cancelled build's container; wait for it (up to 30 s), then say what is left. */
/** A build's output line that is `marker`, as the classic builder prints it or BuildKit ("#5 marker"). */
function said(marker: string): (line: string) => boolean {
  return (line) => line.includes(`"line":"${marker}"`) || new RegExp(`"line":"#\\d+ ${marker}"`).test(line);
}

async function containersOf(marker: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const left = (await docker.listContainers({ all: true })).filter((container) => container.Command.includes(marker)).map((c) => `${c.Id.slice(0, 12)} ${c.State}`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

for (const [how, signals, code] of [
  ['SIGTERM', ['SIGTERM'], 143],
  ['a second Ctrl-C', ['SIGINT', 'SIGINT'], 130],
] as const) {
  test(`${how} during a build: exit ${code}, the tag where it was, no container left, the build recorded interrupted`, async () => {
    const name = `sig-${how.startsWith('SIG') ? 'term' : 'int'}-${ID}`;
    const marker = `${name} build started`;
    const root = checkout({ [name]: `FROM debian:bookworm\nRUN echo "${marker}" && sleep 120\n` });
    const stateDir = join(root, '.dockmk');
    // The tag points at an earlier image before the run: it must still afterwards.
    await docker.getImage('debian:bookworm').tag({ repo: name, tag: 'test' });
    const before = await imageId(`${name}:test`);
    try {
      // A second Ctrl-C matters while the first waits for the engine: the classic builder waits
      // for the step's container to go; BuildKit's cancel is done before a second could come
      // (its Ctrl-C is in test/it/builders.test.ts).
      const builder = signals.length > 1 ? ['--builder', 'classic'] : [];
      const run = start(['test', name, '--root', root, '--progress', 'json', ...builder], { DOCKMK_STATE_DIR: stateDir });
      await run.until(said(marker));
      for (const signal of signals) {
        run.child.kill(signal);
        if (signals.length > 1) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.is(await run.exited, code, run.stderr());
      assert.is(await imageId(`${name}:test`), before, 'the tag points where it pointed before the run');
      assert.equal(await containersOf(marker), [], 'the engine stopped and removed the build container');
      // BuildKit runs the step as a process of the engine, not a container.
      assert.equal(await eventually(async () => {
        const left = processesWith(marker);
        if (left.length > 0) throw new Error(left.join('; '));
        return left;
      }, 30), [], 'no process of the step is left');
      const records = history(stateDir).filter((record) => record.service === name);
      assert.equal(records.map((record) => record.status), ['interrupted']);
      if (signals.length > 1) assert.match(run.stderr(), /quitting at once/);
    } finally {
      await docker.getImage(`${name}:test`).remove({ force: true }).catch(() => undefined);
    }
  });
}

let registry: OwnRegistry | null = null;
test.before(async () => {
  registry = await startRegistry();
});
test.after(async () => {
  await registry?.dispose();
});

for (const [how, signals, code] of [
  ['SIGTERM', ['SIGTERM'], 143],
  ['a second Ctrl-C', ['SIGINT', 'SIGINT'], 130],
] as const) {
  test(`${how} during a push: exit ${code}, latest not moved`, async () => {
    const own = registry as OwnRegistry;
    const name = `sigpush-${how.startsWith('SIG') ? 'term' : 'int'}-${ID}`;
    const ns = `runfaults${ID}`;
    // 64 MiB of noise: the upload takes long enough to be interrupted.
    const root = checkout({ [name]: 'FROM debian:bookworm\nRUN head -c 67108864 /dev/urandom > /noise\n' });
    const env = { DOCKMK_STATE_DIR: join(root, '.dockmk'), DOCKER_CONFIG: dockerConfig(own.address, own.username, own.password) };
    const args = ['push', name, '--root', root, '--registry', own.address, '--namespace', ns];
    // A first push puts latest in place; the second run, of other inputs, is interrupted mid-upload.
    ok(await dockmk([...args, '--json'], { env }));
    const latest = await own.digest(`${ns}/${name}`, 'latest');
    assert.ok(latest, 'latest is in the registry');
    writeFileSync(join(root, 'docker/build', name, 'Dockerfile'), 'FROM debian:bookworm\nRUN head -c 67108864 /dev/urandom > /noise2\n');
    const run = start([...args, '--progress', 'json'], env);
    await run.until((line) => line.includes('"event":"step-start"') && line.includes('"step":"push ') && line.includes(':key-'));
    for (const signal of signals) {
      run.child.kill(signal);
      if (signals.length > 1) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.is(await run.exited, code, run.stderr());
    assert.is(await own.digest(`${ns}/${name}`, 'latest'), latest, 'latest did not move');
    await docker.getImage(`${name}:latest`).remove({ force: true }).catch(() => undefined);
  });
}

test('two runs at once on one checkout: the second waits for the first, says for whom, and both records are whole', async () => {
  const name = `twice-${ID}`;
  const marker = `${name} started`;
  const root = checkout({ [name]: `FROM debian:bookworm\nRUN echo "${marker}" && sleep 3\n`, [`${name}-b`]: 'FROM debian:bookworm\nRUN true\n' });
  const stateDir = join(root, '.dockmk');
  try {
    const first = start(['test', name, '--root', root, '--progress', 'json'], { DOCKMK_STATE_DIR: stateDir });
    await first.until(said(marker));
    const second = await dockmk(['test', `${name}-b`, '--root', root, '--json'], { env: { DOCKMK_STATE_DIR: stateDir } });
    assert.is(await first.exited, 0, first.stderr());
    ok(second);
    assert.match(second.stderr, new RegExp(`^dockmk: waiting for dockmk test \\(pid ${first.child.pid}, since .*\\) to finish on this checkout`, 'm'));
    assert.equal(summaryOf(second).built, [`${name}-b`]);
    const ended = first.stdout().split('\n').filter((line) => line.includes('"event":"summary"'));
    assert.is(ended.length, 1);
    assert.equal(history(stateDir).map((record) => [record.service, record.status]), [[name, 'built'], [`${name}-b`, 'built']], 'the second run started after the first ended');
  } finally {
    for (const tag of [`${name}:test`, `${name}-b:test`]) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
});

test('a parent removed while the run goes on: its child fails naming it, not with "pull access denied"', async () => {
  const base = `rmparent-${ID}`;
  const marker = `${base} sibling started`;
  // aaa- builds first (--jobs 1, names sorted within a wave), long enough to remove the parent meanwhile.
  const root = checkout({
    [base]: 'FROM debian:bookworm\nRUN true\n',
    [`aaa-${base}`]: `FROM edxops/${base}\nRUN echo "${marker}" && sleep 4\n`,
    [`zzz-${base}`]: `FROM edxops/${base}\nRUN true\n`,
  });
  const env = { DOCKMK_STATE_DIR: join(root, '.dockmk') };
  try {
    ok(await dockmk(['test', base, '--root', root], { env }));
    const run = start(['test', `aaa-${base}`, `zzz-${base}`, '--root', root, '--jobs', '1', '--progress', 'json'], env);
    await run.until(said(marker));
    await docker.getImage(`${base}:test`).remove({ force: true, noprune: true });
    assert.is(await run.exited, 1, run.stderr());
    assert.match(
      run.stderr(),
      new RegExp(`^dockmk: build zzz-${base} failed: its parent ${base}:test, which this run found up to date, is no longer on the engine \\(removed by \`docker rmi\` or \`docker image prune\` while the run went on\\?\\) — run the command again: the parent is built again first`, 'm'),
      run.stderr(),
    );
    assert.not.match(run.stderr(), /pull access denied/);
  } finally {
    for (const tag of [`${base}:test`, `aaa-${base}:test`, `zzz-${base}:test`]) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
});

test.run();
