// --build-arg and --no-cache reach a real build on the real engine (the recording engine of
// test/execute/ only shows that dockmk asks for them). A service of this file's own, in a temp
// checkout: its RUN writes the build arg and a random id into the image, so the image itself
// says which value the build saw and whether its RUN ran again or came from the cache.

import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseStepHeader } from '../../src/model/build-steps.js';
import { type CliResult, docker, dockmk, events, ok, runCommand, summaryOf, tempDir, test } from './helpers.js';

const SERVICE = `bopt-${randomBytes(3).toString('hex')}`;
const TAG = `${SERVICE}:test`;

function checkout(): { root: string; env: Record<string, string> } {
  const root = tempDir('dockmk-it-build-options-');
  mkdirSync(join(root, 'docker/build', SERVICE), { recursive: true });
  writeFileSync(
    join(root, 'docker/build', SERVICE, 'Dockerfile'),
    ['FROM debian:bookworm', 'ARG GREETING=from-the-dockerfile', 'RUN echo "$GREETING" > /greeting && cat /proc/sys/kernel/random/uuid > /build-id', ''].join('\n'),
  );
  roots.push(root);
  return { root, env: { DOCKMK_STATE_DIR: join(root, '.dockmk') } };
}

/** What the build said after its RUN step: "Using cache" or "Running in <container>". */
/** The line after the RUN step's header, and the builder that wrote it (classic and BuildKit say "cached" differently). */
function runStep(result: CliResult): { builder: string; next: string } {
  const builder = String(events(result).find((event) => event.event === 'builder')?.builder ?? 'classic');
  const lines = events(result)
    .filter((event) => event.event === 'step-output' && event.step === `build ${SERVICE}`)
    .map((event) => String(event.line));
  const at = lines.findIndex((line) => parseStepHeader(line)?.text.startsWith('RUN ') === true);
  assert.ok(at >= 0, `the build output has the RUN step:\n${lines.join('\n')}`);
  return { builder, next: lines[at + 1] ?? '' };
}

/** Whether the engine took the RUN step from its cache, in the words of the builder that ran it. */
function cached(result: CliResult): boolean {
  const { builder, next } = runStep(result);
  return builder === 'buildkit' ? /^#\d+ CACHED$/.test(next) : /Using cache/.test(next);
}

async function inImage(path: string): Promise<string> {
  return (await runCommand(TAG, ['cat', path])).trim();
}

const made: string[] = [];
const roots: string[] = [];

test('--build-arg reaches the build: the RUN sees its value, not the ARG default', async () => {
  const { root, env } = checkout();
  const built = await dockmk(['test', SERVICE, '--root', root, '--json', '--build-arg', `GREETING=hello-${SERVICE}`], { env });
  ok(built);
  assert.equal(summaryOf(built).built, [SERVICE]);
  assert.is(await inImage('/greeting'), `hello-${SERVICE}`);
  made.push((await docker.getImage(TAG).inspect()).Id);

  // Without it the build arg is an input that changed: rebuilt, with the default.
  const without = await dockmk(['test', SERVICE, '--root', root, '--json'], { env });
  ok(without);
  assert.equal(summaryOf(without).built, [SERVICE], 'a different build arg is a different input');
  assert.is(await inImage('/greeting'), 'from-the-dockerfile');
  made.push((await docker.getImage(TAG).inspect()).Id);
});

test('--no-cache reaches the build: the RUN runs again, where --force alone takes it from the cache', async () => {
  const { root, env } = checkout();
  const args = ['test', SERVICE, '--root', root, '--json', '--build-arg', 'GREETING=cached'];
  ok(await dockmk(args, { env }));
  const first = await inImage('/build-id');
  made.push((await docker.getImage(TAG).inspect()).Id);

  const forced = await dockmk([...args, '--force'], { env });
  ok(forced);
  assert.ok(cached(forced), `with the cache, the engine reuses the RUN layer (${JSON.stringify(runStep(forced))})`);
  assert.is(await inImage('/build-id'), first, 'the same layer: the RUN did not run');

  const uncached = await dockmk([...args, '--no-cache'], { env });
  ok(uncached);
  assert.equal(summaryOf(uncached).built, [SERVICE], '--no-cache builds even what is up to date');
  const { builder, next } = runStep(uncached);
  assert.not.ok(cached(uncached), `without the cache, the RUN runs again (${next})`);
  if (builder === 'classic') assert.match(next, /^ ---> Running in [0-9a-f]{12}/, 'in a new container');
  const second = await inImage('/build-id');
  assert.ok(second !== first, `a new layer: /build-id changed (${first} → ${second})`);
  assert.is(await inImage('/greeting'), 'cached', 'the build arg still reaches the uncached build');
});

test.after(async () => {
  await docker.getImage(TAG).remove({ force: true }).catch(() => undefined);
  for (const id of made) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

test.run();
