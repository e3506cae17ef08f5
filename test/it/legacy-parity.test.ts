// The legacy docker.mk targets, done right, on the real engine and the real registry.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from './helpers.js';
import { REPO_ROOT } from '../helpers.js';
import {
  copyOfCheckout,
  docker,
  dockerConfig,
  dockmk,
  eventually,
  httpGet,
  imageId,
  layers,
  processesWith,
  registryGet,
  runCommand,
  runImage,
  testRegistry,
  events,
  ok,
  summaryOf,
} from './helpers.js';

const registry = testRegistry();
const greeting = /HELLO_GREETING:\s*"([^"]+)"/.exec(readFileSync(join(REPO_ROOT, 'docker/build/hello-app/ansible_overrides.yml'), 'utf8'))?.[1];

async function manifestDigest(repository: string): Promise<string | null> {
  const response = await registryGet(registry, `${repository}/manifests/latest`, 'application/vnd.docker.distribution.manifest.v2+json');
  return response.ok ? response.headers.get('docker-content-digest') : null;
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length < of.length && prefix.every((layer, i) => of[i] === layer);
}

test('docker:test of the deepest service rebuilds its parents as :test; the image runs and answers', async () => {
  const result = await dockmk(['test', 'hello-app', '--json', '--force']);
  ok(result);
  assert.equal(summaryOf(result).built, ['bookworm-common', 'python-app-common', 'hello-app']);
  const [base, middle, app] = await Promise.all(['bookworm-common:test', 'python-app-common:test', 'hello-app:test'].map(layers));
  assert.ok(isPrefix(base ?? [], middle ?? []), 'python-app-common:test is built on bookworm-common:test');
  assert.ok(isPrefix(middle ?? [], app ?? []), 'hello-app:test is built on python-app-common:test');

  const running = await runImage('hello-app:test', 8080);
  try {
    const body = JSON.parse(await eventually(() => httpGet(running.port))) as { greeting: string; base: { release: string } };
    assert.is(body.greeting, greeting);
    assert.is(body.base.release, 'dockmk-examples-1');
  } finally {
    await running.stop();
  }
});

test('the base images do their part: release stamp, locale, legacy ansible path, app user', async () => {
  assert.is(await runCommand('bookworm-common:test', ['cat', '/etc/edx-release']), 'release: dockmk-examples-1\nbanner: bookworm-common: the dockmk example base image\n');
  assert.match(await runCommand('bookworm-common:test', ['/edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook', '--version']), /^ansible-playbook \[core /);
  assert.match(await runCommand('bookworm-common:test', ['locale', '-a']), /en_US\.utf8/);
  assert.match(await runCommand('python-app-common:test', ['id', 'app']), /uid=\d+\(app\)/);
});

test('docker:pkg builds on packaged parents (<X>:latest), never on the :test ones', async () => {
  // Without the :test tags, a pkg that still built on them (the legacy bug) would fail.
  for (const ref of ['bookworm-common:test', 'python-app-common:test']) await docker.getImage(ref).remove({ noprune: true });
  const result = await dockmk(['pkg', 'hello-app', '--json', '--force']);
  ok(result);
  assert.equal(summaryOf(result).built, ['bookworm-common', 'python-app-common', 'hello-app']);
  assert.ok(isPrefix(await layers('python-app-common:latest'), await layers('hello-app:latest')));
  const running = await runImage('hello-app:latest', 8080);
  try {
    assert.match(await eventually(() => httpGet(running.port, '/health')), /OK/);
  } finally {
    await running.stop();
  }
});

test('a service whose only parent is external builds and answers (memcached)', async () => {
  const result = await dockmk(['test', 'memcached', '--json']);
  ok(result);
  const summary = summaryOf(result);
  assert.equal([...summary.built, ...summary.upToDate], ['memcached']);
  const running = await runImage('memcached:test', 11211);
  try {
    const reply = await eventually(() => memcached(running.port, 'stats settings\r\n'));
    assert.match(reply, /STAT maxbytes 33554432\r\n/, 'MEMCACHED_MEMORY_MB: 32 from ansible_overrides.yml');
  } finally {
    await running.stop();
  }
});

test('nginx answers HTTP with the page its overrides describe', async () => {
  const result = await dockmk(['test', 'nginx', '--force', '--progress', 'plain']);
  ok(result);
  // The classic builder's step header, or BuildKit's (the base named in full).
  assert.match(result.stdout, /\[nginx\] (Step 1\/\d+ : FROM bookworm-common:test|#\d+ \[1\/\d+\] FROM docker\.io\/library\/bookworm-common:test)\n/);
  const running = await runImage('nginx:test', 80);
  try {
    assert.match(await eventually(() => httpGet(running.port)), /<h1>dockmk nginx example: it works<\/h1>/);
  } finally {
    await running.stop();
  }
});

test('docker:push lands the image in the registry with auth; parents are built, not pushed', async () => {
  const config = dockerConfig(registry.address, registry.username, registry.password);
  const result = await dockmk(['push', 'hello-app', '--registry', registry.address, '--json'], { env: { DOCKER_CONFIG: config } });
  ok(result);
  const summary = summaryOf(result);
  assert.equal(summary.pushed, [`${registry.address}/edxops/hello-app:latest`]);
  const tags = (await (await registryGet(registry, 'edxops/hello-app/tags/list')).json()) as { tags: string[] };
  assert.ok(tags.tags.includes('latest'));
  const pushed = events(result).find((event) => event.event === 'step-end' && event.step === `push ${registry.address}/edxops/hello-app:latest`);
  assert.is(pushed?.digest, await manifestDigest('edxops/hello-app'));
  assert.not.ok(result.stdout.includes(registry.password), 'the password is never printed');

  const pulled = await dockmk(['pull', `${registry.address}/edxops/hello-app:latest`], { env: { DOCKER_CONFIG: config } });
  ok(pulled);
});

test('docker:build builds on the published parents, here resolved against the private registry', async () => {
  const config = dockerConfig(registry.address, registry.username, registry.password);
  const env = { DOCKER_CONFIG: config };
  ok(await dockmk(['push', 'python-app-common', '--registry', registry.address], { env }));
  const published = `${registry.address}/edxops/python-app-common:latest`;
  // Not on the engine: a push that found it in the registry under its key (an earlier test pushed
  // it) wrote its refs registry-side and tagged nothing here; one that built it did.
  await docker.getImage(published).remove({ noprune: true }).catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 404) throw error;
  });
  assert.is(await imageId(published), null, `${published} is not on the engine`);
  const result = await dockmk(['build', 'hello-app', '--registry', registry.address, '--json'], { env });
  ok(result);
  assert.ok(events(result).some((event) => event.event === 'step-end' && event.step === `pull ${published}` && event.status === 'done'), 'the parent is pulled from the registry');
  assert.ok(isPrefix(await layers(published), await layers('hello-app:build')));
});

