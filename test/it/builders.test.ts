// What dockmk does on each builder, on the real engine: the classic builder and BuildKit
// (--builder), the same checks on both where the builder matters: live progress and cached steps,
// labels and the up-to-date check, the failure line, no secret printed, Ctrl-C, RUN --mount.
// BuildKit's --cache-from (inline cache) and its session credentials are checked on a second
// engine of this file's own, one with no build cache, against a registry of its own.
//
// A small checkout of its own, in a temp dir, with names of this run only: the engine is shared.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import * as assert from 'uvu/assert';
import { parseStepHeader } from '../../src/model/build-steps.js';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { type CliResult, docker, dockerConfig, dockmk, events, imageId, ok, processesWith, runCommand, summaryOf, test } from './helpers.js';
import { startRegistry } from './registry.js';
import { loadBaseImage, startSecondEngine } from './second-engine.js';

const ID = randomBytes(3).toString('hex');
const BASE = `bk-base-${ID}`;
const CHILD = `bk-child-${ID}`;
const MOUNT = `bk-mount-${ID}`;
const FAIL = `bk-fail-${ID}`;
const SLOW = `bk-slow-${ID}`;
const MARKER = `bk-slow-marker-${ID}`;
const NS = `bkns${ID}`;
const BUILDERS = ['classic', 'buildkit'] as const;

const tmp = tempDir('dockmk-it-builders-');
const root = join(tmp, 'checkout');
const stateDir = join(tmp, 'state');
const env = { DOCKMK_STATE_DIR: stateDir };

const files: Record<string, string> = {
  'release.txt': `release of ${ID}\n`,
  [`docker/build/${BASE}/Dockerfile`]: [
    'FROM debian:bookworm',
    'WORKDIR /work',
    'COPY release.txt /work/release.txt',
    `RUN echo "progress line one" && echo "progress line two" && cat /work/release.txt > /etc/${ID}-release`,
    '',
  ].join('\n'),
  [`docker/build/${CHILD}/Dockerfile`]: [`FROM edxops/${BASE}:latest`, `RUN cat /etc/${ID}-release > /etc/${ID}-child`, ''].join('\n'),
  [`docker/build/${MOUNT}/Dockerfile`]: [
    'FROM debian:bookworm AS builder',
    `RUN echo "made in the builder stage ${ID}" > /made`,
    'FROM debian:bookworm',
    'RUN --mount=from=builder,source=/made,target=/tmp/made cp /tmp/made /copied',
    '',
  ].join('\n'),
  [`docker/build/${FAIL}/Dockerfile`]: ['FROM debian:bookworm', 'ARG TOKEN', 'RUN echo "before the failure"', 'RUN echo "checking $TOKEN" && exit 3', ''].join('\n'),
  [`docker/build/${SLOW}/Dockerfile`]: ['FROM debian:bookworm', `RUN echo "${MARKER} started" && sleep 300`, ''].join('\n'),
};
for (const [path, text] of Object.entries(files)) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

const run = (argv: string[], extra: Record<string, string> = {}): Promise<CliResult> => dockmk([...argv, '--root', root], { env: { ...env, ...extra } });
const buildLines = (result: CliResult, service: string): string[] =>
  events(result)
    .filter((event) => event.event === 'step-output' && event.step === `build ${service}`)
    .map((event) => String(event.line));
const seen = (result: CliResult): string => `\n--- stderr\n${result.stderr}\n--- stdout (end)\n${result.stdout.slice(-4000)}`;

