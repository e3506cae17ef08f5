// Planning checks each ansible_overrides.yml once: a file an earlier run found valid is skipped
// while it is unchanged (the checkout's parse cache keeps the answer), and checked again, and
// refused when wrong, as soon as it changes.

import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { tempDir, tempTree, test } from '../helpers.js';

const HOUR_AGO = (Date.now() - 3600_000) / 1000;

function checkout(): string {
  const root = tempTree({
    'docker/build/app/Dockerfile': 'FROM debian:bookworm\nCOPY docker/build/app/ansible_overrides.yml /\n',
    'docker/build/app/ansible_overrides.yml': 'APP_PORT: 80\n',
    'docker/plays/app.yml': '- hosts: all\n  roles: []\n',
  });
  // Older than the racy window, so that the parse cache keeps them.
  for (const path of ['docker/build/app/Dockerfile', 'docker/build/app/ansible_overrides.yml', 'docker/plays/app.yml']) utimesSync(join(root, path), HOUR_AGO, HOUR_AGO);
  return root;
}

async function dryRun(root: string, state: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(['test', 'app', '--dry-run', '--json', '--root', root], {
    stdout: { write: () => undefined },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: '/nonexistent', DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKMK_STATE_DIR: state, GITHUB_SHA: '0'.repeat(40) },
    cwd: root,
    signal: new AbortController().signal,
    now: () => 0,
  });
  return { code, stderr };
}

/** What the checkout's parse cache keeps about the overrides file: true once a run found it valid. */
function kept(state: string): unknown {
  const cache = JSON.parse(readFileSync(join(state, 'cache', 'parse-checkout.json'), 'utf8')) as { files: unknown[][] };
  return cache.files.find((record) => record[0] === 'docker/build/app/ansible_overrides.yml')?.[5];
}

test('an overrides file made wrong after a run that found it valid is refused by the next run', async () => {
  const root = checkout();
  const state = tempDir('dockmk-overrides-state-');
  assert.equal(await dryRun(root, state), { code: 0, stderr: '' });
  assert.is(kept(state), true, 'the answer kept');
  assert.equal(await dryRun(root, state), { code: 0, stderr: '' });
  const file = join(root, 'docker/build/app/ansible_overrides.yml');
  // Same size, same mtime as before but one second on: only the text and the mtime differ.
  writeFileSync(file, '- 80: wrong\n');
  utimesSync(file, HOUR_AGO + 1, HOUR_AGO + 1);
  const refused = await dryRun(root, state);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /docker\/build\/app\/ansible_overrides\.yml:1: overrides must be a mapping/);
  assert.is.not(kept(state), true, 'no answer kept for the changed file');
  writeFileSync(file, 'APP_PORT: 81\n');
  utimesSync(file, HOUR_AGO + 2, HOUR_AGO + 2);
  assert.equal(await dryRun(root, state), { code: 0, stderr: '' }, 'valid again');
  assert.is(kept(state), true);
});

test.run();
