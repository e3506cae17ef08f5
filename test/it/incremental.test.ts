// Issue 5 on the real engine: no-op runs, exact rebuilds, keep-going, status, interrupts.

import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../helpers.js';
import { cleanEnv, copyOfCheckout, docker, dockmk, imageId, ok, processesWith, summaryOf, test } from './helpers.js';

const ALL = ['bookworm-common', 'memcached', 'nginx', 'python-app-common', 'hello-app'];
const sorted = (names: readonly string[]) => [...names].sort();

test('a second docker:test right after a first builds nothing: every service is up to date', async () => {
  ok(await dockmk(['test']));
  const again = await dockmk(['test', '--json']);
  ok(again);
  const summary = summaryOf(again);
  assert.equal(summary.built, []);
  assert.equal(sorted(summary.upToDate), sorted(ALL));
});

test('touching one role rebuilds exactly the services whose plays use it (and, in test mode, their children)', async () => {
  const root = copyOfCheckout();
  const env = { DOCKMK_STATE_DIR: join(root, '.dockmk') };
  ok(await dockmk(['test', '--root', root], { env }));
  appendFileSync(join(root, 'playbooks/roles/nginx/defaults/main.yml'), '\n# touched by the test\n');
  const nginx = summaryOf(await dockmk(['test', '--root', root, '--json'], { env }));
  assert.equal(nginx.built, ['nginx']);
  appendFileSync(join(root, 'playbooks/roles/python_app/defaults/main.yml'), '\n# touched by the test\n');
  const pythonApp = summaryOf(await dockmk(['test', '--root', root, '--json'], { env }));
  assert.equal(sorted(pythonApp.built), ['hello-app', 'python-app-common']);
  appendFileSync(join(root, 'docker/build/python-app-common/ansible_overrides.yml'), '\n# touched by the test\n');
  const child = summaryOf(await dockmk(['test', 'hello-app', '--root', root, '--json'], { env }));
  assert.equal(child.built, ['python-app-common', 'hello-app'], 'a rebuilt parent rebuilds its child in test mode');
  ok(await dockmk(['test', '--root', REPO_ROOT]));
});

test('docker:status after editing a play names that play as the changed input', async () => {
  const root = copyOfCheckout();
  const env = { DOCKMK_STATE_DIR: join(root, '.dockmk') };
  ok(await dockmk(['test', 'hello-app', '--root', root, '--force'], { env }));
  appendFileSync(join(root, 'docker/plays/hello-app.yml'), '\n# edited\n');
  const status = await dockmk(['status', '--root', root, '--json'], { env });
  ok(status);
  const entries = JSON.parse(status.stdout) as { service: string; state: string; changed: string[]; last: { status: string } | null }[];
  const hello = entries.find((entry) => entry.service === 'hello-app');
  assert.equal([hello?.state, hello?.changed], ['modified', ['play docker/plays/hello-app.yml']]);
  assert.is(hello?.last?.status, 'built');
  // Its parents were just built from this checkout and the edit is not theirs. (Other services'
  // state depends on what other tests left on the shared engine under the same tags.)
  const parents = entries.filter((entry) => ['bookworm-common', 'python-app-common'].includes(entry.service));
  assert.equal(parents.map((entry) => [entry.service, entry.state]), [['bookworm-common', 'built'], ['python-app-common', 'built']]);
  const text = await dockmk(['status', 'hello-app', '--root', root], { env });
  assert.match(text.stdout, /hello-app\s+modified\s.*play docker\/plays\/hello-app\.yml/);
  const logs = await dockmk(['logs', 'hello-app', '--root', root], { env });
  ok(logs);
  assert.match(logs.stdout, /^# hello-app: build \d+ of \d+, test hello-app:test/);
});

test('--keep-going builds every service not descending from the failure; summary and exit code say so', async () => {
  const root = copyOfCheckout();
  const env = { DOCKMK_STATE_DIR: join(root, '.dockmk') };
  appendFileSync(join(root, 'docker/build/python-app-common/Dockerfile'), '\nRUN echo "made to fail" && false\n');
  const result = await dockmk(['test', '--root', root, '--keep-going', '--json'], { env });
  assert.is(result.code, 1);
  const summary = summaryOf(result);
  assert.equal(summary.failed, ['python-app-common']);
  assert.equal(summary.skipped, ['hello-app']);
  assert.equal(sorted([...summary.built, ...summary.upToDate]), ['bookworm-common', 'memcached', 'nginx']);
  assert.match(result.stderr, /^dockmk: build python-app-common failed at docker\/build\/python-app-common\/Dockerfile:\d+ \(RUN echo "made to fail" && false\)/);

  const failFast = await dockmk(['test', '--root', root, '--json', '--jobs', '1'], { env });
  assert.is(failFast.code, 1);
  assert.ok(summaryOf(failFast).skipped.includes('hello-app'));
});

test('Ctrl-C during a build cancels it engine-side, moves no tag, records it, and exits 130', async () => {
  const root = copyOfCheckout();
  mkdirSync(join(root, 'docker/build/slow'));
  writeFileSync(join(root, 'docker/build/slow/Dockerfile'), 'FROM edxops/bookworm-common:latest\nRUN echo "slow build started" && sleep 120\n');
  const stateDir = join(root, '.dockmk');
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/dockmk.js'), 'test', 'slow', '--root', root, '--progress', 'json'], {
    env: cleanEnv({ DOCKMK_STATE_DIR: stateDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for await (const line of createInterface({ input: child.stdout })) {
    // The RUN's own output (BuildKit prefixes it with its step: "#7 slow build started"), not
    // the "Step 2/2 : RUN echo …" header that quotes it: the build's step is running by then.
    if (/"line":"(#\d+ )?slow build started"/.test(line)) {
      child.kill('SIGINT');
      break;
    }
  }
  assert.is(await exited, 130, stderr);
  assert.match(stderr, /interrupted/);
  assert.is(await imageId('slow:test'), null, 'no tag for the interrupted build');
  const history = readFileSync(join(stateDir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { service: string; status: string });
  assert.equal(history.filter((record) => record.service === 'slow').map((record) => record.status), ['interrupted']);
  // Other builds may share this engine: look for this build's container only.
  const left = (await docker.listContainers({ all: true })).filter((container) => container.Command.includes('slow build started'));
  assert.equal(left.map((container) => `${container.Id.slice(0, 12)} ${container.State}`), [], 'the engine stopped and removed the build container');
  assert.equal(processesWith('slow build started'), [], 'and no process of the step is left (BuildKit runs steps as processes)');
});

test.run();