test('a wrong password fails with one clear line, before anything is built or pushed', async () => {
  const before = await manifestDigest('edxops/nginx');
  const secret = 'not-the-password-4711';
  const config = dockerConfig(registry.address, registry.username, secret);
  const result = await dockmk(['push', 'nginx', '--registry', registry.address], { env: { DOCKER_CONFIG: config } });
  assert.is(result.code, 1);
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`^dockmk: registry ${registry.address.replace(/\./g, '\\.')} refused the credentials: .*401.*nothing was built or pushed`));
  assert.not.match(result.stderr + result.stdout, new RegExp(secret));
  assert.not.match(result.stdout, /==> \[/, 'no step started');
  assert.is(await manifestDigest('edxops/nginx'), before);
});

test('without credentials the registry refusal is reported with how to log in; nothing lands', async () => {
  const before = await manifestDigest('edxops/memcached');
  const result = await dockmk(['push', 'memcached', '--registry', registry.address]);
  assert.is(result.code, 1);
  const address = registry.address.replace(/\./g, '\\.');
  // Asked before anything is built: the registry is where a push starts (its build keys, its latest).
  assert.match(result.stderr, new RegExp(`^dockmk: registry ${address} asks for credentials .*, and .*config\\.json has none for it; nothing was built or pushed — run \`docker login ${address}\``));
  assert.not.match(result.stdout, /==> \[/, 'no step started');
  assert.is(await manifestDigest('edxops/memcached'), before);
});

test('a failed build names the Dockerfile line, shows the play output, and leaves no tag or container', async () => {
  const root = copyOfCheckout();
  mkdirSync(join(root, 'docker/build/broken'));
  writeFileSync(
    join(root, 'docker/build/broken/Dockerfile'),
    [
      'FROM edxops/bookworm-common:latest',
      'ADD . /edx/app/edx_ansible/edx_ansible',
      'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays',
      'RUN ansible-playbook broken.yml \\',
      "    -i '127.0.0.1,' -c local",
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'docker/plays/broken.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - fail: { msg: "intentional failure for the test" }\n');
  const result = await dockmk(['test', 'broken', '--root', root]);
  assert.is(result.code, 1);
  // The engine's words: the classic builder's, or BuildKit's.
  assert.match(result.stderr, /^dockmk: build broken failed at docker\/build\/broken\/Dockerfile:4 \(RUN ansible-playbook --skip-tags=devstack:install broken\.yml .*\): (The command .* returned a non-zero code: 2|.*exit code: 2)\n$/);
  assert.match(result.stdout, /\[broken\] .*intentional failure for the test/);
  assert.is(await imageId('broken:test'), null, 'no tag for a failed build');
  // This build's containers only: others may share the engine.
  const left = (await docker.listContainers({ all: true })).filter((container) => container.Command.includes('broken.yml'));
  assert.equal(left.map((container) => container.Id.slice(0, 12)), [], 'no container left behind');
  assert.equal(processesWith('broken.yml'), [], 'no process of the build left behind (BuildKit runs steps as processes)');
});

test('a change to the base play shows up in the child after docker:test (on a copy of the checkout)', async () => {
  const root = copyOfCheckout();
  const defaults = join(root, 'playbooks/roles/common/defaults/main.yml');
  const release = `dockmk-it-${Date.now()}`;
  writeFileSync(defaults, readFileSync(defaults, 'utf8').replace(/^COMMON_RELEASE: .*$/m, `COMMON_RELEASE: "${release}"`));
  const result = await dockmk(['test', 'hello-app', '--root', root, '--json']);
  ok(result);
  const running = await runImage('hello-app:test', 8080);
  try {
    const body = JSON.parse(await eventually(() => httpGet(running.port))) as { base: { release: string } };
    assert.is(body.base.release, release);
  } finally {
    await running.stop();
  }
});

function memcached(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.endsWith('END\r\n') || reply.startsWith('VERSION')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => (reply ? resolve(reply) : reject(new Error('closed without a reply'))));
  });
}

test.run();
