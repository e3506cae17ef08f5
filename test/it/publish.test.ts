// Issue 6 on the real engine and a real registry of this file's own (test/it/registry.ts, not
// the shared one on 127.0.0.1:5055): tag rules seen through the registry API, a wrong password,
// a credential helper, CI variables, the registry stopped mid-run (retries, latest unmoved), no
// secret in any output, the --manifest and GITHUB_STEP_SUMMARY reports, and OCI labels.
//
// A tiny checkout of its own (two services, one FROM the other, builds in seconds) in a temp dir,
// a git repository on `main` tagged v1.2.3. Builds are shared: the first push builds, the later
// ones find the images up to date and only push.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../helpers.js';
import { docker } from './helpers.js';
import { MANIFEST_V2, startRegistry, type OwnRegistry } from './registry.js';

// Names of this run only: the engine is shared with other tests and other sessions.
const ID = randomBytes(3).toString('hex');
const NS = `pubns${ID}`;
const BASE = `pubbase-${ID}`;
const APP = `pubapp-${ID}`;
const SERVICES = [BASE, APP] as const;

interface Run {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

interface Fixture {
  registry: OwnRegistry;
  /** the checkout */
  root: string;
  /** every temp dir of this file, removed at the end */
  tmp: string;
  stateDir: string;
  /** HEAD's full sha at the tagged commit */
  sha: string;
  /** $DOCKER_CONFIG with an `auths` entry holding the right password */
  authsConfig: string;
}

/** Every dockmk run of this file, for the secret scan. */
const runs: Run[] = [];
/** Report files written by runs (manifest, step summary), for the secret scan. */
const reportFiles: string[] = [];

let fixture: Promise<Fixture> | null = null;
/** Started by the first test that needs it; a failure fails every test that needs it, loudly. */
function setup(): Promise<Fixture> {
  fixture ??= makeFixture();
  return fixture;
}

async function makeFixture(): Promise<Fixture> {
  const tmp = mkdtempSync(join(tmpdir(), 'dockmk-it-publish-'));
  const registry = await startRegistry();
  registryLog = registry.log;
  const root = join(tmp, 'checkout');
  writeCheckout(root);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'dockmk publish test');
  git(root, 'config', 'user.email', 'publish-test@dockmk.invalid');
  git(root, 'config', 'commit.gpgsign', 'false');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'two services to publish');
  git(root, 'tag', 'v1.2.3');
  const sha = git(root, 'rev-parse', 'HEAD');
  const stateDir = join(tmp, 'state');
  mkdirSync(stateDir);
  const authsConfig = configDir(tmp, 'auths', { auths: { [registry.address]: { auth: registry.basicAuth } } });
  return { registry, root, tmp, stateDir, sha, authsConfig };
}

function writeCheckout(root: string): void {
  const files: Record<string, string> = {
    '.dockerignore': '.git\n',
    'release.txt': 'release 1\n',
    [`docker/build/${BASE}/Dockerfile`]: [
      'FROM debian:bookworm',
      'ADD . /edx/app/edx_ansible/edx_ansible',
      `RUN cp /edx/app/edx_ansible/edx_ansible/release.txt /etc/${BASE}-release`,
      '',
    ].join('\n'),
    [`docker/build/${BASE}/ansible_overrides.yml`]: '---\nPUBLISH_TEST: base\n',
    [`docker/build/${APP}/Dockerfile`]: [
      `FROM ${NS}/${BASE}:latest`,
      'ADD . /edx/app/edx_ansible/edx_ansible',
      `RUN cat /etc/${BASE}-release > /etc/${APP}-release`,
      '',
    ].join('\n'),
    [`docker/build/${APP}/ansible_overrides.yml`]: '---\nPUBLISH_TEST: app\n',
    [`docker/plays/${BASE}.yml`]: '- name: Deploy the base\n  hosts: all\n  gather_facts: false\n  roles:\n    - publish_test\n',
    [`docker/plays/${APP}.yml`]: '- name: Deploy the app\n  hosts: all\n  gather_facts: false\n  roles:\n    - publish_test\n',
    'playbooks/roles/publish_test/tasks/main.yml': '- name: Say hello\n  debug:\n    msg: "{{ PUBLISH_TEST | default(\'none\') }}"\n',
    'playbooks/roles/publish_test/defaults/main.yml': '---\nPUBLISH_TEST: none\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

function git(root: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout.trim();
}

/** A $DOCKER_CONFIG directory of this file's own holding `config` (null: no config.json at all). */
function configDir(tmp: string, name: string, config: object | null): string {
  const dir = join(tmp, `docker-config-${name}`);
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** The environment of a run: nothing from CI or the caller's credentials leaks in. */
function runEnv(f: Fixture, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(GITHUB_|DOCKMK_)/.test(key) || ['DOCKER_CONFIG', 'DOCKER_USERNAME', 'DOCKER_PASSWORD'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, DOCKMK_STATE_DIR: f.stateDir, ...extra };
}

/** `node bin/dockmk.js ...argv`; `onLine` sees each stdout line as it comes. */
function dockmk(argv: string[], env: Record<string, string>, onLine?: (line: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'dockmk.js'), ...argv], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      stdout += `${line}\n`;
      onLine?.(line);
    });
    const closed = new Promise<void>((done) => lines.once('close', () => done()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      void closed.then(() => {
        const run = { argv, code: code ?? (signal ? 128 : 1), stdout, stderr };
        runs.push(run);
        resolve(run);
      });
    });
  });
}

