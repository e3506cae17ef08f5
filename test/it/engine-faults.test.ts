// The engine's bad days, for real: its socket opened by a user who may not (uid 65534), a
// registry's port given as the engine's address, the real engine behind a proxy that makes it
// answer as Docker 1.12 (API 1.24) or answer garbage, and a dockerd killed with -9 while a RUN
// step runs. Each is one line, exit 1, and nothing half done. (Services that do not speak HTTP
// at all are met in test/execute/engine-faults.test.ts.)

import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { docker, dockmk, processesWith, test, testRegistry } from './helpers.js';
import { startEngineProxy } from './engine-proxy.js';
import { loadBaseImage, startSecondEngine } from './second-engine.js';

const NOBODY = 65534;

/** A directory `nobody` may write: its state and HOME. */
function nobodysDir(): string {
  const dir = tempDir('dockmk-it-nobody-');
  chownSync(dir, NOBODY, NOBODY);
  return dir;
}

test('the engine socket of another group, as a user outside it: one line naming the socket, its owner and the fix', async () => {
  const home = nobodysDir();
  try {
    const run = await dockmk(['test', 'hello-app', '--root', REPO_ROOT], { uid: NOBODY, gid: NOBODY, env: { HOME: home, DOCKER_CONFIG: join(home, '.docker'), DOCKMK_STATE_DIR: join(home, 'state') } });
    assert.is(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.is(lines.length, 1, `one line:\n${run.stderr}`);
    assert.match(lines[0] ?? '', /^dockmk: permission denied on the engine socket \/var\/run\/docker\.sock \(owned by root:\w+, mode 660\): the user running dockmk \(uid 65534\) may not use it — add the user to the group that owns it \(sudo usermod -aG docker "\$USER", then log in again\), run dockmk as root/);
    assert.not.match(run.stderr, /internal error|\n\s+at /);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a registry's address given as the engine's: it answers, but not as an engine; nothing built", async () => {
  const registry = testRegistry();
  const state = tempDir('dockmk-it-notengine-');
  try {
    const run = await dockmk(['test', 'hello-app', '--root', REPO_ROOT], { env: { DOCKER_HOST: `tcp://${registry.address}`, DOCKMK_STATE_DIR: state } });
    assert.is(run.code, 1, run.stderr);
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`^dockmk: tcp://${registry.address.replace(/\./g, '\\.')} answers, but not as a Docker engine: GET /_ping answered HTTP 404 \\("404 page not found"\\) — is that the address of another service \\(a registry, an SSH server\\)\\?`));
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('the real engine made to answer as Docker 1.12 (API 1.24): named by its version; nothing built', async () => {
  const proxy = await startEngineProxy([
    {
      match: (method, path) => method === 'GET' && path === '/_ping',
      // Docker 1.12 sent no API-Version header on the ping.
      rewrite: (headers, body) => {
        const { 'api-version': _api, ...rest } = headers;
        return { headers: rest, body };
      },
    },
    {
      match: (method, path) => method === 'GET' && path === '/version',
      rewrite: (headers, body) => ({ headers, body: JSON.stringify({ ...JSON.parse(body), Version: '1.12.6', ApiVersion: '1.24', MinAPIVersion: '1.12' }) }),
    },
  ]);
  const state = tempDir('dockmk-it-oldengine-');
  try {
    const run = await dockmk(['test', 'hello-app', '--root', REPO_ROOT], { env: { DOCKER_HOST: proxy.address, DOCKMK_STATE_DIR: state } });
    assert.is(run.code, 1, run.stderr);
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^dockmk: the engine at unix:\/\/.*engine\.sock \(Docker 1\.12\.6\) speaks Engine API 1\.24, and dockmk needs 1\.25 \(Docker 1\.13\) or later; nothing was built — upgrade the engine/);
    assert.equal(proxy.requests.filter((line) => !/^GET \/(_ping|version)$/.test(line)), [], 'nothing asked beyond what the engine is');
  } finally {
    await proxy.stop();
    rmSync(state, { recursive: true, force: true });
  }
});

test('the real engine answering garbage to an image inspect: one line naming the call and the answer, nothing built', async () => {
  const before = (await docker.listImages()).length;
  const proxy = await startEngineProxy([
    { match: (method, path) => method === 'GET' && /^\/images\/.+\/json$/.test(path), answer: { status: 200, contentType: 'application/json', body: '{"Id":"sha256:0123\u0000\u0001 garbled' } },
  ]);
  const state = tempDir('dockmk-it-garbage-');
  try {
    const run = await dockmk(['test', 'hello-app', '--root', REPO_ROOT, '--builder', 'classic'], { env: { DOCKER_HOST: proxy.address, DOCKMK_STATE_DIR: state } });
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /^dockmk: pull debian:bookworm failed: could not inspect debian:bookworm: the engine at unix:\/\/.*engine\.sock answered GET \/images\/debian:bookworm\/json with something that is not the Engine API's JSON \("\{"Id":"sha256:0123\?\? garbled"\) — is DOCKER_HOST \(or --engine\) the address of a Docker engine, and is it well\?/m, run.stderr);
    assert.not.match(run.stderr, /internal error|\n\s+at /, 'no stack trace');
    assert.not.ok(proxy.requests.some((line) => line.startsWith('POST /build') || /^POST \/v[\d.]+\/build/.test(line)), `nothing built: ${proxy.requests.join(', ')}`);
    assert.is((await docker.listImages()).length, before, 'no image made');
  } finally {
    await proxy.stop();
    rmSync(state, { recursive: true, force: true });
  }
});

test('dockerd killed with -9 while a RUN step runs: the break named with what to do; the history records the failure', async () => {
  const engine = await startSecondEngine('kl', 217);
  const root = tempDir('dockmk-it-killed-');
  const state = join(root, '.state');
  try {
    await loadBaseImage(engine);
    const dockerfile = join(root, 'docker', 'build', 'kld-slow', 'Dockerfile');
    mkdirSync(join(root, 'docker', 'build', 'kld-slow'), { recursive: true });
    mkdirSync(join(root, 'docker', 'plays'), { recursive: true });
    writeFileSync(dockerfile, 'FROM debian:bookworm\nRUN echo kld-started && sleep 297\n');
    let killed = false;
    const run = await dockmk(['test', 'kld-slow', '--root', root, '--progress', 'plain'], {
      env: { DOCKER_HOST: engine.address, DOCKMK_STATE_DIR: state },
      onLine: (line) => {
        if (!killed && /kld-started/.test(line) && !/echo/.test(line)) {
          killed = true;
          process.kill(engine.pid, 'SIGKILL');
        }
      },
    });
    assert.ok(killed, `the step ran and the engine was killed:\n${run.stdout}\n${run.stderr}`);
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /^dockmk: build kld-slow failed at docker\/build\/kld-slow\/Dockerfile:2 \(RUN echo kld-started && sleep 297\): the engine connection broke: .* — the engine stopped or restarted while it worked \(killed, out of memory\?\): check that it runs \(docker info, and its log\), start it again/, run.stderr);
    assert.not.match(run.stderr, /internal error|\n\s+at /, 'no stack trace');
    const history = readFileSync(join(state, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { service?: string; status?: string });
    const record = history.find((entry) => entry.service === 'kld-slow');
    assert.is(record?.status, 'failed', `history records the failed build: ${JSON.stringify(history)}`);
  } finally {
    // The step's process outlives a daemon killed with -9 (it is the engine's to stop, and the engine is gone).
    for (const found of [...processesWith('kld-started'), ...processesWith('sleep 297')]) process.kill(Number(found.split(' ')[0]), 'SIGKILL');
    await engine.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
