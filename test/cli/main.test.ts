import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { fixturePath, tempDir, test } from '../helpers.js';

const LEGACY = fixturePath('legacy-config');
// The commit the OCI labels name, fixed so that golden plans do not change with each commit.
const REVISION = {
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'openedx/configuration',
  SOURCE_DATE_EPOCH: '1700000000',
};
// Caches go here, not into the fixture.
const STATE = tempDir('dockmk-cli-state-');

async function dockmk(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: '/nonexistent', DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKMK_STATE_DIR: STATE, ...REVISION },
    cwd: LEGACY,
    signal: new AbortController().signal,
    now: () => 0,
  });
  return { code, stdout, stderr };
}

/** Compares with a golden file; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, actual: string): void {
  const path = fixturePath(`golden/${name}`);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  assert.fixture(actual, readFileSync(path, 'utf8'), name);
}

test('list --json follows the contract, sorted by name', async () => {
  const { code, stdout, stderr } = await dockmk('list', '--json');
  assert.is(code, 0, stderr);
  const services = JSON.parse(stdout) as { name: string }[];
  assert.equal(services.map((s) => s.name), [...services.map((s) => s.name)].sort());
  assert.equal(services.find((s) => s.name === 'forum'), {
    name: 'forum',
    dockerfile: 'docker/build/forum/Dockerfile',
    overrides: 'docker/build/forum/ansible_overrides.yml',
    play: 'docker/plays/forum.yml',
    from: ['edxops/xenial-common:latest'],
    parents: ['xenial-common'],
  });
  golden('legacy-list.json', stdout);
});

test('--dry-run --json plans need no engine (the engine address here does not exist)', async () => {
  for (const [command, services] of [['test', ['zz-chain-leaf', 'forum']], ['pkg', ['forum']], ['build', ['forum']], ['push', ['xqueue']]] as const) {
    const { code, stdout, stderr } = await dockmk(command, ...services, '--dry-run', '--json');
    assert.is(code, 0, stderr);
    golden(`legacy-${command}-plan.json`, stdout);
  }
  const pushed = JSON.parse((await dockmk('push', 'xqueue', '--dry-run', '--json', '--registry', 'localhost:5000')).stdout) as { steps: { action: string; image?: string; from?: string }[] };
  assert.equal(pushed.steps.map((step) => step.action).slice(-3), ['tag', 'push', 'push']);
  const [key, latest] = pushed.steps.slice(-2);
  assert.match(key?.image ?? '', /^localhost:5000\/edxops\/xqueue:key-[0-9a-f]{16}$/);
  assert.equal([latest?.image, latest?.from], ['localhost:5000/edxops/xqueue:latest', key?.image]);
});

test('text dry run lists numbered steps', async () => {
  const { stdout } = await dockmk('test', 'forum', '--dry-run');
  assert.match(stdout, /^test: 3 steps \(dry run, nothing was run\)\n1\. pull ubuntu:xenial \(if missing\)\n2\. build xenial-common as xenial-common:test FROM ubuntu:xenial\n3\. build forum as forum:test FROM xenial-common:test\n$/);
});

test('bad input: one line on stderr, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['test', 'froum'], /^dockmk: unknown service "froum" — did you mean forum/],
    [['build', '../etc'], /^dockmk: "\.\.\/etc" is not a service name/],
    [['test', 'forum', '--root', '/nonexistent'], /^dockmk: docker\/build: no such directory in \/nonexistent — run dockmk from the root/],
    [['frobnicate'], /^dockmk: Unknown argument: frobnicate/],
    [['build', '--build-arg', '=x', '--dry-run'], /^dockmk: --build-arg "=x" does not start with a valid name/],
    [['list', '--registry', 'ghcr.io/org'], /^dockmk: registry "ghcr.io\/org" holds a path/],
  ];
  for (const [argv, message] of cases) {
    const { code, stdout, stderr } = await dockmk(...argv);
    assert.is(code, 2, argv.join(' '));
    assert.match(stderr, message);
    assert.is(stderr.trim().split('\n').length, 1, `one line for ${argv.join(' ')}: ${stderr}`);
    assert.is(stdout, '');
  }
});

test('no engine: says which address was tried and how to start one, exit 1', async () => {
  const { code, stderr } = await dockmk('test', 'forum');
  assert.is(code, 1);
  assert.match(stderr, /^dockmk: no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock \(.*ENOENT.*\) — start one \(as root: `npm run setup`\)/);
  assert.is(stderr.trim().split('\n').length, 1);
});

test('a bad --engine value: one line naming it, exit 2', async () => {
  const { code, stderr } = await dockmk('status', '--engine', 'ftp://x');
  assert.is(code, 2);
  assert.match(stderr, /^dockmk: engine address "ftp:\/\/x" has an unknown scheme ftp: — use unix:\/\/, tcp:\/\/ or ssh:\/\//);
  assert.is(stderr.trim().split('\n').length, 1);
});

test.run();
