// Issue 6 on the real engine and a real registry of the test's own (test/it/registry.ts, not
// the shared one on 127.0.0.1:5055): tag rules seen through the registry API, a wrong password,
// a credential helper, CI variables, the registry stopped mid-run (retries, latest unmoved), no
// secret in any output, the --manifest and GITHUB_STEP_SUMMARY reports, and OCI labels.
//
// Every test is on its own: it gets a fixture of its own (publishTest) — a tiny checkout (two
// services, one FROM the other, builds in seconds) under git on `main` tagged v1.2.3, service
// and namespace names no other test uses, a state dir — builds and pushes what it needs, and
// ends with a scan for the registry's secret in everything its runs printed or wrote. What
// they share is the registry process (started by the first test that needs it, each test in a
// namespace of its own: pushing the base layers to a fresh registry per test took ~20 s each);
// the test that stops the registry mid-run has one of its own. One failure fails one test.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { cleanEnv, commitAll, docker, dockmk as runDockmk, git, test } from './helpers.js';
import { MANIFEST_V2, startRegistry, type OwnRegistry } from './registry.js';

interface Run {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
  /** The log of the fixture's registry (for failure messages). */
  registryLog: () => string;
}

interface Fixture {
  /** Names of this test only: the engine is shared with other tests and other sessions. */
  id: string;
  ns: string;
  base: string;
  app: string;
  services: readonly [string, string];
  registry: OwnRegistry;
  /** the checkout */
  root: string;
  /** every temp dir of this test, removed at the end */
  tmp: string;
  stateDir: string;
  /** HEAD's full sha at the tagged commit */
  sha: string;
  /** $DOCKER_CONFIG with an `auths` entry holding the right password */
  authsConfig: string;
  /** every dockmk run of this test, for the secret scan */
  runs: Run[];
  /** report files its runs wrote (manifest, step summary), for the secret scan */
  reports: string[];
}

let shared: Promise<OwnRegistry> | null = null;

/** The registry the tests share (each in its own namespace); a failure to start it fails each test that needs it, saying why. */
function sharedRegistry(): Promise<OwnRegistry> {
  shared ??= startRegistry();
  return shared;
}

test.after(async () => {
  const registry = await shared?.catch(() => null);
  await registry?.dispose();
});

/**
 * A test with a fixture of its own, disposed of (images, temp dirs, its own registry)
 * whatever happens. `ownRegistry`: for a test that stops or breaks the registry.
 */
function publishTest(name: string, body: (f: Fixture) => Promise<void>, options: { ownRegistry?: boolean } = {}): void {
  test(name, async () => {
    const own = options.ownRegistry === true;
    const f = await makeFixture(own ? await startRegistry() : await sharedRegistry(), own);
    try {
      await body(f);
      assertNoSecret(f);
    } finally {
      await dispose(f, own);
    }
  });
}

