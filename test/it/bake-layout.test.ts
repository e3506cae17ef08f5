// The opensource-server layout on the real engine: images/<name>/Dockerfile built from their own
// directories or the checkout root, parents by bare name through bake contexts, one Dockerfile
// built on two bases, COPY --from and RUN --mount=from of a sibling image; through `test` and
// `push` to the test registry, parents first. Names start with `bkl-` and the registry
// namespace is this file's own, since the engine and the registry are shared.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, commitAll, dockerConfig, dockmk, events, ok, registryGet, runCommand, summaryOf, tempDir, test, testRegistry } from './helpers.js';

const NAMESPACE = `bkl-it-${process.pid}`;

const FILES: Record<string, string> = {
  'images/bkl-base/Dockerfile': 'FROM debian:bookworm AS bkl-nodejs\nRUN echo stage > /stage\n\nFROM debian:bookworm\n# bkl-nodejs here is the stage above, not the service: a stage of the same file wins.\nCOPY --from=bkl-nodejs /stage /etc/bkl-stage\nCOPY motd /etc/bkl-motd\n',
  'images/bkl-base/motd': 'bkl base\n',
  'images/bkl-nodejs/Dockerfile': 'FROM bkl-base\nRUN echo nodejs > /etc/bkl-nodejs\n',
  // One Dockerfile, two images: `base` is bkl-base or bkl-nodejs by the target's contexts.
  'images/bkl-docker/Dockerfile': 'FROM base\nRUN echo docker > /etc/bkl-docker\n',
  // Root context: it copies files of the checkout; a scratch image of them.
  'images/bkl-builder/Dockerfile': 'FROM debian:bookworm AS build\nCOPY src/hello.txt /dist/hello.txt\n\nFROM scratch\nCOPY --from=build /dist /dist\n',
  'src/hello.txt': 'hello from the checkout\n',
  // Root context, COPY --from= of a sibling by its bare name.
  'images/bkl-agent/Dockerfile': 'FROM bkl-nodejs\nCOPY --from=bkl-builder /dist/hello.txt /opt/hello.txt\nCOPY images/bkl-agent/start.sh /opt/start.sh\n',
  'images/bkl-agent/start.sh': 'echo agent\n',
  // BuildKit only: RUN --mount=from= of a sibling.
  'images/bkl-mounter/Dockerfile': 'FROM bkl-base\nRUN --mount=from=bkl-builder,source=/dist,target=/mnt cp /mnt/hello.txt /opt-mounted.txt\n',
  'images/docker-bake.hcl': `
group "default" {
  targets = ["bkl-base", "bkl-nodejs", "bkl-docker", "bkl-docker-nodejs", "bkl-builder", "bkl-agent", "bkl-mounter"]
}
target "bkl-base" {
  context = "./bkl-base"
}
target "bkl-nodejs" {
  context  = "./bkl-nodejs"
  contexts = { bkl-base = "target:bkl-base" }
}
target "bkl-docker" {
  context  = "./bkl-docker"
  contexts = { base = "target:bkl-base" }
}
target "bkl-docker-nodejs" {
  context  = "./bkl-docker"
  contexts = { base = "target:bkl-nodejs" }
}
target "bkl-builder" {
  context    = "../"
  dockerfile = "images/bkl-builder/Dockerfile"
}
target "bkl-agent" {
  context    = "../"
  dockerfile = "images/bkl-agent/Dockerfile"
  contexts   = { bkl-nodejs = "target:bkl-nodejs", bkl-builder = "target:bkl-builder" }
}
target "bkl-mounter" {
  context  = "./bkl-mounter"
  contexts = { bkl-base = "target:bkl-base", bkl-builder = "target:bkl-builder" }
}
`,
};

function checkout(): { root: string; env: Record<string, string> } {
  const root = tempDir('dockmk-it-bake-');
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  writeFileSync(join(root, '.gitignore'), '.dockmk/\n');
  commitAll(root, 'the bake layout');
  return { root, env: { DOCKMK_STATE_DIR: tempDir('dockmk-it-state-') } };
}

/** Every build that ended before a build of a service built on it started. */
function assertParentsFirst(result: CliResult, edges: readonly [string, string][]): void {
  const all = events(result);
  const ended = (service: string): number => all.findIndex((e) => e.event === 'step-end' && e.step === `build ${service}`);
  const started = (service: string): number => all.findIndex((e) => e.event === 'step-start' && e.step === `build ${service}`);
  for (const [parent, child] of edges) {
    assert.ok(ended(parent) !== -1 && started(child) !== -1, `${parent} and ${child} were built`);
    assert.ok(ended(parent) < started(child), `${parent} ended before ${child} started`);
  }
}

const EDGES: readonly [string, string][] = [
  ['bkl-base', 'bkl-nodejs'],
  ['bkl-base', 'bkl-docker'],
  ['bkl-nodejs', 'bkl-docker-nodejs'],
  ['bkl-nodejs', 'bkl-agent'],
  ['bkl-builder', 'bkl-agent'],
];