for (const builder of BUILDERS) {
  test(`${builder}: live progress and cached steps, the labels, then up to date`, async () => {
    const first = await run(['test', BASE, '--builder', builder, '--force', '--json', '--label', `com.example.builder-test=${ID}`]);
    ok(first);
    assert.equal(events(first).filter((event) => event.event === 'builder').map((event) => event.builder), [builder], `the run says its builder${seen(first)}`);
    const lines = buildLines(first, BASE);
    const header = lines.map(parseStepHeader).find((found) => found?.text.startsWith('RUN echo "progress line one"'));
    assert.is(header?.kind, builder, `a ${builder} step header for the RUN:\n${lines.join('\n')}`);
    const prefix = builder === 'buildkit' ? /^#\d+ / : /^/;
    assert.ok(lines.some((line) => line.replace(prefix, '') === 'progress line two'), `the step's own output, line by line:\n${lines.join('\n')}`);

    const again = await run(['test', BASE, '--builder', builder, '--force', '--json', '--label', `com.example.builder-test=${ID}`]);
    ok(again);
    const cached = buildLines(again, BASE);
    const at = cached.findIndex((line) => parseStepHeader(line)?.text.startsWith('RUN echo "progress line one"'));
    const cachedWord = builder === 'buildkit' ? `${cached[at]?.split(' ')[0]} CACHED` : ' ---> Using cache';
    assert.ok(at >= 0 && cached.slice(at + 1).includes(cachedWord), `expected "${cachedWord}" after the RUN header:\n${cached.join('\n')}`);

    const labels = (await docker.getImage(`${BASE}:test`).inspect()).Config.Labels ?? {};
    assert.is(labels['org.opencontainers.image.title'], BASE);
    assert.is(labels['com.example.builder-test'], ID);
    assert.match(labels['org.dockmk.key'] ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.match(labels['org.dockmk.inputs'] ?? '', /^sha256:[0-9a-f]{64}$/);

    const noop = await run(['test', BASE, '--builder', builder, '--json', '--label', `com.example.builder-test=${ID}`]);
    ok(noop);
    assert.equal([summaryOf(noop).built, summaryOf(noop).upToDate], [[], [BASE]], `nothing to build the second time${seen(noop)}`);
  });

  test(`${builder}: a failed build names its Dockerfile line, prints no secret, moves no tag`, async () => {
    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    const config = dockerConfig('127.0.0.1:1', 'someone', secret);
    const result = await run(['test', FAIL, '--builder', builder, '--build-arg', `TOKEN=${secret}`, '--progress', 'plain'], { DOCKER_CONFIG: config });
    assert.is(result.code, 1, seen(result));
    const engineWords = builder === 'buildkit' ? 'exit code: 3' : 'returned a non-zero code: 3';
    assert.match(result.stderr, new RegExp(`^dockmk: build ${FAIL} failed at docker/build/${FAIL}/Dockerfile:4 \\(RUN echo "checking (\\$TOKEN|\\*\\*\\*)" && exit 3\\): .*${engineWords}\\n$`));
    assert.match(result.stdout, new RegExp(`\\[${FAIL}\\] (#\\d+ )?checking \\*\\*\\*`), 'the line is printed, the secret replaced');
    const everywhere = [result.stdout, result.stderr, ...walk(stateDir).map((file) => readFileSync(file, 'utf8'))];
    assert.not.ok(everywhere.some((text) => text.includes(secret)), 'the secret is in no output, log or history');
    assert.is(await imageId(`${FAIL}:test`), null);
  });

  test(`${builder}: Ctrl-C stops the build engine-side, leaves the tag where it was, and exits 130`, async () => {
    // The tag points somewhere before: it must point there after.
    await docker.getImage('debian:bookworm').tag({ repo: SLOW, tag: 'test' });
    const before = await imageId(`${SLOW}:test`);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/dockmk.js'), 'test', SLOW, '--builder', builder, '--force', '--root', root, '--progress', 'json'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const started = new RegExp(`"line":"(#\\d+ )?${MARKER} started"`);
    for await (const line of createInterface({ input: child.stdout })) {
      // The step's own output, not its header that quotes it: the step is running by then.
      if (started.test(line)) {
        child.kill('SIGINT');
        break;
      }
    }
    assert.is(await exited, 130, stderr);
    assert.match(stderr, /interrupted: running steps were cancelled, no tag was moved/);
    assert.is(await imageId(`${SLOW}:test`), before, 'the tag still points where it did');
    assert.equal(processesWith(`${MARKER} started`), [], 'no process of the step is left');
    const containers = (await docker.listContainers({ all: true })).filter((container) => container.Command.includes(MARKER));
    assert.equal(containers.map((container) => container.Id.slice(0, 12)), [], 'no container of the step is left');
  });
}

test('buildkit: RUN --mount=from= builds, with --builder buildkit and with auto on this engine', async () => {
  for (const argv of [['--builder', 'buildkit'], []]) {
    const result = await dockmk(['test', MOUNT, '--root', root, '--force', '--json', ...argv], { env: { ...env, DOCKMK_BUILDER: '' } });
    ok(result);
    assert.equal(events(result).filter((event) => event.event === 'builder').map((event) => event.builder), ['buildkit']);
    assert.is((await runCommand(`${MOUNT}:test`, ['cat', '/copied'])).trim(), `made in the builder stage ${ID}`);
  }
});

test('classic: RUN --mount is refused at its line before anything is built, with what to do', async () => {
  await docker.getImage(`${MOUNT}:test`).remove({ noprune: true }).catch(() => undefined);
  const result = await run(['test', MOUNT, '--builder', 'classic']);
  assert.is(result.code, 2, seen(result));
  assert.is(
    result.stderr,
    `dockmk: docker/build/${MOUNT}/Dockerfile:4: RUN --mount needs BuildKit, and this run uses the classic builder (--builder classic); nothing was built — build with --builder buildkit (or auto, the default)\n`,
  );
  assert.is(result.stdout, '', 'no step started');
  assert.is(await imageId(`${MOUNT}:test`), null);
});

test('buildkit: on an engine with no cache, --cache-from takes the steps from the pushed image; the session hands the registry its own credentials', async () => {
  const registry = await startRegistry();
  const engine = await startSecondEngine('bk', 214);
  try {
    const creds = { DOCKER_CONFIG: dockerConfig(registry.address, registry.username, registry.password) };
    const where = ['--registry', registry.address, '--namespace', NS, '--builder', 'buildkit'];
    ok(await run(['push', BASE, ...where], creds));
    await loadBaseImage(engine);

    const cacheFrom = `${registry.address}/${NS}/{service}:latest`;
    const built = await run(['test', BASE, ...where, '--engine', engine.address, '--cache-from', cacheFrom, '--json'], creds);
    ok(built);
    const lines = buildLines(built, BASE);
    const at = lines.findIndex((line) => parseStepHeader(line)?.text.startsWith('RUN echo "progress line one"'));
    assert.ok(at >= 0 && lines.slice(at + 1).includes(`${lines[at]?.split(' ')[0]} CACHED`), `the RUN step from the inline cache of the pushed image:\n${lines.join('\n')}`);
    assert.not.ok(lines.some((line) => line.endsWith('progress line one')), 'the step did not run');

    // FROM an image only the registry has (--pull never: dockmk pulls nothing first): BuildKit
    // fetches it itself, with the credentials the session gives for that registry.
    const child = await run(['build', CHILD, ...where, '--engine', engine.address, '--pull', 'never', '--json'], creds);
    ok(child);
    assert.equal(summaryOf(child).built, [CHILD]);
    const made = await engine.client.getImage(`${CHILD}:build`).inspect();
    assert.ok(made.Id.startsWith('sha256:'));
    assert.not.ok(child.stdout.includes(registry.password) || built.stdout.includes(registry.password), 'no password in the output');
  } finally {
    await engine.stop();
    await registry.dispose();
  }
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

test.after(async () => {
  const mine = (name: string): boolean => name.includes(ID);
  const images = (await docker.listImages()).filter((image) => [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some(mine));
  for (const image of images.sort((a, b) => b.Created - a.Created)) {
    for (const tag of (image.RepoTags ?? []).filter(mine)) await docker.getImage(tag).remove({ noprune: false }).catch(() => undefined);
  }
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