/** What a run did, for assertion messages: exit code, stderr, the tail of stdout (and the registry's errors). */
function seen(run: Run): string {
  const text = `\n  dockmk ${run.argv.join(' ')}\n  exit ${run.code}\n  stderr:\n${indent(run.stderr || '(empty)')}\n  stdout (tail):\n${indent(run.stdout.slice(-2500) || '(empty)')}`;
  if (run.code === 0 || registryLog === null) return text;
  // The registry's own errors, but not the 404s of HEAD /blobs/ every push asks first.
  const errors = registryLog().split('\n').filter((line) => /level=error/.test(line) && !/http\.request\.method=HEAD/.test(line));
  return `${text}\n  registry errors (last ${Math.min(errors.length, 6)} of ${errors.length}):\n${indent(errors.slice(-6).join('\n') || '(none)')}`;
}

/** The log of this file's registry, once it runs. */
let registryLog: (() => string) | null = null;

function indent(text: string): string {
  return text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n');
}

function ok(run: Run, what: string): void {
  assert.is(run.code, 0, `${what}: expected exit 0, saw ${run.code}${seen(run)}`);
}

type Event = Record<string, unknown> & { event?: string; step?: string; status?: string };

function eventsOf(run: Run): Event[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Event;
      } catch {
        return { event: 'not-json', line };
      }
    });
}

interface Summary extends Event {
  pushed: string[];
  notPushed?: string[];
  built: string[];
  failed: string[];
}

function summaryOf(run: Run): Summary {
  const last = eventsOf(run).at(-1);
  assert.is(last?.event, 'summary', `the last JSON line is the summary; saw ${JSON.stringify(last)}${seen(run)}`);
  return last as Summary;
}

function pushArgs(f: Fixture, ...more: string[]): string[] {
  return ['push', ...SERVICES, '--root', f.root, '--registry', f.registry.address, '--namespace', NS, '--tags', 'auto', '--json', ...more];
}

const TAGS_AT_RELEASE = (sha: string): string[] => [`sha-${sha.slice(0, 7)}`, '1.2.3', '1.2', '1', 'main', 'latest'];
const repo = (service: string): string => `${NS}/${service}`;
const ref = (f: Fixture, service: string, tag: string): string => `${f.registry.address}/${repo(service)}:${tag}`;
const refsAt = (f: Fixture, tags: readonly string[]): string[] => SERVICES.flatMap((service) => tags.map((tag) => ref(f, service, tag))).sort();
const sorted = (list: readonly string[]): string[] => [...list].sort();

async function imageExists(name: string): Promise<boolean> {
  return docker.getImage(name).inspect().then(() => true, () => false);
}

// ------------------------------------------------------------------------------------------------

