// Shared by the tests: `test` with a time limit, the environment of the processes they start,
// fixture paths, and the checkout a fixture models to.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as uvuTest, type Test as UvuTest } from 'uvu';
import { loadConfig, type Config, type ConfigOverrides } from '../src/config/config.js';
import { loadCheckout as loadSession } from '../src/cli/session.js';
import type { RawService } from '../src/discover/checkout.js';
import { buildCheckout, type Checkout } from '../src/model/checkout.js';
import type { PlanOptions } from '../src/plan/plan.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const madeDirs: string[] = [];

/**
 * A new directory under the system's temporary one, removed when the test process exits: a
 * contributor running the suite again and again would otherwise fill /tmp (8,825 of them had
 * piled up here). One that cannot be removed (still mounted, say) is left, without an error.
 */
export function tempDir(prefix = 'dockmk-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (madeDirs.length === 0) process.on('exit', removeTempDirs);
  madeDirs.push(dir);
  return dir;
}

function removeTempDirs(): void {
  if (process.env.DOCKMK_KEEP_TEST_DIRS === '1') return;
  for (const dir of madeDirs.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a mount inside it, or a file made unremovable: left for the machine to clear
    }
  }
}

/** A new directory under the system's temporary one holding `files` (path → text), made as written. */
export function tempTree(files: Readonly<Record<string, string>>, prefix = 'dockmk-tree-'): string {
  const root = tempDir(prefix);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** dockmk's state (its parse caches) for tests that run it on fixtures, so that nothing is written into them. */
export const STATE_DIR = tempDir('dockmk-test-state-');

export async function loadCheckout(root: string, flags: ConfigOverrides = {}): Promise<{ config: Config; checkout: Checkout }> {
  const config = loadConfig({ ...flags, root }, { HOME: '/nonexistent', DOCKMK_STATE_DIR: STATE_DIR }, root);
  return { config, checkout: await loadSession(config) };
}

import { planOptions } from '../src/cli/session.js';

/**
 * Input sources of a checkout whose files are not read: plans made with them carry input
 * digests and build keys (a push needs them) that depend on the Dockerfiles and options alone.
 */
export const NO_FILES = { files: new Map<string, string>(), layout: { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' } };

/** The CLI's plan options for a configuration, with NO_FILES as inputs. */
export function planOptionsFor(config: Config): PlanOptions {
  return { ...planOptions(config), inputs: { ...NO_FILES, layout: config.paths } };
}

export const PLAN_OPTIONS: PlanOptions = { namespace: 'edxops', registry: null, buildArgs: {}, noCache: false, pull: 'auto', inputs: NO_FILES };

/** A checkout made of in-memory Dockerfiles (and overrides), for pure tests. */
export function memoryCheckout(files: Record<string, string>, overrides: Record<string, string> = {}): Checkout {
  const services: RawService[] = Object.entries(files).map(([name, text]) => ({
    name,
    dockerfile: { path: `docker/build/${name}/Dockerfile`, text },
    overrides:
      overrides[name] === undefined ? null : { path: `docker/build/${name}/ansible_overrides.yml`, text: overrides[name] as string },
  }));
  return buildCheckout({ root: '/checkout', services, plays: [] }, { ...PLAN_OPTIONS, playsDir: 'docker/plays' });
}

// ------------------------------------------------------------------------------------------------
// Every test file takes `test` from here (or from test/it/helpers.ts), not from uvu: uvu has no
// timeout, so a hung await would hold the run (and CI) until something outside kills it. Each
// test and hook here fails on its own with a clear message once its time is up, and the run goes
// on with the next one.

export interface TestOptions {
  /** This test's limit, for one that is expected to take longer than its file's default. */
  readonly timeoutMs?: number;
}

type Body = (context: Record<string, unknown> & { __suite__: string; __test__: string }) => Promise<void> | void;

interface TimedHook {
  (hook: Body, options?: TestOptions): void;
  each(hook: Body, options?: TestOptions): void;
}

export interface TimedTest {
  (name: string, body: Body, options?: TestOptions): void;
  only(name: string, body: Body, options?: TestOptions): void;
  skip(name?: string, body?: Body): void;
  before: TimedHook;
  after: TimedHook;
  run(): void;
}

/** DOCKMK_TEST_TIMEOUT_FACTOR=3 gives every test three times its limit (a slow machine). */
const FACTOR = Number(process.env.DOCKMK_TEST_TIMEOUT_FACTOR ?? 1) > 0 ? Number(process.env.DOCKMK_TEST_TIMEOUT_FACTOR ?? 1) : 1;

let watchdog: NodeJS.Timeout | null = null;

/**
 * After a timeout the abandoned work may still hold a socket or a child process, which would
 * keep the process alive once uvu has printed its totals (uvu sets process.exitCode and
 * returns; it never exits). Once that has happened, exit.
 */
function exitWhenDone(): void {
  watchdog ??= setInterval(() => {
    if (process.exitCode === undefined) return;
    process.stderr.write('tests: done; work abandoned by a timed-out test was still running, so the process exits now\n');
    process.exit(process.exitCode);
  }, 500).unref();
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `watch`: the test is uvu's own, whose timeout may leave work running (not a stand-in that tests this helper). */
function limited(what: string, body: Body, limitMs: number, watch: boolean): Body {
  const ms = Math.round(limitMs * FACTOR);
  return (context) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (watch) exitWhenDone();
        reject(
          new Error(
            `${what} did not finish within ${duration(ms)} (a hung await?); it is failed so the run goes on. ` +
              'If it really needs longer, give it { timeoutMs } as third argument.',
          ),
        );
      }, ms);
    });
    return Promise.race([Promise.resolve().then(() => body(context)), expired]).finally(() => clearTimeout(timer));
  };
}

