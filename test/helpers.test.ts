import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as assert from 'uvu/assert';
import { cleanEnv, REPO_ROOT, test, timedTest } from './helpers.js';

type Handler = (context: Record<string, unknown>) => Promise<void> | void;

/** A stand-in for uvu's `test` that keeps what is registered, to call the wrapped bodies directly. */
function recorder(): { base: Parameters<typeof timedTest>[1]; tests: Map<string, Handler>; hooks: Handler[] } {
  const tests = new Map<string, Handler>();
  const hooks: Handler[] = [];
  const base = Object.assign((name: string, handler: Handler) => void tests.set(name, handler), {
    only: (name: string, handler: Handler) => void tests.set(name, handler),
    skip: () => undefined,
    before: Object.assign((handler: Handler) => void hooks.push(handler), { each: (handler: Handler) => void hooks.push(handler) }),
    after: Object.assign((handler: Handler) => void hooks.push(handler), { each: (handler: Handler) => void hooks.push(handler) }),
    run: () => undefined,
  });
  return { base: base as unknown as Parameters<typeof timedTest>[1], tests, hooks };
}

const context = { __suite__: '', __test__: '' };

test('a test past its limit fails with a message naming it; one within it passes', async () => {
  const { base, tests } = recorder();
  const timed = timedTest(50, base);
  timed('hangs', () => new Promise(() => undefined));
  timed('quick', async () => undefined);
  timed('slow but allowed', () => new Promise((resolve) => setTimeout(resolve, 80)), { timeoutMs: 1000 });
  const error = await Promise.resolve(tests.get('hangs')?.(context)).then(() => null, (caught: Error) => caught);
  assert.ok(error instanceof Error, 'the hung test rejects');
  assert.match(error.message, /^test "hangs" did not finish within 50 ms \(a hung await\?\)/);
  assert.match(error.message, /timeoutMs/);
  await tests.get('quick')?.(context);
  await tests.get('slow but allowed')?.(context);
});

test('a failure inside the limit is the test’s own error, not a timeout', async () => {
  const { base, tests } = recorder();
  timedTest(1000, base)('fails', () => {
    throw new Error('its own failure');
  });
  const error = await Promise.resolve(tests.get('fails')?.(context)).then(() => null, (caught: Error) => caught);
  assert.is(error?.message, 'its own failure');
});

test('hooks have a limit too', async () => {
  const { base, hooks } = recorder();
  timedTest(30, base).after(() => new Promise(() => undefined));
  const error = await Promise.resolve(hooks[0]?.(context)).then(() => null, (caught: Error) => caught);
  assert.match(error?.message ?? '', /^the after hook did not finish within/);
});

test('a file with a hung test: that test fails, the others run, and the process exits even with a handle open', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'node_modules/uvu/bin.js'), 'test/fixtures/timeout', 'hangs\\.ts$', '--no-color'], {
    cwd: REPO_ROOT,
    env: cleanEnv({ HANG_TIMEOUT_MS: '300' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit)));
  assert.is(code, 1, output);
  assert.match(output, /test "hangs on an await that never settles" did not finish within 300 ms/);
  assert.match(output, /Total:\s+3/);
  assert.match(output, /Passed:\s+2/);
  assert.match(output, /work abandoned by a timed-out test was still running/);
});

test('cleanEnv passes the allow-list only: no CI, GitHub, credentials or DOCKMK_* settings but the suite\'s builder', () => {
  const outer = {
    PATH: '/usr/bin',
    HOME: '/home/ci',
    DOCKER_HOST: 'unix:///run/other.sock',
    CI: 'true',
    GITHUB_SHA: 'abc',
    GITHUB_REF: 'refs/heads/x',
    GITHUB_STEP_SUMMARY: '/tmp/summary',
    DOCKER_USERNAME: 'bot',
    DOCKER_PASSWORD: 'hunter2',
    DOCKER_CONFIG: '/home/ci/.docker',
    DOCKMK_NAMESPACE: 'elsewhere',
    DOCKMK_STATE_DIR: '/tmp/state',
    DOCKMK_BUILDER: 'classic',
    GIT_DIR: '/somewhere/.git',
  };
  const env = cleanEnv({ DOCKMK_STATE_DIR: '/tmp/mine' }, outer);
  assert.equal(Object.keys(env).sort(), ['DOCKER_CONFIG', 'DOCKER_HOST', 'DOCKMK_BUILDER', 'DOCKMK_STATE_DIR', 'HOME', 'LC_ALL', 'PATH', 'TZ']);
  assert.is(env.DOCKMK_STATE_DIR, '/tmp/mine', 'what the test sets itself');
  assert.ok(env.DOCKER_CONFIG !== outer.DOCKER_CONFIG, 'an empty credentials dir of its own');
});

test('every test file takes `test` from the helpers (with a time limit), none from uvu directly', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? (entry.name === 'fixtures' ? [] : files(join(dir, entry.name))) : entry.name.endsWith('.test.ts') ? [join(dir, entry.name)] : [],
    );
  const direct = files(join(REPO_ROOT, 'test')).filter((file) => /^import [^;]* from 'uvu';$/m.test(readFileSync(file, 'utf8')));
  assert.equal(direct.map((file) => relative(REPO_ROOT, file)), [], "import { test } from '../helpers.js' (or './helpers.js' in test/it/) instead");
});

test.run();
