import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { tempDir, test } from '../helpers.js';
import { loadConfig, parseBuildArgs } from '../../src/config/config.js';
import { main } from '../../src/cli/main.js';
import { ConfigError } from '../../src/errors.js';

function checkout(configText?: string): string {
  const root = tempDir('dockmk-config-');
  if (configText !== undefined) writeFileSync(join(root, 'dockmk.yml'), configText);
  return root;
}

test('defaults: edxops on Docker Hub, legacy paths, ~/.docker credentials', () => {
  const root = checkout();
  const config = loadConfig({}, { HOME: '/home/u' }, root);
  assert.is(config.root, root);
  assert.is(config.namespace, 'edxops');
  assert.is(config.registry, null);
  assert.is(config.dockerConfigDir, '/home/u/.docker');
  assert.equal(config.paths, { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' });
  assert.ok(Object.isFrozen(config));
});

test('flags beat the environment, which beats dockmk.yml', () => {
  const root = checkout('namespace: from-file\nregistry: ghcr.io\nbuildArgs:\n  A: file\n  B: file\npaths:\n  build: images\n');
  assert.is(loadConfig({}, {}, root).namespace, 'from-file');
  assert.is(loadConfig({}, { DOCKMK_NAMESPACE: 'from-env' }, root).namespace, 'from-env');
  assert.is(loadConfig({ namespace: 'from-flag' }, { DOCKMK_NAMESPACE: 'from-env' }, root).namespace, 'from-flag');
  const config = loadConfig({ buildArgs: ['B=flag'] }, { DOCKER_CONFIG: '/creds' }, root);
  assert.equal(config.buildArgs, { A: 'file', B: 'flag' });
  assert.is(config.registry, 'ghcr.io');
  assert.is(config.paths.build, 'images');
  assert.is(config.dockerConfigDir, '/creds');
});

test('--build-arg NAME takes the value from the environment, as docker build does', () => {
  assert.equal(parseBuildArgs(['A=1=2', 'B', 'C'], { B: 'env' }), { A: '1=2', B: 'env' });
  assert.throws(() => parseBuildArgs(['=x'], {}), /does not start with a valid name/);
});

test('registry hosts are normalized; paths in them are refused with the fix', () => {
  const root = checkout();
  assert.is(loadConfig({ registry: 'https://localhost:5000/' }, {}, root).registry, 'localhost:5000');
  assert.is(loadConfig({ registry: 'docker.io' }, {}, root).registry, null);
  assert.throws(() => loadConfig({ registry: 'ghcr.io/openedx' }, {}, root), (error: unknown) =>
    error instanceof ConfigError && /--namespace openedx/.test(error.hint ?? ''),
  );
  assert.throws(() => loadConfig({ namespace: 'Bad Name' }, {}, root), /not a valid repository path/);
});

test('dockmk.yml errors name the file and line', () => {
  const cases: [string, RegExp][] = [
    ['namespace: a\nregistyr: x\n', /^dockmk\.yml:2: unknown setting "registyr"/],
    ['paths:\n  roles: r\n  bogus: b\n', /^dockmk\.yml:3: unknown path "bogus"/],
    ['namespace: [unclosed\n', /^dockmk\.yml:\d+: /],
    ['- a\n', /^dockmk\.yml:1: expected a mapping/],
    ['labels:\n  com.example.team: edx\n  "bad key": x\n', /^dockmk\.yml:3: labels: "bad key" is not a valid label key/],
    ['labels:\n  org.dockmk.inputs: x\n', /^dockmk\.yml:2: labels: label "org\.dockmk\.inputs" is dockmk's own/],
    ['cacheFrom: ghcr.io/x\n', /^dockmk\.yml:1: cacheFrom must be a list of image references/],
    ['publish:\n  tags: auto\n  latset: always\n', /^dockmk\.yml:3: unknown publish setting "latset"/],
    ['publish:\n  tags: auto\n  retries: many\n', /^dockmk\.yml:3: publish\.retries "many" is not valid/],
    ['publish:\n  tags: every\n', /^dockmk\.yml:2: publish\.tags "every" is not valid/],
  ];
  for (const [text, message] of cases) assert.throws(() => loadConfig({}, {}, checkout(text)), message);
});

test('labels, cache sources and publish settings: dockmk.yml, then flags', () => {
  const root = checkout('labels:\n  com.example.team: edx\ncacheFrom: ["ghcr.io/o/{service}:cache"]\npublish:\n  tags: auto\n  latest: never\n  defaultBranch: master\n  retries: 5\n');
  const config = loadConfig({}, {}, root);
  assert.equal(config.labels, { 'com.example.team': 'edx' });
  assert.equal(config.cacheFrom, ['ghcr.io/o/{service}:cache']);
  assert.equal(config.publish, { tags: 'auto', latest: 'never', longSha: false, defaultBranch: 'master', retries: 5 });
  const flagged = loadConfig({ root, labels: ['com.example.team=platform', 'x.y=1=2'], cacheFrom: [], tags: 'latest', retries: 0 }, {}, '/');
  assert.equal(flagged.labels, { 'com.example.team': 'platform', 'x.y': '1=2' });
  assert.equal(flagged.cacheFrom, []);
  assert.is(flagged.publish.tags, 'latest');
  assert.is(flagged.publish.retries, 0);
  assert.equal(loadConfig({}, {}, checkout()).publish, { tags: 'latest', latest: 'default-branch', longSha: false, defaultBranch: null, retries: 3 });
  assert.throws(() => loadConfig({ labels: ['novalue'] }, {}, checkout()), /--label "novalue" is not KEY=VALUE/);
  assert.throws(() => loadConfig({ retries: -1 }, {}, checkout()), /retries -1 is not a whole number/);
});

test('dockmk.yml faults: a duplicate key, a wrong type at a nested key, an empty file — one line with file:line', () => {
  const cases: [string, RegExp][] = [
    ['namespace: a\nnamespace: b\n', /^dockmk\.yml:2: namespace is set twice \(first at line 1\)$/],
    ['paths:\n  roles: r\n  build: a\n  build: b\n', /^dockmk\.yml:4: paths\.build is set twice \(first at line 3\)$/],
    ['paths:\n  build: [images]\n', /^dockmk\.yml:2: paths\.build must be a string, not a list$/],
    ['buildArgs:\n  A: {x: 1}\n', /^dockmk\.yml:2: buildArgs\.A must be a string, not a mapping$/],
    ['publish:\n  retries: [1]\n', /^dockmk\.yml:2: publish\.retries must be a string, not a list$/],
    ['paths:\n  build:\n', /^dockmk\.yml:2: paths\.build has no value$/],
    ['namespace:\n', /^dockmk\.yml:1: namespace has no value$/],
    ['namespace: true\n', /^dockmk\.yml:1: namespace must be a string, not true$/],
    ['weights:\n  forum: [1]\n', /^dockmk\.yml:2: the weight of "forum" must be a positive number/],
    ['', /^dockmk\.yml:1: the file is empty$/],
    [' \n\n', /^dockmk\.yml:1: the file is empty$/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => loadConfig({}, {}, checkout(text)),
      (error: unknown) => error instanceof ConfigError && message.test(error.message) && !error.message.includes('\n'),
      JSON.stringify(text),
    );
  }
});

test('dockmk.yml of comments only is every default; numbers and true/false are taken where they may be', () => {
  assert.is(loadConfig({}, {}, checkout('# every key optional\n# namespace: x\n')).namespace, 'edxops');
  const config = loadConfig({}, {}, checkout('namespace: 2024\nbuildArgs:\n  DEBUG: true\n  N: 3\npublish:\n  longSha: true\n'));
  assert.is(config.namespace, '2024');
  assert.equal(config.buildArgs, { DEBUG: 'true', N: '3' });
  assert.is(config.publish.longSha, true);
});

test('a directory named dockmk.yml: one line, exit 2, not a crash', async () => {
  const root = checkout();
  mkdirSync(join(root, 'dockmk.yml'));
  assert.throws(() => loadConfig({}, {}, root), (error: unknown) => error instanceof ConfigError && error.message === 'dockmk.yml is a directory, not a file');
  let stderr = '';
  const code = await main(['list'], {
    stdout: { write: () => true },
    stderr: { write: (text: string) => ((stderr += text), true) },
    env: { HOME: '/nonexistent' },
    cwd: root,
    signal: new AbortController().signal,
    now: () => 0,
  });
  assert.is(code, 2);
  assert.is(stderr, `dockmk: dockmk.yml is a directory, not a file — dockmk reads its settings from the file dockmk.yml at the checkout root: rename or remove the directory ${join(root, 'dockmk.yml')}\n`);
});

test.run();