/** uvu's `test` with a time limit on every test and hook (`defaultMs` unless a test says otherwise). */
export function timedTest(defaultMs: number, base: UvuTest = uvuTest): TimedTest {
  const watch = base === uvuTest;
  const hook = (register: (hook: Body) => void, kind: string): ((hook: Body, options?: TestOptions) => void) =>
    (body, options = {}) => register(limited(`the ${kind} hook`, body, options.timeoutMs ?? defaultMs, watch));
  const timed = ((name: string, body: Body, options: TestOptions = {}) =>
    base(name, limited(`test "${name}"`, body, options.timeoutMs ?? defaultMs, watch))) as TimedTest;
  timed.only = (name, body, options = {}) => base.only(name, limited(`test "${name}"`, body, options.timeoutMs ?? defaultMs, watch));
  timed.skip = (name, body) => base.skip(name, body);
  timed.before = Object.assign(hook((h) => base.before(h), 'before'), { each: hook((h) => base.before.each(h), 'before.each') });
  timed.after = Object.assign(hook((h) => base.after(h), 'after'), { each: hook((h) => base.after.each(h), 'after.each') });
  timed.run = () => base.run();
  return timed;
}

/** Unit tests: pure code and small fixtures; the whole unit suite takes seconds. */
export const UNIT_TIMEOUT_MS = 30_000;

export const test = timedTest(UNIT_TIMEOUT_MS);

// ------------------------------------------------------------------------------------------------
// The environment of every dockmk process a test starts: an explicit allow-list, so a run
// behaves the same on a laptop and inside GitHub Actions. Nothing of the caller's GITHUB_*,
// DOCKER_USERNAME/PASSWORD, DOCKER_CONFIG, DOCKMK_*, CI or GIT_* reaches it unless the test
// sets it itself.

/**
 * Passed through: where programs are, home, temp dir, the engine the tests themselves talk to,
 * and DOCKMK_BUILDER, the suite's own knob for the builder its engine tests run on (README, Tests).
 */
export const PASSED_ENV: readonly string[] = ['PATH', 'HOME', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKMK_BUILDER'];

let noCredentials: string | null = null;

/** An empty $DOCKER_CONFIG: no credentials unless a test gives some. */
export function emptyDockerConfig(): string {
  noCredentials ??= tempDir('dockmk-test-no-credentials-');
  return noCredentials;
}

export function cleanEnv(extra: Readonly<Record<string, string>> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { LC_ALL: 'C.UTF-8', TZ: 'UTC', DOCKER_CONFIG: emptyDockerConfig() };
  for (const key of PASSED_ENV) {
    const value = from[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}
