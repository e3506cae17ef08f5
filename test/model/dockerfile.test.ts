import * as assert from 'uvu/assert';
import { test } from '../helpers.js';
import { DiscoveryError } from '../../src/errors.js';
import { parseDockerfile, type BaseImage } from '../../src/model/dockerfile.js';
import { formatImageRef } from '../../src/model/image-ref.js';

const parse = (text: string, buildArgs: Record<string, string> = {}) => parseDockerfile('docker/build/x/Dockerfile', text, buildArgs);
const image = (base: BaseImage | undefined) =>
  base?.source.kind === 'image' ? formatImageRef(base.source.ref) : base?.source.kind;

test('ARG defaults before FROM are substituted; --build-arg overrides them', () => {
  const text = 'ARG BASE_IMAGE_TAG=latest\nFROM edxops/focal-common:${BASE_IMAGE_TAG}\n';
  assert.is(image(parse(text).stages[0]?.base), 'edxops/focal-common:latest');
  assert.is(parse(text).stages[0]?.base.written, 'edxops/focal-common:${BASE_IMAGE_TAG}');
  assert.is(image(parse(text, { BASE_IMAGE_TAG: 'v2' }).stages[0]?.base), 'edxops/focal-common:v2');
});

test('build args that no ARG declares do not reach FROM', () => {
  const dockerfile = parse('FROM edxops/x:${TAG:-latest}\n', { TAG: 'v9' });
  assert.is(image(dockerfile.stages[0]?.base), 'edxops/x:latest');
});

test('ARGs after FROM do not change later FROM lines', () => {
  const dockerfile = parse('ARG T=a\nFROM x:$T\nARG T=b\nFROM y:$T\n');
  assert.equal(dockerfile.stages.map((s) => image(s.base)), ['x:a', 'y:a']);
});

test('an ARG default may use an earlier ARG', () => {
  const dockerfile = parse('ARG A=focal\nARG B=ubuntu:${A}\nFROM $B\n');
  assert.is(image(dockerfile.stages[0]?.base), 'ubuntu:focal');
});

test('an ARG without value leaves the reference unresolved, with the repository still known', () => {
  const base = parse('ARG TAG\nFROM edxops/x:${TAG}\n').stages[0]?.base;
  assert.is(base?.source.kind, 'unresolved');
  if (base?.source.kind !== 'unresolved') return;
  assert.match(base.source.reason, /ARG TAG has no value/);
  assert.equal(base.source.repository, { domain: null, path: 'edxops/x', tag: null, digest: null });
});

test('lowercase from, --platform, AS and continued FROM lines', () => {
  const dockerfile = parse('from --platform=linux/amd64 \\\n  edxops/xenial-common:latest \\\n  AS Builder\nFROM builder\nCOPY --from=builder /a /b\n');
  const [first, second] = dockerfile.stages;
  assert.is(first?.platform, 'linux/amd64');
  assert.is(first?.alias, 'builder');
  assert.is(image(first?.base), 'edxops/xenial-common:latest');
  assert.equal([first?.base.line, first?.base.endLine], [1, 3]);
  assert.equal(second?.base.source, { kind: 'stage', stage: 'builder' });
  assert.equal(dockerfile.copyFrom, []);
});

test('COPY --from an image is a base; --from a stage index is not', () => {
  const dockerfile = parse('FROM a AS one\nCOPY --from=0 /x /y\nCOPY --chown=1 --from=edxops/tools:1 /t /t\n');
  assert.equal(dockerfile.copyFrom.map(image), ['edxops/tools:1']);
  assert.is(dockerfile.copyFrom[0]?.instruction, 'COPY');
});

test('scratch is neither an image nor a stage', () => {
  assert.equal(parse('FROM scratch\n').stages[0]?.base.source, { kind: 'scratch' });
});

