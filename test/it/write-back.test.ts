// push --write-back on the real engine and a registry of this file's own (test/it/registry.ts):
// the ref written into a YAML file pulls from the registry (tag, and digest-pinned), --dry-run
// shows the diff and writes nothing, --write-back-commit commits only that file, and a push
// that fails (a build failure; the registry stopped mid-run) leaves the file byte for byte.
//
// A tiny checkout of its own in a temp dir, a git repository on `main` tagged v2.3.4, one
// service FROM debian:bookworm (builds in a second or two), names unique to this run.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { commitAll, docker, dockmk as runDockmk, git, tempDir, test } from './helpers.js';
import { startRegistry, type OwnRegistry } from './registry.js';

const ID = randomBytes(3).toString('hex');
const NS = `wbns${ID}`;
const APP = `wbapp-${ID}`;
const BROKEN = `wbbroken-${ID}`;

const CONFIG = `# Instance configuration, edited by hand and by the release push
PLATFORM_NAME: "Write-back test"   # shown in the header

images:
  # the image the instance runs
  openedx: 'old/openedx:sha-0000000'  # written back
  worker: old/worker:1.0.0
`;

interface Run {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

interface Fixture {
  registry: OwnRegistry;
  tmp: string;
  root: string;
  env: Record<string, string>;
  sha: string;
}

let fixture: Promise<Fixture> | null = null;
const setup = (): Promise<Fixture> => (fixture ??= makeFixture());

async function makeFixture(): Promise<Fixture> {
  const tmp = tempDir('dockmk-it-write-back-');
  const registry = await startRegistry();
  const root = join(tmp, 'checkout');
  const files: Record<string, string> = {
    '.dockerignore': '.git\ninstance/\n',
    [`docker/build/${APP}/Dockerfile`]: ['FROM debian:bookworm', 'ADD . /edx/app/edx_ansible/edx_ansible', `RUN echo ${APP} > /etc/${APP}-release`, ''].join('\n'),
    [`docker/build/${BROKEN}/Dockerfile`]: ['FROM debian:bookworm', 'RUN echo "made to fail" && false', ''].join('\n'),
    [`docker/plays/${APP}.yml`]: '- name: Deploy the app\n  hosts: all\n  roles: []\n',
    'instance/config.yml': CONFIG,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const sha = commitAll(root, 'a service to publish', 'v2.3.4');
  const dockerConfig = join(tmp, 'docker-config');
  mkdirSync(dockerConfig);
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.address]: { auth: registry.basicAuth } } }));
  // What the runs see besides the clean environment of every test run (runDockmk adds that).
  const env = { DOCKER_CONFIG: dockerConfig, DOCKMK_STATE_DIR: join(tmp, 'state') };
  return { registry, tmp, root, env, sha };
}

async function dockmk(f: Fixture, argv: string[], onLine?: (line: string) => void): Promise<Run> {
  const full = [...argv, '--root', f.root, '--registry', f.registry.address, '--namespace', NS, '--tags', 'auto', '--retries', '0'];
  return { argv: full, ...(await runDockmk(full, { cwd: f.root, env: f.env, ...(onLine ? { onLine } : {}) })) };
}

function seen(run: Run): string {
  return `\n  dockmk ${run.argv.join(' ')}\n  exit ${run.code}\n  stderr:\n${run.stderr}\n  stdout (tail):\n${run.stdout.slice(-2500)}`;
}

const configPath = (f: Fixture): string => join(f.root, 'instance', 'config.yml');
const resetConfig = (f: Fixture): void => writeFileSync(configPath(f), CONFIG);

/** Pulls `ref` through the engine with the registry's credentials, after removing any local copy. */
async function pulls(f: Fixture, ref: string): Promise<string> {
  await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  const stream = await docker.pull(ref, { authconfig: { username: f.registry.username, password: f.registry.password, serveraddress: f.registry.address } });
  await new Promise<void>((done, fail) => docker.modem.followProgress(stream, (error: Error | null) => (error ? fail(error) : done())));
  return (await docker.getImage(ref).inspect()).Id;
}

test('--write-back sets the key to the sha-<7> ref pushed, changes only that line, prints the diff; the ref pulls', async () => {
  const f = await setup();
  resetConfig(f);
  const run = await dockmk(f, ['push', APP, '--write-back', 'instance/config.yml:images.openedx=' + APP]);
  assert.is(run.code, 0, seen(run));
  const ref = `${f.registry.address}/${NS}/${APP}:sha-${f.sha.slice(0, 7)}`;
  // v2.3.4 is on HEAD: the full semver tag is the most specific one.
  const release = `${f.registry.address}/${NS}/${APP}:2.3.4`;
  const after = readFileSync(configPath(f), 'utf8');
  assert.is(after, CONFIG.replace("'old/openedx:sha-0000000'", `'${release}'`), 'only the value changes; quotes and comment stay');
  assert.match(run.stdout, new RegExp(`^-  openedx: 'old/openedx:sha-0000000'  # written back$`, 'm'));
  assert.match(run.stdout, new RegExp(`^\\+  openedx: '${release.replace(/[.]/g, '\\.')}'  # written back$`, 'm'));
  assert.match(run.stdout, /^--- a\/instance\/config\.yml$/m);
  const id = await pulls(f, release);
  assert.is(id, await pulls(f, ref), 'the semver and sha tags are one image');
});