async function makeFixture(registry: OwnRegistry, own: boolean): Promise<Fixture> {
  const id = randomBytes(3).toString('hex');
  const names = { id, ns: `pubns${id}`, base: `pubbase-${id}`, app: `pubapp-${id}` };
  const tmp = tempDir('dockmk-it-publish-');
  try {
    const root = join(tmp, 'checkout');
    writeCheckout(root, names);
    const sha = commitAll(root, 'two services to publish', 'v1.2.3');
    const stateDir = join(tmp, 'state');
    mkdirSync(stateDir);
    const authsConfig = configDir(tmp, 'auths', { auths: { [registry.address]: { auth: registry.basicAuth } } });
    return { ...names, services: [names.base, names.app], registry, root, tmp, stateDir, sha, authsConfig, runs: [], reports: [] };
  } catch (error) {
    if (own) await registry.dispose();
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

async function dispose(f: Fixture, own: boolean): Promise<void> {
  if (own) await f.registry.dispose();
  // This test's images only (tagged, or untagged but still known by a digest of its
  // namespace), children before their parents.
  const mine = (name: string): boolean => name.includes(f.id);
  const images = (await docker.listImages()).filter((image) => [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some(mine));
  for (const image of images.sort((a, b) => b.Created - a.Created)) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  rmSync(f.tmp, { recursive: true, force: true });
}

/** Neither the password nor its base64 form in any output of the test's runs, its state dir (history, logs) or its reports. */
function assertNoSecret(f: Fixture): void {
  const secrets = { password: f.registry.password, 'base64 of user:password': f.registry.basicAuth };
  const leaks: string[] = [];
  for (const run of f.runs) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (run.stdout.includes(secret)) leaks.push(`the ${name} in stdout of dockmk ${run.argv.join(' ')}`);
      if (run.stderr.includes(secret)) leaks.push(`the ${name} in stderr of dockmk ${run.argv.join(' ')}`);
    }
  }
  const files = [...walk(f.stateDir), ...f.reports.filter((file) => existsSync(file))];
  for (const file of files) {
    const text = readFileSync(file).toString('latin1');
    for (const [name, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`the ${name} in ${file}`);
  }
  assert.equal(leaks, [], `expected the password in no output or file; found:\n${leaks.join('\n')}`);
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function writeCheckout(root: string, { ns, base, app }: { ns: string; base: string; app: string }): void {
  const files: Record<string, string> = {
    '.dockerignore': '.git\n',
    'release.txt': 'release 1\n',
    [`docker/build/${base}/Dockerfile`]: [
      'FROM debian:bookworm',
      'ADD . /edx/app/edx_ansible/edx_ansible',
      `RUN cp /edx/app/edx_ansible/edx_ansible/release.txt /etc/${base}-release`,
      '',
    ].join('\n'),
    [`docker/build/${base}/ansible_overrides.yml`]: '---\nPUBLISH_TEST: base\n',
    [`docker/build/${app}/Dockerfile`]: [
      `FROM ${ns}/${base}:latest`,
      'ADD . /edx/app/edx_ansible/edx_ansible',
      `RUN cat /etc/${base}-release > /etc/${app}-release`,
      '',
    ].join('\n'),
    [`docker/build/${app}/ansible_overrides.yml`]: '---\nPUBLISH_TEST: app\n',
    [`docker/plays/${base}.yml`]: '- name: Deploy the base\n  hosts: all\n  gather_facts: false\n  roles:\n    - publish_test\n',
    [`docker/plays/${app}.yml`]: '- name: Deploy the app\n  hosts: all\n  gather_facts: false\n  roles:\n    - publish_test\n',
    'playbooks/roles/publish_test/tasks/main.yml': '- name: Say hello\n  debug:\n    msg: "{{ PUBLISH_TEST | default(\'none\') }}"\n',
    'playbooks/roles/publish_test/defaults/main.yml': '---\nPUBLISH_TEST: none\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** A $DOCKER_CONFIG directory of the test's own holding `config` (null: no config.json at all). */
function configDir(tmp: string, name: string, config: object | null): string {
  const dir = join(tmp, `docker-config-${name}`);
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** The environment of a run: the clean one of every test run (nothing from CI or the caller's credentials), the fixture's state dir, and `extra`. */
function runEnv(f: Fixture, extra: Record<string, string>): Record<string, string> {
  return cleanEnv({ DOCKMK_STATE_DIR: f.stateDir, ...extra });
}

/** `node bin/dockmk.js ...argv`, recorded on the fixture; `onLine` sees each stdout line as it comes. */
async function dockmk(f: Fixture, argv: string[], env: Record<string, string>, onLine?: (line: string) => void): Promise<Run> {
  const result = await runDockmk(argv, { env, ...(onLine ? { onLine } : {}) });
  const run = { argv, ...result, registryLog: f.registry.log };
  f.runs.push(run);
  return run;
}

/** What a run did, for assertion messages: exit code, stderr, the tail of stdout (and the registry's errors). */
function seen(run: Run): string {
  const text = `\n  dockmk ${run.argv.join(' ')}\n  exit ${run.code}\n  stderr:\n${indent(run.stderr || '(empty)')}\n  stdout (tail):\n${indent(run.stdout.slice(-2500) || '(empty)')}`;
  if (run.code === 0) return text;
  // The registry's own errors, but not the 404s of HEAD /blobs/ every push asks first.
  const errors = run.registryLog().split('\n').filter((line) => /level=error/.test(line) && !/http\.request\.method=HEAD/.test(line));
  return `${text}\n  registry errors (last ${Math.min(errors.length, 6)} of ${errors.length}):\n${indent(errors.slice(-6).join('\n') || '(none)')}`;
}

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
  return ['push', ...f.services, '--root', f.root, '--registry', f.registry.address, '--namespace', f.ns, '--tags', 'auto', '--json', ...more];
}

const TAGS_AT_RELEASE = (sha: string): string[] => [`sha-${sha.slice(0, 7)}`, '1.2.3', '1.2', '1', 'main', 'latest'];
const repo = (f: Fixture, service: string): string => `${f.ns}/${service}`;
const ref = (f: Fixture, service: string, tag: string): string => `${f.registry.address}/${repo(f, service)}:${tag}`;
const refsAt = (f: Fixture, tags: readonly string[]): string[] => f.services.flatMap((service) => tags.map((tag) => ref(f, service, tag))).sort();
const sorted = (list: readonly string[]): string[] => [...list].sort();

async function imageExists(name: string): Promise<boolean> {
  return docker.getImage(name).inspect().then(() => true, () => false);
}

// ------------------------------------------------------------------------------------------------

publishTest('a wrong password: refused at once, naming the registry; nothing built, nothing pushed', async (f) => {
  const wrong = `wrong-${randomBytes(9).toString('base64url')}`;
  const config = configDir(f.tmp, 'wrong', { auths: { [f.registry.address]: { auth: Buffer.from(`${f.registry.username}:${wrong}`).toString('base64') } } });
  const run = await dockmk(f, pushArgs(f), runEnv(f, { DOCKER_CONFIG: config }));
  assert.ok(run.code !== 0, `expected a non-zero exit with a wrong password, saw 0${seen(run)}`);
  assert.ok(run.stderr.includes(f.registry.address), `expected stderr to name the registry ${f.registry.address}${seen(run)}`);
  assert.match(run.stderr, /refused the credentials/, `expected stderr to say the credentials were refused${seen(run)}`);
  assert.not.ok(run.stderr.includes(wrong) || run.stdout.includes(wrong), `expected the wrong password nowhere in the output${seen(run)}`);

  const builds = eventsOf(run).filter((event) => event.event === 'step-start' && String(event.step).startsWith('build '));
  assert.equal(builds.map((event) => event.step), [], `expected no build step to start${seen(run)}`);
  for (const service of f.services) {
    assert.not.ok(await imageExists(`${service}:latest`), `expected no local ${service}:latest (nothing built), but the engine has it`);
  }
  const ours = (await f.registry.catalog()).filter((name) => name.startsWith(`${f.ns}/`));
  assert.equal(ours, [], `expected no repository of ${f.ns} in the registry's catalog, saw ${JSON.stringify(ours)}`);
  for (const service of f.services) {
    assert.is(await f.registry.tags(repo(f, service)), null, `expected /v2/${repo(f, service)}/tags/list to be 404`);
  }
});

publishTest('push --tags auto with config.json auths: every tag is in the registry, all on one digest', async (f) => {
  const run = await dockmk(f, pushArgs(f), runEnv(f, { DOCKER_CONFIG: f.authsConfig }));
  ok(run, 'push with the right credentials in auths');
  const expectedTags = TAGS_AT_RELEASE(f.sha);
  const summary = summaryOf(run);
  assert.equal(sorted(summary.pushed ?? []), refsAt(f, expectedTags), `expected summary.pushed to be every ref of both services${seen(run)}`);
  // All or nothing: no latest push starts before every versioned push of every image is done.
  const events = eventsOf(run);
  const firstLatest = events.findIndex((event) => event.event === 'step-start' && /^push .*:latest$/.test(String(event.step)));
  const lastVersioned = events.findLastIndex((event) => event.event === 'step-end' && /^push /.test(String(event.step)) && !String(event.step).endsWith(':latest'));
  assert.ok(firstLatest > lastVersioned, `expected every latest push to start after the last versioned push ended (event ${lastVersioned}); the first started at event ${firstLatest}${seen(run)}`);
  for (const service of f.services) {
    const tags = await f.registry.tags(repo(f, service));
    const missing = expectedTags.filter((tag) => !(tags ?? []).includes(tag));
    assert.equal(missing, [], `expected the registry's tags of ${repo(f, service)} to hold ${expectedTags.join(', ')}; saw ${JSON.stringify(tags)}`);
    const digests = await Promise.all(expectedTags.map(async (tag) => [tag, await f.registry.digest(repo(f, service), tag)] as const));
    const distinct = new Set(digests.map(([, digest]) => digest));
    assert.is(distinct.size, 1, `expected every tag of ${repo(f, service)} on the same manifest digest; saw ${JSON.stringify(Object.fromEntries(digests))}`);
    assert.match(String([...distinct][0]), /^sha256:[0-9a-f]{64}$/);
  }
});

publishTest('push --dry-run: sha, semver and latest refs on the tagged default branch; no latest on another branch', async (f) => {
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
  const onMain = await dockmk(f, pushArgs(f, '--dry-run'), env);
  ok(onMain, 'push --dry-run on main at v1.2.3');
  assert.equal(pushRefs(onMain), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected sha, semver, branch and latest refs of both services in the plan${seen(onMain)}`);

  // A clone (origin/HEAD is main) on another branch, still at the tagged commit.
  const other = join(f.tmp, 'other-branch');
  git(f.tmp, 'clone', '-q', f.root, other);
  git(other, 'checkout', '-q', '-b', 'feature/Other-Branch');
  const args = pushArgs(f, '--dry-run').map((arg) => (arg === f.root ? other : arg));
  const onBranch = await dockmk(f, args, env);
  ok(onBranch, 'push --dry-run on feature/Other-Branch');
  const expected = refsAt(f, [`sha-${f.sha.slice(0, 7)}`, '1.2.3', '1.2', '1', 'feature-other-branch']);
  assert.equal(pushRefs(onBranch), expected, `expected no latest on another branch, the branch name normalized${seen(onBranch)}`);
});

publishTest('labels: OCI revision, version, title, created and dockmk inputs on the pushed image', async (f) => {
  ok(await dockmk(f, pushArgs(f), runEnv(f, { DOCKER_CONFIG: f.authsConfig })), 'push --tags auto');
  for (const service of f.services) {
    // The image push built (pkg's tag); the registry's refs are written from it.
    const name = `${service}:latest`;
    const info = await docker.getImage(name).inspect().catch((error: Error) => error);
    if (info instanceof Error) throw new assert.Assertion({ message: `expected the local image ${name} (pushed just before): ${info.message}`, operator: 'ok', expects: name, actual: null, generated: false });
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
    const manifest = await f.registry.api('GET', `${repo(f, service)}/manifests/1.2.3`, MANIFEST_V2);
    assert.is(manifest.status, 200, `expected GET /v2/${repo(f, service)}/manifests/1.2.3 to answer 200; saw ${manifest.status} ${manifest.body}`);
    const configDigest = (JSON.parse(manifest.body) as { config: { digest: string } }).config.digest;
    const blob = await f.registry.api('GET', `${repo(f, service)}/blobs/${configDigest}`);
    const pushed = (JSON.parse(blob.body) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
    assert.equal(pushed, labels, `expected the pushed image config to carry the local image's labels; the registry has ${JSON.stringify(pushed)}; ${show}`);
  }
});

publishTest('a credential helper from credHelpers is asked for the registry, on PATH', async (f) => {
  const helper = `dockmkit${f.id}`;
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
  const run = await dockmk(f, pushArgs(f), runEnv(f, { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}` }));
  ok(run, 'push with credentials from a credential helper');
  assert.equal(sorted(summaryOf(run).pushed ?? []), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected every ref pushed${seen(run)}`);
  const called = existsSync(calls) ? readFileSync(calls, 'utf8') : '(never called)';
  assert.ok(called.split('\n').some((line) => line.includes(f.registry.address)), `expected docker-credential-${helper} get called with ${f.registry.address} on stdin; it recorded: ${called}`);
});

publishTest('DOCKER_USERNAME / DOCKER_PASSWORD with --registry and no config.json', async (f) => {
  const empty = configDir(f.tmp, 'empty', null);
  const run = await dockmk(f, pushArgs(f), runEnv(f, { DOCKER_CONFIG: empty, DOCKER_USERNAME: f.registry.username, DOCKER_PASSWORD: f.registry.password }));
  ok(run, 'push with DOCKER_USERNAME / DOCKER_PASSWORD');
  assert.equal(sorted(summaryOf(run).pushed ?? []), refsAt(f, TAGS_AT_RELEASE(f.sha)), `expected every ref pushed${seen(run)}`);
});

publishTest('--manifest writes what was pushed (digest from the registry); GITHUB_STEP_SUMMARY gets a table', async (f) => {
  const manifest = join(f.tmp, 'manifest.json');
  const stepSummary = join(f.tmp, 'step-summary.md');
  writeFileSync(stepSummary, '# an earlier step\n\n');
  f.reports.push(manifest, stepSummary);
  const run = await dockmk(f, pushArgs(f, '--manifest', manifest), runEnv(f, { DOCKER_CONFIG: f.authsConfig, GITHUB_STEP_SUMMARY: stepSummary }));
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
  assert.equal(sorted((report.images ?? []).map((image) => image.service ?? '?')), sorted(f.services), `expected one image per service in ${text}`);
  for (const service of f.services) {
    const image = (report.images ?? []).find((entry) => entry.service === service);
    const digest = await f.registry.digest(repo(f, service), 'latest');
    assert.is(image?.digest, digest, `expected the digest of ${service} to be the registry's ${digest}; the manifest says ${JSON.stringify(image)}`);
    assert.equal(sorted(image?.refs ?? []), sorted(tags.map((tag) => ref(f, service, tag))), `expected every ref of ${service} in ${JSON.stringify(image)}`);
  }

  const markdown = existsSync(stepSummary) ? readFileSync(stepSummary, 'utf8') : '';
  assert.ok(markdown.startsWith('# an earlier step\n'), `expected the table appended to GITHUB_STEP_SUMMARY, not the file replaced; it holds:\n${markdown}`);
  assert.ok(markdown.split('\n').some((line) => line.startsWith('|')), `expected a markdown table (a line starting with |) in GITHUB_STEP_SUMMARY; it holds:\n${markdown}`);
  const absent = refsAt(f, tags).filter((pushed) => !markdown.includes(pushed));
  assert.equal(absent, [], `expected every pushed ref named in GITHUB_STEP_SUMMARY; missing ${absent.join(', ')}; it holds:\n${markdown}`);
});

publishTest('--label K=V adds a label to the pushed image', async (f) => {
  const run = await dockmk(f, pushArgs(f, '--label', 'com.example.team=edx'), runEnv(f, { DOCKER_CONFIG: f.authsConfig }));
  ok(run, 'push --label com.example.team=edx');
  for (const service of f.services) {
    const name = `${service}:latest`;
    const labels = (await docker.getImage(name).inspect()).Config.Labels ?? {};
    assert.is(labels['com.example.team'], 'edx', `expected com.example.team=edx on ${name}; its labels: ${JSON.stringify(labels)}`);
    assert.is(labels['org.opencontainers.image.title'], service, `expected the OCI labels kept next to --label on ${name}; its labels: ${JSON.stringify(labels)}`);
  }
});

publishTest('the commit pushed again on other inputs: sha-<7> stays on the first build, the versioned refs and latest move', async (f) => {
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  ok(await dockmk(f, pushArgs(f), env), 'the first push of the commit');
  const digests = async (tag: string) => Promise.all(f.services.map((service) => f.registry.digest(repo(f, service), tag)));
  const first = { sha: await digests(`sha-${f.sha.slice(0, 7)}`), latest: await digests('latest') };
  assert.equal(first.sha, first.latest, 'one build under both refs at first');
  // A label is an input: the same commit gets new build keys and new images, as a weekly rebuild on newer bases would.
  const run = await dockmk(f, pushArgs(f, '--label', 'com.example.rebuilt=yes'), env);
  ok(run, 'the second push, with a label');
  const summary = summaryOf(run) as Summary & { kept?: string[] };
  const shaRefs = f.services.map((service) => ref(f, service, `sha-${f.sha.slice(0, 7)}`)).sort();
  assert.equal(sorted(summary.kept ?? []), shaRefs, `expected the sha refs kept${seen(run)}`);
  assert.equal(sorted(summary.pushed ?? []), refsAt(f, ['1.2.3', '1.2', '1', 'main', 'latest']), `expected every other ref written${seen(run)}`);
  assert.equal(await digests(`sha-${f.sha.slice(0, 7)}`), first.sha, 'sha-<7> not moved in the registry');
  const now = await digests('latest');
  for (const [i, digest] of now.entries()) assert.is.not(digest, first.latest[i], `${f.services[i]}:latest on the new build`);
  assert.equal(await digests('1.2.3'), now, 'the versioned refs with latest');
  assert.match(run.stdout + run.stderr, /kept where it is: it names an earlier build of this commit \(sha256:[0-9a-f]{64}\), and an immutable ref is never moved/, `expected the reason said${seen(run)}`);
});

publishTest('the registry stopped mid-run: retries with backoff, fails clearly, latest has not moved', async (f) => {
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // latest exists, at digest D1, for every service
  ok(await dockmk(f, pushArgs(f), env), 'the first push --tags auto');
  const before = Object.fromEntries(await Promise.all(f.services.map(async (service) => [service, await f.registry.digest(repo(f, service), 'latest')] as const)));
  for (const service of f.services) assert.ok(before[service], `expected ${repo(f, service)}:latest in the registry after the first push; saw ${before[service]}`);

  // A new commit changes both images (each ADDs the checkout); HEAD is no longer the tag.
  writeFileSync(join(f.root, 'release.txt'), `release 2 ${f.id}\n`);
  git(f.root, 'commit', '-q', '-am', 'release 2');
  const sha = git(f.root, 'rev-parse', 'HEAD');
  const tags = [`sha-${sha.slice(0, 7)}`, 'main', 'latest'];

  let stopping: Promise<void> | null = null;
  let firstDone = '';
  const run = await dockmk(f, pushArgs(f), env, (line) => {
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
    const latest = f.services.map((service) => ref(f, service, 'latest'));
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
  for (const service of f.services) {
    const now = await f.registry.digest(repo(f, service), 'latest');
    assert.is(now, before[service], `expected ${repo(f, service)}:latest still at ${before[service]} after the failed run; the registry says ${now}${seen(run)}`);
  }
}, { ownRegistry: true });

publishTest('--cache-from: an engine with none of the layers takes them from the registry; a missing cache image is skipped', async (f) => {
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // The current commit's images in the registry, under latest, built by the classic builder: a
  // builder takes cache only from images it made (BuildKit from the inline cache only it writes).
  ok(await dockmk(f, pushArgs(f, '--builder', 'classic', '--force'), env), 'push --tags auto');
  // A CI shard's empty engine: no image of either service, under any name, nor their layers.
  // Children before parents: an image with children cannot be removed; a later pass gets it.
  for (let pass = 0; pass < 4; pass++) {
    const left = (await docker.listImages()).filter((image) => (image.RepoTags ?? []).some((tag) => f.services.some((service) => tag.includes(service))));
    if (left.length === 0) break;
    for (const image of left.sort((a, b) => b.Created - a.Created)) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const service of f.services) {
    for (const name of [`${service}:test`, `${service}:latest`, ref(f, service, 'latest')]) assert.not.ok(await imageExists(name), `no local ${name} is left`);
  }
  const source = `${f.registry.address}/${f.ns}/{service}:latest`;
  const missing = `${f.registry.address}/${f.ns}/not-pushed-${f.id}:latest`;
  // The classic builder: it takes cached layers from images only, so removing the images above
  // empties its cache. BuildKit keeps a cache of its own; its --cache-from is tested on an engine
  // with nothing in it (test/it/builders.test.ts).
  const run = await dockmk(f, ['test', f.base, '--root', f.root, '--registry', f.registry.address, '--namespace', f.ns, '--json', '--builder', 'classic', '--cache-from', source, '--cache-from', missing], env);
  ok(run, 'test --cache-from');
  const ends = eventsOf(run).filter((event) => event.event === 'step-end');
  const statusOf = (step: string) => ends.find((event) => event.step === step)?.status;
  assert.is(statusOf(`pull ${f.registry.address}/${f.ns}/${f.base}:latest`), 'done', `expected the cache image pulled${seen(run)}`);
  assert.is(statusOf(`pull ${missing}`), 'unavailable', `expected the missing cache image reported unavailable, not a failure${seen(run)}`);
  assert.is(statusOf(`build ${f.base}`), 'done', `expected the build to run${seen(run)}`);
  const lines = eventsOf(run).filter((event) => event.event === 'step-output' && event.step === `build ${f.base}`).map((event) => String(event.line));
  const runStep = lines.findIndex((line) => /^Step \d+\/\d+ : RUN /.test(line));
  assert.ok(runStep >= 0 && /Using cache/.test(lines[runStep + 1] ?? ''), `expected the RUN step taken from the cache image ("Using cache"); the build said:\n${lines.join('\n')}`);
});

publishTest('push --parents published: a CI wave builds on the parent an earlier wave pushed, then publishes', async (f) => {
  const env = runEnv(f, { DOCKER_CONFIG: f.authsConfig });
  // Wave 1 published the base (latest); wave 2 builds the app on it, on its own.
  ok(await dockmk(f, ['push', f.base, '--root', f.root, '--registry', f.registry.address, '--namespace', f.ns, '--tags', 'auto', '--json'], env), 'wave 1: push the base');
  const run = await dockmk(f, ['push', f.app, '--root', f.root, '--registry', f.registry.address, '--namespace', f.ns, '--tags', 'auto', '--parents', 'published', '--json'], env);
  ok(run, 'wave 2: push --parents published');
  const started = eventsOf(run).filter((event) => event.event === 'step-start').map((event) => String(event.step));
  assert.ok(started.includes(`pull ${ref(f, f.base, 'latest')}`), `expected the published base pulled${seen(run)}`);
  assert.not.ok(started.includes(`build ${f.base}`), `expected the base not built from the checkout${seen(run)}`);
  const base = (await docker.getImage(ref(f, f.base, 'latest')).inspect()).RootFS.Layers ?? [];
  const app = (await docker.getImage(`${f.app}:build`).inspect()).RootFS.Layers ?? [];
  assert.equal(app.slice(0, base.length), base, 'the app is built on the layers of the published base');
  const tags = (await f.registry.tags(repo(f, f.app))) ?? [];
  const sha = git(f.root, 'rev-parse', 'HEAD');
  for (const tag of [`sha-${sha.slice(0, 7)}`, 'main', 'latest']) assert.ok(tags.includes(tag), `expected ${repo(f, f.app)}:${tag} in the registry; it has ${tags.join(', ')}`);
  assert.is(await f.registry.digest(repo(f, f.app), 'latest'), await f.registry.digest(repo(f, f.app), `sha-${sha.slice(0, 7)}`), 'latest and the sha tag are one image');
});

test.run();