test('a wrong password: refused at once, naming the registry; nothing built, nothing pushed', async () => {
  const f = await setup();
  const wrong = `wrong-${randomBytes(9).toString('base64url')}`;
  const config = configDir(f.tmp, 'wrong', { auths: { [f.registry.address]: { auth: Buffer.from(`${f.registry.username}:${wrong}`).toString('base64') } } });
  const run = await dockmk(pushArgs(f), runEnv(f, { DOCKER_CONFIG: config }));
  assert.ok(run.code !== 0, `expected a non-zero exit with a wrong password, saw 0${seen(run)}`);
  assert.ok(run.stderr.includes(f.registry.address), `expected stderr to name the registry ${f.registry.address}${seen(run)}`);
  assert.match(run.stderr, /refused the credentials/, `expected stderr to say the credentials were refused${seen(run)}`);
  assert.not.ok(run.stderr.includes(wrong) || run.stdout.includes(wrong), `expected the wrong password nowhere in the output${seen(run)}`);

  const builds = eventsOf(run).filter((event) => event.event === 'step-start' && String(event.step).startsWith('build '));
  assert.equal(builds.map((event) => event.step), [], `expected no build step to start${seen(run)}`);
  for (const service of SERVICES) {
    assert.not.ok(await imageExists(`${service}:latest`), `expected no local ${service}:latest (nothing built), but the engine has it`);
  }
  const ours = (await f.registry.catalog()).filter((name) => name.startsWith(`${NS}/`));
  assert.equal(ours, [], `expected no repository of ${NS} in the registry's catalog, saw ${JSON.stringify(ours)}`);
  for (const service of SERVICES) {
    assert.is(await f.registry.tags(repo(service)), null, `expected /v2/${repo(service)}/tags/list to be 404`);
  }
});

test('push --tags auto with config.json auths: every tag is in the registry, all on one digest', async () => {
  const f = await setup();
  const run = await dockmk(pushArgs(f), runEnv(f, { DOCKER_CONFIG: f.authsConfig }));
  ok(run, 'push with the right credentials in auths');
  const expectedTags = TAGS_AT_RELEASE(f.sha);
  const summary = summaryOf(run);
  assert.equal(sorted(summary.pushed ?? []), refsAt(f, expectedTags), `expected summary.pushed to be every ref of both services${seen(run)}`);
  // All or nothing: no latest push starts before every versioned push of every image is done.
  const events = eventsOf(run);
  const firstLatest = events.findIndex((event) => event.event === 'step-start' && /^push .*:latest$/.test(String(event.step)));
  const lastVersioned = events.findLastIndex((event) => event.event === 'step-end' && /^push /.test(String(event.step)) && !String(event.step).endsWith(':latest'));
  assert.ok(firstLatest > lastVersioned, `expected every latest push to start after the last versioned push ended (event ${lastVersioned}); the first started at event ${firstLatest}${seen(run)}`);
  for (const service of SERVICES) {
    const tags = await f.registry.tags(repo(service));
    const missing = expectedTags.filter((tag) => !(tags ?? []).includes(tag));
    assert.equal(missing, [], `expected the registry's tags of ${repo(service)} to hold ${expectedTags.join(', ')}; saw ${JSON.stringify(tags)}`);
    const digests = await Promise.all(expectedTags.map(async (tag) => [tag, await f.registry.digest(repo(service), tag)] as const));
    const distinct = new Set(digests.map(([, digest]) => digest));
    assert.is(distinct.size, 1, `expected every tag of ${repo(service)} on the same manifest digest; saw ${JSON.stringify(Object.fromEntries(digests))}`);
    assert.match(String([...distinct][0]), /^sha256:[0-9a-f]{64}$/);
  }
});

