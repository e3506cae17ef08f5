import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DiscoveryError, UsageError } from '../../src/errors.js';
import { parseDockerfile } from '../../src/model/dockerfile.js';
import { layerOverrides, parseOverrideAssignment, parseOverrides, renderOverrides } from '../../src/model/overrides.js';
import { applyFlavor } from '../../src/plan/flavor.js';
import { fixturePath, test } from '../helpers.js';

const flavored = (text: string, flavor: 'plain' | 'devstack'): string => applyFlavor(parseDockerfile('docker/build/x/Dockerfile', text), text, flavor);

const LEGACY_RUN = [
  'FROM edxops/focal-common:latest',
  'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays',
  'RUN sudo /edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook forum.yml \\',
  "    -i '127.0.0.1,' -c local \\",
  "    -t 'install:base,install:configuration,devstack:install' \\",
  '    --extra-vars=@/ansible_overrides.yml',
  'CMD ["forum"]',
  '',
].join('\n');

test('plain: --skip-tags is added on the ansible-playbook word itself, through sudo, keeping every line in place', () => {
  const out = flavored(LEGACY_RUN, 'plain');
  const lines = out.split('\n');
  assert.is(lines.length, LEGACY_RUN.split('\n').length);
  assert.is(lines[2], 'RUN sudo /edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook --skip-tags=devstack:install forum.yml \\');
  assert.equal(lines.filter((_, i) => i !== 2), LEGACY_RUN.split('\n').filter((_, i) => i !== 2));
  const run = parseDockerfile('d', out).playbookRuns[0];
  assert.equal([run?.playbook, run?.skipTags, run?.sudo], ['forum.yml', ['devstack:install'], true]);
});

test('devstack: a legacy Dockerfile that lists devstack:install already is sent as written', () => {
  assert.is(flavored(LEGACY_RUN, 'devstack'), LEGACY_RUN);
});

test('devstack: a tag list without devstack:install gets it; no tag list runs every task already', () => {
  const selective = 'FROM x\nRUN cd /p && ansible-playbook -t install:base app.yml && echo done\n';
  assert.is(flavored(selective, 'devstack'), 'FROM x\nRUN cd /p && ansible-playbook --tags=devstack:install -t install:base app.yml && echo done\n');
  const everything = 'FROM x\nRUN ansible-playbook app.yml\n';
  assert.is(flavored(everything, 'devstack'), everything);
  assert.is(flavored(everything, 'plain'), 'FROM x\nRUN ansible-playbook --skip-tags=devstack:install app.yml\n');
});

test('exec form, and two plays in one RUN, each get the argument', () => {
  assert.is(
    flavored('FROM x\nRUN ["/venv/bin/ansible-playbook", "app.yml", "-c", "local"]\n', 'plain'),
    'FROM x\nRUN ["/venv/bin/ansible-playbook", "--skip-tags=devstack:install", "app.yml", "-c", "local"]\n',
  );
  assert.is(
    flavored('FROM x\nRUN ansible-playbook a.yml && \\\n  ansible-playbook b.yml\n', 'plain'),
    'FROM x\nRUN ansible-playbook --skip-tags=devstack:install a.yml && \\\n  ansible-playbook --skip-tags=devstack:install b.yml\n',
  );
});

test('a Dockerfile that runs no play, or already skips the tag, is left alone in the plain flavor', () => {
  const noPlay = 'FROM debian:bookworm\nRUN echo ansible-playbook-free\n';
  assert.is(flavored(noPlay, 'plain'), noPlay);
  const skipping = 'FROM x\nRUN ansible-playbook --skip-tags devstack:install app.yml\n';
  assert.is(flavored(skipping, 'plain'), skipping);
});

test('devstack on a Dockerfile that skips devstack:install itself is refused at its line', () => {
  const skipping = 'FROM x\n\nRUN ansible-playbook --skip-tags devstack:install app.yml\n';
  try {
    flavored(skipping, 'devstack');
    assert.unreachable();
  } catch (error) {
    assert.instance(error, DiscoveryError);
    assert.match((error as Error).message, /^docker\/build\/x\/Dockerfile:3: .*devstack flavor/);
  }
});

test('every ansible-playbook run of the legacy fixture gets the plain argument and keeps its line count', () => {
  const path = join(fixturePath('legacy-config'), 'docker/build/forum/Dockerfile');
  const text = readFileSync(path, 'utf8');
  const dockerfile = parseDockerfile('docker/build/forum/Dockerfile', text);
  assert.ok(dockerfile.playbookRuns.length > 0);
  const out = applyFlavor(dockerfile, text, 'plain');
  assert.is(out.split('\n').length, text.split('\n').length);
  assert.ok(parseDockerfile('d', out).playbookRuns.every((run) => run.skipTags.includes('devstack:install')));
});

test('--override NAME=VALUE reads VALUE as YAML; bad names are one clear usage error', () => {
  assert.equal(parseOverrideAssignment('PORT=8080'), { PORT: 8080 });
  assert.equal(parseOverrideAssignment('ON=true'), { ON: true });
  assert.equal(parseOverrideAssignment('LIST=[a, b]'), { LIST: ['a', 'b'] });
  assert.equal(parseOverrideAssignment('TEXT=hello world'), { TEXT: 'hello world' });
  assert.equal(parseOverrideAssignment('URL=http://x:1/a=b'), { URL: 'http://x:1/a=b' });
  assert.equal(parseOverrideAssignment('EMPTY='), { EMPTY: '' });
  for (const bad of ['NOVALUE', '9X=1', 'a-b=1', '=1']) assert.throws(() => parseOverrideAssignment(bad), (error: unknown) => error instanceof UsageError);
});

test('layers replace top-level keys in order; the streamed file says where its values come from', () => {
  const own = parseOverrides({ path: 'docker/build/x/ansible_overrides.yml', text: 'A: 1\nNESTED:\n  k: v\n' });
  const layers = [
    { source: 'more.yml', values: { A: 2, NESTED: { other: true } } },
    { source: '--override', values: { A: 3 } },
  ];
  const values = layerOverrides(own, layers);
  assert.equal(values, { A: 3, NESTED: { other: true } });
  const text = renderOverrides('docker/build/x/ansible_overrides.yml', values, layers);
  assert.match(text, /^# written by dockmk for this build only: docker\/build\/x\/ansible_overrides\.yml, more\.yml, --override\n/);
  assert.equal(parseOverrides({ path: 'x', text }), values);
});

test('an ansible-playbook path that is an argument (ln -s) is no play run and is left alone', () => {
  const text = 'FROM x\nRUN apt-get install -y ansible-core \\\n  && ln -s /usr/bin/ansible-playbook /venv/bin/ansible-playbook\nRUN sudo -u app -E /venv/bin/ansible-playbook app.yml\n';
  assert.equal(parseDockerfile('d', text).playbookRuns.map((run) => [run.playbook, run.sudo]), [['app.yml', true]]);
  assert.is(
    flavored(text, 'plain'),
    'FROM x\nRUN apt-get install -y ansible-core \\\n  && ln -s /usr/bin/ansible-playbook /venv/bin/ansible-playbook\nRUN sudo -u app -E /venv/bin/ansible-playbook --skip-tags=devstack:install app.yml\n',
  );
});

test.run();
