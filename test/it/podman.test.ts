// Podman as the engine: Debian's podman serving the Docker API (`podman system service`, which
// `npm run setup` starts and records in .dockmk/setup/podman.json; DOCKMK_TEST_PODMAN=unix://…
// names another). dockmk builds (on the classic builder: Podman has no BuildKit), finds the
// images up to date, pushes to a registry of this file's own, names a failed step's line, and
// refuses BuildKit-only syntax before building.
//
// Podman lacks debian:bookworm at first, and it cannot be pulled here: the shared engine's copy
// goes to this file's registry, and dockmk pulls it into Podman from there, as a user's Podman
// would get its base images. (A `podman load` of `docker save` would skip the registry path, the
// one this test is about.) It stays in Podman's storage, as setup leaves it in dockerd's.
// Without a Podman service the test says so loudly; under CI=true that is a failure.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import * as assert from 'uvu/assert';
import { parseStepHeader } from '../../src/model/build-steps.js';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { type CliResult, docker, dockerConfig, dockmk, events, ok, summaryOf, test } from './helpers.js';
import { startRegistry, type OwnRegistry } from './registry.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const recorded = join(REPO_ROOT, '.dockmk', 'setup', 'podman.json');
const address =
  process.env.DOCKMK_TEST_PODMAN ?? (existsSync(recorded) ? (JSON.parse(readFileSync(recorded, 'utf8')) as { address: string }).address : null);

const ID = randomBytes(3).toString('hex');
const NS = `pmns${ID}`;
const BASE = `pm-base-${ID}`;
const APP = `pm-app-${ID}`;
const FAIL = `pm-fail-${ID}`;
const MOUNT = `pm-mount-${ID}`;

const tmp = tempDir('dockmk-it-podman-');
const root = join(tmp, 'checkout');
const env = { DOCKMK_STATE_DIR: join(tmp, 'state') };