test('push --dry-run: sha, semver and latest refs on the tagged default branch; no latest on another branch', async () => {
  const f = await setup();
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  const pushRefs = (run: Run): string[] => {
    let plan: { steps?: { action?: string; image?: string; from?: string }[] };
    try {
      plan = JSON.parse(run.stdout) as typeof plan;
    } catch {
      throw new assert.Assertion({ message: `expected the plan as JSON on stdout${seen(run)}`, operator: 'ok', expects: 'JSON', actual: run.stdout.slice(0, 200), generated: false });
    }
    // The published refs: those written from the build's key ref (pushed first, under key-<hex>).
    return sorted((plan.steps ?? []).filter((step) => step.action === 'push' && step.from !== undefined).map((step) => String(step.image)));
  };
  const onMain = await dockmk(pushArgs(f, '--dry-run'), env);
  ok(onMain, 'push --dry-run on main at v1.2.3');
  assert.equal(pushRefs(onMain), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected sha, semver, branch and latest refs of both services in the plan${seen(onMain)}`);

  // A clone (origin/HEAD is main) on another branch, still at the tagged commit.
  const other = join(f.tmp, 'other-branch');
  git(f.tmp, 'clone', '-q', f.root, other);
  git(other, 'checkout', '-q', '-b', 'feature/Other-Branch');
  const args = pushArgs(f, '--dry-run').map((arg) => (arg === f.root ? other : arg));
  const onBranch = await dockmk(args, env);
  ok(onBranch, 'push --dry-run on feature/Other-Branch');
  const expected = refsAt(f, [`sha-${f.sha.slice(0, 7)}`, '1.2.3', '1.2', '1', 'feature-other-branch']);
  assert.equal(pushRefs(onBranch), expected, `expected no latest on another branch, the branch name normalized${seen(onBranch)}`);
});

test('labels: OCI revision, version, title, created and dockmk inputs on the pushed image', async () => {
  const f = await setup();
  for (const service of SERVICES) {
    // The image push built (pkg's tag); the registry's refs are written from it.
    const name = `${service}:latest`;
    const info = await docker.getImage(name).inspect().catch((error: Error) => error);
    if (info instanceof Error) throw new assert.Assertion({ message: `expected the local image ${name} (pushed by the test before): ${info.message}`, operator: 'ok', expects: name, actual: null, generated: false });
    const labels = info.Config.Labels ?? {};
    const show = `labels of ${name}: ${JSON.stringify(labels)}`;
    assert.is(labels['org.opencontainers.image.revision'], f.sha, `expected org.opencontainers.image.revision = ${f.sha}; ${show}`);
    assert.is(labels['org.opencontainers.image.version'], '1.2.3', `expected org.opencontainers.image.version = 1.2.3; ${show}`);
    assert.is(labels['org.opencontainers.image.title'], service, `expected org.opencontainers.image.title = ${service}; ${show}`);
    assert.match(
      labels['org.opencontainers.image.created'] ?? '',
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/,
      `expected org.opencontainers.image.created in ISO 8601; ${show}`,
    );
    assert.ok((labels['org.dockmk.inputs'] ?? '') !== '', `expected a non-empty org.dockmk.inputs; ${show}`);

    // The registry's copy carries the same labels: its manifest's config blob.
    const manifest = await f.registry.api('GET', `${repo(service)}/manifests/1.2.3`, MANIFEST_V2);
    assert.is(manifest.status, 200, `expected GET /v2/${repo(service)}/manifests/1.2.3 to answer 200; saw ${manifest.status} ${manifest.body}`);
    const configDigest = (JSON.parse(manifest.body) as { config: { digest: string } }).config.digest;
    const blob = await f.registry.api('GET', `${repo(service)}/blobs/${configDigest}`);
    const pushed = (JSON.parse(blob.body) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
    assert.equal(pushed, labels, `expected the pushed image config to carry the local image's labels; the registry has ${JSON.stringify(pushed)}; ${show}`);
  }
});