test('BuildKit: test builds every target parents first, from its own context; the images hold what their parents and siblings gave', async () => {
  const { root, env } = checkout();
  const bake = ['--root', root, '--bake', join(root, 'images/docker-bake.hcl')];
  const listed = await dockmk(['list', ...bake, '--json'], { env });
  ok(listed);
  const parents = Object.fromEntries((JSON.parse(listed.stdout) as { name: string; parents: string[] }[]).map((s) => [s.name, s.parents]));
  assert.equal(parents, {
    'bkl-agent': ['bkl-builder', 'bkl-nodejs'],
    'bkl-base': [],
    'bkl-builder': [],
    'bkl-docker': ['bkl-base'],
    'bkl-docker-nodejs': ['bkl-nodejs'],
    'bkl-mounter': ['bkl-base', 'bkl-builder'],
    'bkl-nodejs': ['bkl-base'],
  });
  // --no-cache: built here, whatever an earlier run of this file left tagged.
  const result = await dockmk(['test', ...bake, '--builder', 'buildkit', '--no-cache', '--json'], { env });
  ok(result);
  assert.equal(summaryOf(result).built.sort(), Object.keys(parents).sort());
  assertParentsFirst(result, [...EDGES, ['bkl-builder', 'bkl-mounter']]);
  assert.is(await runCommand('bkl-base:test', ['cat', '/etc/bkl-motd', '/etc/bkl-stage']), 'bkl base\nstage\n', 'its own context, and its own stage');
  assert.is(await runCommand('bkl-docker:test', ['sh', '-c', 'cat /etc/bkl-docker; test ! -e /etc/bkl-nodejs && echo plain']), 'docker\nplain\n');
  assert.is(await runCommand('bkl-docker-nodejs:test', ['cat', '/etc/bkl-docker', '/etc/bkl-nodejs']), 'docker\nnodejs\n', 'the same Dockerfile on the other base');
  assert.is(await runCommand('bkl-agent:test', ['cat', '/opt/hello.txt', '/opt/start.sh', '/etc/bkl-nodejs']), 'hello from the checkout\necho agent\nnodejs\n');
  assert.is(await runCommand('bkl-mounter:test', ['cat', '/opt-mounted.txt']), 'hello from the checkout\n', 'RUN --mount=from= of a sibling');

  // A second run builds nothing: each context's files are its inputs.
  const again = await dockmk(['test', ...bake, '--builder', 'buildkit', '--json'], { env });
  ok(again);
  assert.equal(summaryOf(again).built, []);
  // A file of bkl-base's context rebuilds it and what is built on it, nothing else.
  writeFileSync(join(root, 'images/bkl-base/motd'), 'bkl base, again\n');
  const changed = await dockmk(['test', ...bake, '--builder', 'buildkit', '--json'], { env });
  ok(changed);
  assert.equal(summaryOf(changed).built.sort(), ['bkl-agent', 'bkl-base', 'bkl-docker', 'bkl-docker-nodejs', 'bkl-mounter', 'bkl-nodejs']);
});

test('classic builder: the same layout without the BuildKit-only image builds too; the RUN --mount image is refused at its line before anything is built', async () => {
  const { root, env } = checkout();
  const bake = ['--root', root, '--bake', join(root, 'images/docker-bake.hcl'), '--builder', 'classic'];
  const refused = await dockmk(['test', ...bake, 'bkl-mounter', '--json'], { env });
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /images\/bkl-mounter\/Dockerfile:2/);
  const result = await dockmk(['test', ...bake, 'bkl-agent', 'bkl-docker', 'bkl-docker-nodejs', '--no-cache', '--json'], { env });
  ok(result);
  assertParentsFirst(result, EDGES);
  assert.is(await runCommand('bkl-agent:test', ['cat', '/opt/hello.txt']), 'hello from the checkout\n');
  assert.is(await runCommand('bkl-docker-nodejs:test', ['cat', '/etc/bkl-nodejs']), 'nodejs\n');
});

test('push: every target to the registry, parents first, under its own namespace', async () => {
  const { root, env } = checkout();
  const registry = testRegistry();
  const config = dockerConfig(registry.address, registry.username, registry.password);
  const result = await dockmk(['push', '--root', root, '--bake', join(root, 'images/docker-bake.hcl'), '--registry', registry.address, '--namespace', NAMESPACE, '--json'], {
    env: { ...env, DOCKER_CONFIG: config },
  });
  ok(result);
  assertParentsFirst(result, EDGES);
  for (const service of ['bkl-base', 'bkl-nodejs', 'bkl-docker', 'bkl-docker-nodejs', 'bkl-builder', 'bkl-agent', 'bkl-mounter']) {
    const reply = await registryGet(registry, `${NAMESPACE}/${service}/tags/list`);
    assert.is(reply.status, 200, `${service} is in the registry`);
    const tags = ((await reply.json()) as { tags: string[] }).tags;
    assert.ok(tags.includes('latest'), `${service}:latest (${tags.join(', ')})`);
  }
});

test.run();