function writeCheckout(): void {
  const files: Record<string, string> = {
    'release.txt': `podman release ${ID}\n`,
    [`docker/build/${BASE}/Dockerfile`]: ['FROM debian:bookworm', 'COPY release.txt /etc/pm-release', 'RUN echo "base built on podman" && cat /etc/pm-release', ''].join('\n'),
    [`docker/build/${APP}/Dockerfile`]: [`FROM edxops/${BASE}:latest`, 'RUN cat /etc/pm-release > /etc/pm-app', ''].join('\n'),
    [`docker/build/${FAIL}/Dockerfile`]: ['FROM debian:bookworm', 'RUN echo one', 'RUN echo "failing on podman" && exit 4', ''].join('\n'),
    [`docker/build/${MOUNT}/Dockerfile`]: ['FROM debian:bookworm AS b', 'RUN echo x > /x', 'FROM debian:bookworm', 'RUN --mount=from=b,source=/x,target=/x cat /x', ''].join('\n'),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const seen = (result: CliResult): string => `\n--- stderr\n${result.stderr}\n--- stdout (end)\n${result.stdout.slice(-3000)}`;

if (address === null) {
  const banner = '!'.repeat(78);
  console.error(`\n${banner}\n!! PODMAN TEST SKIPPED: no Podman service (npm run setup starts one; DOCKMK_TEST_PODMAN=unix://… names another)\n${banner}\n`);
  test('the Podman test needs a Podman service', () => {
    if (ci) assert.unreachable('CI=true and no Podman service answers: the Podman test cannot run');
  });
} else {
  const podman = new Docker({ socketPath: address.replace(/^unix:\/\//, '') });
  let registry: OwnRegistry | null = null;
  let config = '';
  const run = (argv: string[]): Promise<CliResult> =>
    dockmk([...argv, '--root', root, '--engine', address], { env: { ...env, DOCKER_CONFIG: config, DOCKMK_BUILDER: '' } });

  test.before(async () => {
    writeCheckout();
    registry = await startRegistry();
    config = dockerConfig(registry.address, registry.username, registry.password);
    const base = await docker.getImage('debian:bookworm').inspect();
    const present = await podman.getImage('debian:bookworm').inspect().catch(() => null);
    if (present?.Id === base.Id) return;
    // The shared engine's debian:bookworm, through the registry, into Podman.
    const staged = `${registry.address}/${NS}/debian:bookworm`;
    await docker.getImage('debian:bookworm').tag({ repo: `${registry.address}/${NS}/debian`, tag: 'bookworm' });
    try {
      const pushed = await docker.getImage(`${registry.address}/${NS}/debian`).push({ tag: 'bookworm', authconfig: { username: registry.username, password: registry.password, serveraddress: registry.address } });
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(pushed, (error: Error | null, out: { error?: string }[]) => (error || out.some((m) => m.error) ? reject(error ?? new Error(JSON.stringify(out.at(-1)))) : resolve())));
    } finally {
      await docker.getImage(staged).remove({ noprune: true }).catch(() => undefined);
    }
    const pulled = await dockmk(['pull', staged, '--engine', address], { env: { ...env, DOCKER_CONFIG: config } });
    ok(pulled);
    // In full: Podman would resolve a short `debian` to the staged name, and tag nothing.
    await podman.getImage(staged).tag({ repo: 'docker.io/library/debian', tag: 'bookworm' });
    await podman.getImage(staged).remove({ noprune: true });
    assert.is((await podman.getImage('debian:bookworm').inspect()).Id, base.Id, 'the same image in Podman');
  });

  test('builds on Podman with the classic builder: progress in its own step headers, the labels', async () => {
    const result = await run(['test', APP, '--json']);
    ok(result);
    const builder = events(result).find((event) => event.event === 'builder');
    assert.equal([builder?.builder, /Podman .* Buildah/.test(String(builder?.reason))], ['classic', true], `auto picks classic on Podman${seen(result)}`);
    assert.equal(summaryOf(result).built, [BASE, APP]);
    const lines = events(result).filter((event) => event.event === 'step-output' && event.step === `build ${BASE}`).map((event) => String(event.line));
    assert.ok(lines.some((line) => parseStepHeader(line)?.kind === 'buildah'), `Buildah's STEP headers:\n${lines.join('\n')}`);
    assert.ok(lines.includes('base built on podman'), lines.join('\n'));
    const labels = (await podman.getImage(`${APP}:test`).inspect()).Config.Labels ?? {};
    assert.is(labels['org.opencontainers.image.title'], APP);
    assert.match(labels['org.dockmk.inputs'] ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.is(await docker.getImage(`${APP}:test`).inspect().then(() => 'on dockerd', () => 'not on dockerd'), 'not on dockerd');
  });

  test('a second run on Podman builds nothing: every image is up to date', async () => {
    const result = await run(['test', APP, '--json']);
    ok(result);
    assert.equal([summaryOf(result).built, summaryOf(result).upToDate], [[], [BASE, APP]], seen(result));
  });

  test('pushes through Podman to a registry: key ref and latest, the digest the registry holds', async () => {
    const own = registry as OwnRegistry;
    const result = await run(['push', APP, '--registry', own.address, '--namespace', NS, '--json']);
    ok(result);
    const latest = `${own.address}/${NS}/${APP}:latest`;
    assert.equal(summaryOf(result).pushed, [latest]);
    const digest = await own.digest(`${NS}/${APP}`, 'latest');
    assert.ok(digest !== null, 'latest is in the registry');
    const keys = (await own.tags(`${NS}/${APP}`)) ?? [];
    assert.ok(keys.some((tag) => tag.startsWith('key-')), `the key ref too: ${keys.join(', ')}`);
    const keyPush = events(result).find((event) => event.event === 'step-end' && String(event.step).startsWith(`push ${own.address}/${NS}/${APP}:key-`));
    assert.is(keyPush?.digest, await own.digest(`${NS}/${APP}`, keys.find((tag) => tag.startsWith('key-')) as string), 'the pushed digest, read from what Podman says');
    assert.not.ok(result.stdout.includes(own.password) || result.stderr.includes(own.password));
  });

  test('a failed build on Podman names its Dockerfile line', async () => {
    const result = await run(['test', FAIL]);
    assert.is(result.code, 1, seen(result));
    assert.match(result.stderr, new RegExp(`^dockmk: build ${FAIL} failed at docker/build/${FAIL}/Dockerfile:3 \\(RUN echo "failing on podman" && exit 4\\): .*exit status 4`));
  });

  test('BuildKit-only syntax is refused on Podman before anything is built; --builder buildkit too', async () => {
    const auto = await run(['test', MOUNT]);
    assert.is(auto.code, 2, seen(auto));
    assert.match(auto.stderr, new RegExp(`^dockmk: docker/build/${MOUNT}/Dockerfile:4: RUN --mount needs BuildKit, and Podman [^ ]+ at ${address.replace(/[/.]/g, '\\$&')} offers only the classic builder.*nothing was built — use an engine that offers BuildKit`));
    const asked = await run(['test', MOUNT, '--builder', 'buildkit']);
    assert.is(asked.code, 2, seen(asked));
    assert.match(asked.stderr, /^dockmk: --builder buildkit: Podman [^ ]+ at .* does not offer BuildKit/);
    assert.is(await podman.getImage(`${MOUNT}:test`).inspect().then(() => true, () => false), false);
  });

  test.after(async () => {
    await registry?.dispose();
    const mine = (name: string): boolean => name.includes(ID);
    const images = (await podman.listImages()).filter((image) => [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some(mine));
    for (const image of images.sort((a, b) => b.Created - a.Created)) {
      for (const tag of (image.RepoTags ?? []).filter(mine)) await podman.getImage(tag).remove().catch(() => undefined);
    }
    rmSync(tmp, { recursive: true, force: true });
  });
}

test.run();