test('a credential helper from credHelpers is asked for the registry, on PATH', async () => {
  const f = await setup();
  const helper = `dockmkit${ID}`;
  const bin = join(f.tmp, 'helper-bin');
  const calls = join(f.tmp, 'helper-calls.txt');
  mkdirSync(bin);
  const script = join(bin, `docker-credential-${helper}`);
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      '# docker-credential-helpers protocol: the action as argument, the server URL on stdin.',
      '[ "$1" = get ] || exit 1',
      'server=$(cat)',
      `printf '%s\\n' "$server" >> '${calls}'`,
      `printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$server" '${f.registry.username}' '${f.registry.password}'`,
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  const config = configDir(f.tmp, 'helper', { credHelpers: { [f.registry.address]: helper } });
  const run = await dockmk(pushArgs(f), runEnv(f, { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}` }));
  ok(run, 'push with credentials from a credential helper');
  assert.equal(sorted(summaryOf(run).pushed ?? []), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected every ref pushed${seen(run)}`);
  const called = existsSync(calls) ? readFileSync(calls, 'utf8') : '(never called)';
  assert.ok(called.split('\n').some((line) => line.includes(f.registry.address)), `expected docker-credential-${helper} get called with ${f.registry.address} on stdin; it recorded: ${called}`);
});

test('DOCKER_USERNAME / DOCKER_PASSWORD with --registry and no config.json', async () => {
  const f = await setup();
  const empty = configDir(f.tmp, 'empty', null);
  const run = await dockmk(pushArgs(f), runEnv(f, { DOCKER_CONFIG: empty, DOCKER_USERNAME: f.registry.username, DOCKER_PASSWORD: f.registry.password }));
  ok(run, 'push with DOCKER_USERNAME / DOCKER_PASSWORD');
  assert.equal(sorted(summaryOf(run).pushed ?? []), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected every ref pushed${seen(run)}`);
});

test('--manifest writes what was pushed (digest from the registry); GITHUB_STEP_SUMMARY gets a table', async () => {
  const f = await setup();
  const manifest = join(f.tmp, 'manifest.json');
  const stepSummary = join(f.tmp, 'step-summary.md');
  writeFileSync(stepSummary, '# an earlier step\n\n');
  reportFiles.push(manifest, stepSummary);
  const run = await dockmk(pushArgs(f, '--manifest', manifest), runEnv(f, { DOCKER_CONFIG: f.authsConfig, GITHUB_STEP_SUMMARY: stepSummary }));
  ok(run, 'push --manifest with GITHUB_STEP_SUMMARY');
  const tags = TAGS_AT_RELEASE(f.sha);

  assert.ok(existsSync(manifest), `expected ${manifest} to be written${seen(run)}`);
  const text = readFileSync(manifest, 'utf8');
  let report: { version?: unknown; complete?: unknown; images?: { service?: string; digest?: string; refs?: string[] }[]; notPushed?: unknown };
  try {
    report = JSON.parse(text) as typeof report;
  } catch {
    return assert.unreachable(`expected the manifest file to be JSON; it holds: ${text.slice(0, 2000)}`);
  }
  assert.is(report.version, 1, `expected "version": 1 in ${text}`);
  assert.is(report.complete, true, `expected "complete": true in ${text}`);
  assert.equal(report.notPushed, [], `expected "notPushed": [] in ${text}`);
  assert.equal(sorted((report.images ?? []).map((image) => image.service ?? '?')), sorted(SERVICES), `expected one image per service in ${text}`);
  for (const service of SERVICES) {
    const image = (report.images ?? []).find((entry) => entry.service === service);
    const digest = await f.registry.digest(repo(service), 'latest');
    assert.is(image?.digest, digest, `expected the digest of ${service} to be the registry's ${digest}; the manifest says ${JSON.stringify(image)}`);
    assert.equal(sorted(image?.refs ?? []), sorted(tags.map((tag) => ref(f, service, tag))), `expected every ref of ${service} in ${JSON.stringify(image)}`);
  }

  const markdown = existsSync(stepSummary) ? readFileSync(stepSummary, 'utf8') : '';
  assert.ok(markdown.startsWith('# an earlier step\n'), `expected the table appended to GITHUB_STEP_SUMMARY, not the file replaced; it holds:\n${markdown}`);
  assert.ok(markdown.split('\n').some((line) => line.startsWith('|')), `expected a markdown table (a line starting with |) in GITHUB_STEP_SUMMARY; it holds:\n${markdown}`);
  const absent = refsAt(f, tags).filter((pushed) => !markdown.includes(pushed));
  assert.equal(absent, [], `expected every pushed ref named in GITHUB_STEP_SUMMARY; missing ${absent.join(', ')}; it holds:\n${markdown}`);
});

test('--label K=V adds a label to the pushed image', async () => {
  const f = await setup();
  const run = await dockmk(pushArgs(f, '--label', 'com.example.team=edx'), runEnv(f, { DOCKER_CONFIG: f.authsConfig }));
  ok(run, 'push --label com.example.team=edx');
  for (const service of SERVICES) {
    const name = `${service}:latest`;
    const labels = (await docker.getImage(name).inspect()).Config.Labels ?? {};
    assert.is(labels['com.example.team'], 'edx', `expected com.example.team=edx on ${name}; its labels: ${JSON.stringify(labels)}`);
    assert.is(labels['org.opencontainers.image.title'], service, `expected the OCI labels kept next to --label on ${name}; its labels: ${JSON.stringify(labels)}`);
  }
});

test('the registry stopped mid-run: retries with backoff, fails clearly, latest has not moved', async () => {
  const f = await setup();
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // latest exists, at digest D1, for every service
  ok(await dockmk(pushArgs(f), env), 'the first push --tags auto');
  const before = Object.fromEntries(await Promise.all(SERVICES.map(async (service) => [service, await f.registry.digest(repo(service), 'latest')] as const)));
  for (const service of SERVICES) assert.ok(before[service], `expected ${repo(service)}:latest in the registry after the first push; saw ${before[service]}`);

  // A new commit changes both images (each ADDs the checkout); HEAD is no longer the tag.
  writeFileSync(join(f.root, 'release.txt'), `release 2 ${ID}\n`);
  git(f.root, 'commit', '-q', '-am', 'release 2');
  const sha = git(f.root, 'rev-parse', 'HEAD');
  const tags = [`sha-${sha.slice(0, 7)}`, 'main', 'latest'];

  let stopping: Promise<void> | null = null;
  let firstDone = '';
  const run = await dockmk(pushArgs(f), env, (line) => {
    if (stopping !== null) return;
    let event: Event;
    try {
      event = JSON.parse(line) as Event;
    } catch {
      return;
    }
    if (event.event === 'step-end' && String(event.step).startsWith('push ') && event.status === 'done') {
      firstDone = String(event.step);
      stopping = f.registry.stop();
    }
  });
  if (stopping !== null) await stopping;
  assert.ok(firstDone !== '', `expected a push to finish ("step-end", "status":"done") so the registry could be stopped mid-run${seen(run)}`);
  try {
    assert.ok(run.code !== 0, `expected a non-zero exit with the registry stopped after ${firstDone}${seen(run)}`);

    // NEW: step-retry events, 3 retries with backoff of about 1 s, 2 s, 4 s
    const retries = eventsOf(run).filter((event) => event.event === 'step-retry');
    assert.ok(retries.length > 0, `expected "step-retry" events once the registry was gone${seen(run)}`);
    for (const retry of retries) {
      const shape = typeof retry.step === 'string' && retry.step.startsWith('push ') && Number.isInteger(retry.attempt) && Number.isInteger(retry.of) &&
        typeof retry.delayMs === 'number' && retry.delayMs > 0 && typeof retry.reason === 'string' && retry.reason !== '';
      assert.ok(shape, `expected {"event":"step-retry","step":"push <ref>","attempt":N,"of":M,"delayMs":D,"reason":"…"}; saw ${JSON.stringify(retry)}`);
    }
    const failedEnd = eventsOf(run).find((event) => event.event === 'step-end' && String(event.step).startsWith('push ') && event.status === 'failed');
    assert.ok(failedEnd, `expected a push step to end "failed"${seen(run)}`);
    const failedStep = String(failedEnd?.step);
    const own = retries.filter((retry) => retry.step === failedStep);
    const attempts = own.map((retry) => retry.attempt as number);
    assert.is(own.length, 3, `expected 3 retries of ${failedStep} (the default) before it failed; saw ${JSON.stringify(own)}`);
    assert.ok(attempts.every((attempt, i) => i === 0 || attempt > (attempts[i - 1] as number)), `expected increasing attempt numbers; saw ${JSON.stringify(attempts)}`);
    assert.ok(own.every((retry) => (retry.of as number) >= (attempts.at(-1) as number) && retry.of === own[0]?.of), `expected one "of" no smaller than the last attempt; saw ${JSON.stringify(own)}`);
    const delays = own.map((retry) => retry.delayMs as number);
    const nominal = [1000, 2000, 4000];
    assert.ok(
      delays.every((delay, i) => delay >= (nominal[i] as number) * 0.5 && delay <= (nominal[i] as number) * 1.5),
      `expected backoff delays of about 1000, 2000, 4000 ms; saw ${JSON.stringify(delays)}`,
    );

    // What is where: the failing push named, latest of every service not pushed.
    const latestStarted = eventsOf(run).filter((event) => event.event === 'step-start' && /^push .*:latest$/.test(String(event.step)));
    assert.equal(latestStarted.map((event) => event.step), [], `expected no latest push to start once a versioned push failed${seen(run)}`);
    const failedRef = failedStep.slice('push '.length);
    assert.ok(run.stderr.includes(`push ${failedRef} failed`), `expected stderr to say "push ${failedRef} failed"${seen(run)}`);
    const latest = SERVICES.map((service) => ref(f, service, 'latest'));
    assert.match(run.stderr, /not pushed/i, `expected stderr to say what was not pushed${seen(run)}`);
    for (const latestRef of latest) assert.ok(run.stderr.includes(latestRef), `expected stderr to name ${latestRef} (not pushed)${seen(run)}`);
    const summary = summaryOf(run);
    assert.ok(Array.isArray(summary.notPushed), `expected "notPushed":[refs] in the summary; saw ${JSON.stringify(summary)}`);
    const notPushed = sorted(summary.notPushed ?? []);
    for (const latestRef of latest) assert.ok(notPushed.includes(latestRef), `expected ${latestRef} in notPushed; saw ${JSON.stringify(notPushed)}`);
    assert.equal(notPushed.filter((r) => (summary.pushed ?? []).includes(r)), [], `expected no ref both pushed and notPushed; summary ${JSON.stringify(summary)}`);
    assert.equal(sorted([...(summary.pushed ?? []), ...notPushed]), refsAt(f, tags), `expected pushed + notPushed to be every ref of the run; summary ${JSON.stringify(summary)}`);
  } finally {
    await f.registry.restart();
  }
  for (const service of SERVICES) {
    const now = await f.registry.digest(repo(service), 'latest');
    assert.is(now, before[service], `expected ${repo(service)}:latest still at ${before[service]} after the failed run; the registry says ${now}${seen(run)}`);
  }
});

test('--cache-from: an engine with none of the layers takes them from the registry; a missing cache image is skipped', async () => {
  const f = await setup();
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // The current commit's images in the registry, under latest, built by the classic builder: a
  // builder takes cache only from images it made (BuildKit from the inline cache only it writes).
  ok(await dockmk(pushArgs(f, '--builder', 'classic', '--force'), env), 'push --tags auto');
  // A CI shard's empty engine: no image of either service, under any name, nor their layers.
  // Children before parents: an image with children cannot be removed; a later pass gets it.
  for (let pass = 0; pass < 4; pass++) {
    const left = (await docker.listImages()).filter((image) => (image.RepoTags ?? []).some((tag) => SERVICES.some((service) => tag.includes(service))));
    if (left.length === 0) break;
    for (const image of left.sort((a, b) => b.Created - a.Created)) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const service of SERVICES) {
    for (const name of [`${service}:test`, `${service}:latest`, ref(f, service, 'latest')]) assert.not.ok(await imageExists(name), `no local ${name} is left`);
  }
  const source = `${f.registry.address}/${NS}/{service}:latest`;
  const missing = `${f.registry.address}/${NS}/not-pushed-${ID}:latest`;
  // The classic builder: it takes cached layers from images only, so removing the images above
  // empties its cache. BuildKit keeps a cache of its own; its --cache-from is tested on an engine
  // with nothing in it (test/it/builders.test.ts).
  const run = await dockmk(['test', BASE, '--root', f.root, '--registry', f.registry.address, '--namespace', NS, '--json', '--builder', 'classic', '--cache-from', source, '--cache-from', missing], env);
  ok(run, 'test --cache-from');
  const ends = eventsOf(run).filter((event) => event.event === 'step-end');
  const statusOf = (step: string) => ends.find((event) => event.step === step)?.status;
  assert.is(statusOf(`pull ${f.registry.address}/${NS}/${BASE}:latest`), 'done', `expected the cache image pulled${seen(run)}`);
  assert.is(statusOf(`pull ${missing}`), 'unavailable', `expected the missing cache image reported unavailable, not a failure${seen(run)}`);
  assert.is(statusOf(`build ${BASE}`), 'done', `expected the build to run${seen(run)}`);
  const lines = eventsOf(run).filter((event) => event.event === 'step-output' && event.step === `build ${BASE}`).map((event) => String(event.line));
  const runStep = lines.findIndex((line) => /^Step \d+\/\d+ : RUN /.test(line));
  assert.ok(runStep >= 0 && /Using cache/.test(lines[runStep + 1] ?? ''), `expected the RUN step taken from the cache image ("Using cache"); the build said:\n${lines.join('\n')}`);
});

test('push --parents published: a CI wave builds on the parent an earlier wave pushed, then publishes', async () => {
  const f = await setup();
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // Wave 1 published the base (latest); wave 2 builds the app on it, on its own.
  ok(await dockmk(['push', BASE, '--root', f.root, '--registry', f.registry.address, '--namespace', NS, '--tags', 'auto', '--json'], env), 'wave 1: push the base');
  const run = await dockmk(['push', APP, '--root', f.root, '--registry', f.registry.address, '--namespace', NS, '--tags', 'auto', '--parents', 'published', '--json'], env);
  ok(run, 'wave 2: push --parents published');
  const started = eventsOf(run).filter((event) => event.event === 'step-start').map((event) => String(event.step));
  assert.ok(started.includes(`pull ${ref(f, BASE, 'latest')}`), `expected the published base pulled${seen(run)}`);
  assert.not.ok(started.includes(`build ${BASE}`), `expected the base not built from the checkout${seen(run)}`);
  const base = (await docker.getImage(ref(f, BASE, 'latest')).inspect()).RootFS.Layers ?? [];
  const app = (await docker.getImage(`${APP}:build`).inspect()).RootFS.Layers ?? [];
  assert.equal(app.slice(0, base.length), base, 'the app is built on the layers of the published base');
  const tags = (await f.registry.tags(repo(APP))) ?? [];
  const sha = git(f.root, 'rev-parse', 'HEAD');
  for (const tag of [`sha-${sha.slice(0, 7)}`, 'main', 'latest']) assert.ok(tags.includes(tag), `expected ${repo(APP)}:${tag} in the registry; it has ${tags.join(', ')}`);
  assert.is(await f.registry.digest(repo(APP), 'latest'), await f.registry.digest(repo(APP), `sha-${sha.slice(0, 7)}`), 'latest and the sha tag are one image');
});

test('no secret anywhere: outputs, state dir (history, logs), manifest, step summary', async () => {
  const f = await setup();
  assert.ok(runs.length >= 5, `expected the runs above to have happened; saw ${runs.length}`);
  const secrets = { password: f.registry.password, 'base64 of user:password': f.registry.basicAuth };
  const leaks: string[] = [];
  for (const run of runs) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (run.stdout.includes(secret)) leaks.push(`the ${name} in stdout of dockmk ${run.argv.join(' ')}`);
      if (run.stderr.includes(secret)) leaks.push(`the ${name} in stderr of dockmk ${run.argv.join(' ')}`);
    }
  }
  const files = [...walk(f.stateDir), ...reportFiles.filter((file) => existsSync(file))];
  for (const file of files) {
    const text = readFileSync(file).toString('latin1');
    for (const [name, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`the ${name} in ${file}`);
  }
  assert.ok(files.some((file) => file.endsWith('history.jsonl')), `expected a history under DOCKMK_STATE_DIR to scan; files: ${files.join(', ')}`);
  assert.equal(leaks, [], `expected the password in no output or file; found:\n${leaks.join('\n')}`);
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

test.after(async () => {
  if (fixture === null) return;
  const f = await fixture.catch(() => null);
  if (f === null) return;
  await f.registry.dispose();
  // This run's images only (tagged, or untagged but still known by a digest of its registry),
  // children before their parents.
  const mine = (name: string): boolean => name.includes(ID) || name.startsWith(`${f.registry.address}/`);
  const images = (await docker.listImages()).filter((image) => [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some(mine));
  for (const image of images.sort((a, b) => b.Created - a.Created)) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  rmSync(f.tmp, { recursive: true, force: true });
});

test.run();