test('finds ansible-playbook runs with their tags, through sudo and in JSON form', () => {
  const dockerfile = parse(
    [
      'FROM a',
      "RUN sudo /edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook -v forum.yml \\",
      "    -i '127.0.0.1,' -c local \\",
      '    -t "install:base,install:code,devstack:install" --extra-vars="@/ansible_overrides.yml"',
      'RUN ["ansible-playbook", "other.yml", "--tags=install:base", "--skip-tags", "devstack"]',
      'RUN cd /x && ansible-playbook -i, ./docker/plays/third.yaml && echo done',
    ].join('\n'),
  );
  assert.equal(
    dockerfile.playbookRuns.map((run) => [run.line, run.playbook, run.sudo, run.tags, run.skipTags]),
    [
      [2, 'forum.yml', true, ['install:base', 'install:code', 'devstack:install'], []],
      [5, 'other.yml', false, ['install:base'], ['devstack']],
      [6, './docker/plays/third.yaml', false, [], []],
    ],
  );
});

test('errors name file:line and say how to fix', () => {
  const cases: [string, RegExp, number | undefined][] = [
    ['FROM\n', /:1: FROM needs an image/, 1],
    ['FROM a b\n', /:1: FROM takes an image and optionally "AS <name>"/, 1],
    ['\n\nFROM --network=host a\n', /:3: FROM does not take the flag --network/, 3],
    ['RUN true\nFROM a\n', /:1: RUN before the first FROM/, 1],
    ['# only a comment\n', /Dockerfile: no FROM instruction/, undefined],
    ['FROM a AS 1st\n', /"1st" is not a valid stage name/, 1],
  ];
  for (const [text, message, line] of cases) {
    try {
      parse(text);
      assert.unreachable(`accepted ${JSON.stringify(text)}`);
    } catch (error) {
      assert.instance(error, DiscoveryError);
      assert.match((error as Error).message, message);
      assert.is((error as DiscoveryError).line, line);
      assert.ok((error as Error).message.startsWith('docker/build/x/Dockerfile'));
    }
  }
});

test('a BOM and CRLF line ends: the parent is read; an invalid escape directive is an error at its line', () => {
  const parsed = parseDockerfile('docker/build/x/Dockerfile', '\uFEFF# escape=`\r\nFROM edxops/base:latest `\r\n  AS build\r\nRUN ansible-playbook x.yml\r\n');
  assert.equal(parsed.stages.map((stage) => [stage.base.image, stage.alias]), [['edxops/base:latest', 'build']]);
  assert.equal(parsed.playbookRuns.map((run) => [run.playbook, run.line]), [['x.yml', 4]]);
  assert.throws(
    () => parseDockerfile('docker/build/x/Dockerfile', '# escape=x\nFROM a\n'),
    (error: unknown) => error instanceof DiscoveryError && error.message === 'docker/build/x/Dockerfile:1: invalid escape directive "x": Docker takes only ` or \\',
  );
});

test('RUN --mount=from= reads an image unless it names a stage or a stage index', () => {
  const text = [
    'FROM debian:bookworm AS build',
    'FROM debian:bookworm',
    'RUN --mount=type=bind,from=build,source=/a,target=/a --mount=from=0,target=/b true',
    'RUN --network=none --mount=type=cache,target=/c --mount="from=builder,source=/dist,target=/dist" true',
    'RUN --mount=type=bind,source=/x,target=/x,from=ghcr.io/acme/tools:1 true',
  ].join('\n');
  const { copyFrom } = parseDockerfile('images/x/Dockerfile', text);
  assert.equal(copyFrom.map((base) => [base.instruction, base.line, base.image]), [['RUN', 4, 'builder'], ['RUN', 5, 'ghcr.io/acme/tools:1']]);
  assert.is(parseDockerfile('images/x/Dockerfile', text).mountsContext, false, 'cache mounts and mounts of images read no context');
  assert.is(parseDockerfile('images/x/Dockerfile', 'FROM debian\nRUN --mount=target=/src make -C /src\n').mountsContext, true, 'a bind mount without from= binds the context');
});

test.run();