test('--write-back-digest pins the registry digest; that ref pulls', async () => {
  const f = await setup();
  resetConfig(f);
  const run = await dockmk(f, ['push', APP, '--write-back', `instance/config.yml:images.worker=${APP}`, '--write-back-digest']);
  assert.is(run.code, 0, seen(run));
  const digest = await f.registry.digest(`${NS}/${APP}`, '2.3.4');
  assert.ok(digest?.startsWith('sha256:'), String(digest));
  const pinned = `${f.registry.address}/${NS}/${APP}:2.3.4@${digest}`;
  assert.is(readFileSync(configPath(f), 'utf8'), CONFIG.replace('old/worker:1.0.0', pinned));
  await pulls(f, pinned);
});

test('--dry-run prints the diff and writes nothing; a missing key fails before anything is built', async () => {
  const f = await setup();
  resetConfig(f);
  const dry = await dockmk(f, ['push', APP, '--dry-run', '--write-back', `instance/config.yml:images.openedx=${APP}`]);
  assert.is(dry.code, 0, seen(dry));
  assert.match(dry.stdout, /write-back \(dry run, nothing written\):/);
  assert.match(dry.stdout, /^\+  openedx: '.*\/wbapp-[0-9a-f]+:2\.3\.4'  # written back$/m);
  assert.is(readFileSync(configPath(f), 'utf8'), CONFIG);
  // The same from writeBack: in dockmk.yml (files relative to the checkout), and with --json the diff goes to stderr.
  writeFileSync(join(f.root, 'dockmk.yml'), `writeBack:\n  - instance/config.yml:images.worker=${APP}\n`);
  try {
    const configured = await dockmk(f, ['push', APP, '--dry-run', '--json']);
    assert.is(configured.code, 0, seen(configured));
    assert.match(configured.stderr, /^\+  worker: .*\/wbapp-[0-9a-f]+:2\.3\.4$/m);
    assert.is((JSON.parse(configured.stdout) as { command: string }).command, 'push', 'stdout stays the plan as JSON');
  } finally {
    rmSync(join(f.root, 'dockmk.yml'));
  }
  assert.is(readFileSync(configPath(f), 'utf8'), CONFIG);

  const missing = await dockmk(f, ['push', APP, '--json', '--write-back', `instance/config.yml:images.notes=${APP}`]);
  assert.is(missing.code, 2, seen(missing));
  assert.match(missing.stderr, /^dockmk: instance\/config\.yml:\d+: no key images\.notes .* — check the key, or add --write-back-create/m);
  assert.is(missing.stdout, '', 'nothing ran');
  const created = await dockmk(f, ['push', APP, '--write-back', `instance/config.yml:images.notes=${APP}`, '--write-back-create']);
  assert.is(created.code, 0, seen(created));
  assert.ok(readFileSync(configPath(f), 'utf8').startsWith(`${CONFIG.trimEnd()}\n  notes: ${f.registry.address}/${NS}/${APP}:2.3.4\n`));
});

test('--write-back-commit commits that file alone, with the refs in the message', async () => {
  const f = await setup();
  resetConfig(f);
  assert.is(git(f.root, 'status', '--porcelain'), '', 'the config as committed');
  writeFileSync(join(f.root, 'unrelated.txt'), 'staged, not part of the write-back\n');
  git(f.root, 'add', 'unrelated.txt');
  const run = await dockmk(f, ['push', APP, '--write-back', `instance/config.yml:images.openedx=${APP}`, '--write-back-commit']);
  assert.is(run.code, 0, seen(run));
  assert.is(git(f.root, 'show', '--name-only', '--format=%s', 'HEAD'), `Write back ${APP} image ref pushed by dockmk\n\ninstance/config.yml`);
  assert.match(git(f.root, 'log', '-1', '--format=%b'), new RegExp(`images\\.openedx: ${f.registry.address}/${NS}/${APP}:2\\.3\\.4`));
  assert.is(git(f.root, 'diff', '--cached', '--name-only'), 'unrelated.txt', 'what was staged before stays staged');
  git(f.root, 'reset', '-q', 'unrelated.txt');
  rmSync(join(f.root, 'unrelated.txt'));
});

test('a push that fails leaves the file byte for byte: a failed build, then the registry stopped mid-run', async () => {
  const f = await setup();
  resetConfig(f);
  const before = readFileSync(configPath(f));
  const build = await dockmk(f, ['push', APP, BROKEN, '--keep-going', '--write-back', `instance/config.yml:images.openedx=${APP}`]);
  assert.is(build.code, 1, seen(build));
  assert.match(build.stderr, /write-back: .*config\.yml left as it was: the push did not complete/);
  assert.equal(readFileSync(configPath(f)), before);

  // The registry goes away once the build has started (after the credentials were checked).
  let stopping: Promise<void> | null = null;
  const run = await dockmk(f, ['push', APP, '--json', '--force', '--write-back', `instance/config.yml:images.openedx=${APP}`], (line) => {
    const event = JSON.parse(line) as { event?: string; step?: string };
    if (event.event === 'step-start' && event.step === `build ${APP}`) stopping ??= f.registry.stop();
  });
  await stopping;
  await f.registry.restart();
  assert.is(run.code, 1, seen(run));
  assert.ok(stopping !== null, 'the build started');
  assert.match(run.stderr, /the push did not complete/);
  assert.equal(readFileSync(configPath(f)), before);
});

test.after(async () => {
  if (fixture === null) return;
  const f = await fixture;
  await f.registry.dispose();
  const images = await docker.listImages({ all: false });
  for (const image of images) {
    for (const tag of image.RepoTags ?? []) if (tag.includes(ID)) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
  rmSync(f.tmp, { recursive: true, force: true });
});

test.run();
