import * as assert from 'uvu/assert';
import { DEFAULT_EXTERNAL_BASES, loadConfig, parseConfigFile, resolveConfig } from '../../src/config/config.js';
import { discoverAnsible } from '../../src/discover/ansible.js';
import { discoverCheckout } from '../../src/discover/checkout.js';
import { ansibleSetup } from '../../src/cli/selection.js';
import { lintCheckout, lintModel, matchesImagePattern, RULES, type Finding } from '../../src/model/lint.js';
import { parseImageRef, type ImageRef } from '../../src/model/image-ref.js';
import { fixturePath, REPO_ROOT, test } from '../helpers.js';

async function lint(root: string, services?: string[], externalBases?: string[]): Promise<Finding[]> {
  const config = loadConfig({ root }, { HOME: '/nonexistent' }, root);
  const model = lintModel(await discoverCheckout(config), { namespace: config.namespace, registry: config.registry, buildArgs: config.buildArgs, playsDir: config.paths.plays });
  const { dirs } = ansibleSetup(config);
  return lintCheckout({ model, ansible: discoverAnsible(config.root, dirs), dirs }, { externalBases: externalBases ?? config.externalBases, services });
}

const at = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.service} ${f.rule} ${f.file}:${f.line}`);

test('each broken service of the lint fixture breaks its rule, at its file:line', async () => {
  const findings = await lint(fixturePath('lint'));
  assert.equal(at(findings), [
    'bad-from from-base docker/build/bad-from/Dockerfile:2',
    'bad-overrides overrides-yaml docker/build/bad-overrides/ansible_overrides.yml:2',
    'bad-parse dockerfile-parse docker/build/bad-parse/Dockerfile:4',
    'cycle-a from-cycle docker/build/cycle-a/Dockerfile:2',
    'cycle-b from-cycle docker/build/cycle-b/Dockerfile:2',
    'missing-play play-exists docker/build/missing-play/Dockerfile:6',
    'no-checkout copy-checkout docker/build/no-checkout/Dockerfile:5',
    'no-play runs-play docker/build/no-play/Dockerfile:2',
    'not-root runs-as-root docker/build/not-root/Dockerfile:6',
    'other-play play-name docker/build/other-play/Dockerfile:6',
    'overrides-not-copied overrides-copied docker/build/overrides-not-copied/Dockerfile:5',
    'overrides-not-passed overrides-passed docker/build/overrides-not-passed/Dockerfile:6',
    'missing-role role-exists docker/plays/missing-role.yml:7',
    'bad-yaml ansible-yaml playbooks/roles/bad_yaml/meta/main.yml:5',
    'missing-role role-exists playbooks/roles/lint_deps/meta/main.yml:4',
    'missing-role role-exists playbooks/roles/lint_deps/tasks/main.yml:3',
  ]);
  // Every rule is exercised, with the severity the table gives it.
  assert.equal([...new Set(findings.map((f) => f.rule))].sort(), Object.keys(RULES).sort());
  for (const f of findings) assert.is(f.severity, RULES[f.rule].severity, f.rule);
  assert.is(findings.find((f) => f.rule === 'play-name')?.severity, 'warning');
  assert.ok(findings.find((f) => f.rule === 'role-exists' && f.file.endsWith('tasks/main.yml'))?.message.includes('"ghost_include"'));
  assert.ok(findings.find((f) => f.rule === 'overrides-passed')?.message.includes('--extra-vars=@/ansible_overrides.yml'));
});

test('the passing services of the fixture have no finding, alone or with their base', async () => {
  assert.equal(await lint(fixturePath('lint'), ['good', 'base-common']), []);
});

test('naming services restricts the findings to them and to the roles they run', async () => {
  assert.equal(at(await lint(fixturePath('lint'), ['missing-role'])), [
    'missing-role role-exists docker/plays/missing-role.yml:7',
    'missing-role role-exists playbooks/roles/lint_deps/meta/main.yml:4',
    'missing-role role-exists playbooks/roles/lint_deps/tasks/main.yml:3',
  ]);
  assert.equal(at(await lint(fixturePath('lint'), ['bad-parse'])), ['bad-parse dockerfile-parse docker/build/bad-parse/Dockerfile:4']);
});

test('externalBases decides which outside images a service may build FROM', async () => {
  const findings = await lint(fixturePath('lint'), ['bad-from'], ['debian:*', 'alpine:3.*']);
  assert.equal(findings, []);
});

test("this repository's own services pass", async () => {
  assert.equal(await lint(REPO_ROOT), []);
});

test('the legacy fixture: real deviations only', async () => {
  const findings = await lint(fixturePath('legacy-config'));
  const rules = (service: string): string[] => findings.filter((f) => f.service === service).map((f) => f.rule);
  // Services following the conventions (overrides at another path, -e@, sudo, USER after the play).
  for (const service of ['forum', 'xqueue', 'jenkins_worker', 'jenkins_build', 'go-server', 'devpi', 'edxapp']) {
    assert.equal(rules(service), [], service);
  }
  // Common bases may leave the play to their children; a base from elsewhere is still reported.
  assert.equal(rules('xenial-common'), []);
  assert.equal(rules('bionic-common'), []);
  assert.equal(rules('go-agent'), ['from-base']);
  // Images that do not follow the conventions at all.
  assert.equal(rules('chrome'), ['from-base', 'runs-play']);
  assert.equal(rules('flower'), ['runs-play']);
  assert.equal(rules('zz-external-edxops'), ['from-base', 'runs-play']);
  assert.equal(rules('tools_jenkins'), ['play-name']);
  assert.ok(findings.every((f) => !['runs-as-root', 'overrides-copied', 'overrides-passed', 'role-exists', 'play-exists'].includes(f.rule)));
});

test('image patterns: Docker Hub spellings, tags, digests, globs', () => {
  const ref = (text: string): ImageRef => {
    const parsed = parseImageRef(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.ref;
  };
  assert.ok(matchesImagePattern(ref('debian:bookworm'), 'debian:*'));
  assert.ok(matchesImagePattern(ref('docker.io/library/debian:bookworm'), 'debian:*'));
  assert.ok(matchesImagePattern(ref('debian'), 'debian:latest'));
  assert.ok(matchesImagePattern(ref('ubuntu@sha256:385d906dd1fcaa32b86eadd4868092a9dae569f3ca9234fa1f5b926548429486'), 'ubuntu:*'));
  assert.ok(matchesImagePattern(ref('selenium/standalone-chrome-debug:3.14.0'), 'selenium/*'));
  assert.ok(matchesImagePattern(ref('ghcr.io/org/base:1'), 'ghcr.io/org/*:1'));
  assert.not.ok(matchesImagePattern(ref('debian:bookworm'), 'debian:bullseye'));
  assert.not.ok(matchesImagePattern(ref('debianx:bookworm'), 'debian:*'));
  assert.not.ok(matchesImagePattern(ref('quay.io/debian:bookworm'), 'debian:*'));
  assert.not.ok(matchesImagePattern(ref('edxops/debian:1'), 'debian:*'));
});

test('externalBases in dockmk.yml: a list of patterns, debian:* and ubuntu:* by default', () => {
  assert.equal(resolveConfig('/x', {}, {}, {}).externalBases, DEFAULT_EXTERNAL_BASES);
  const file = parseConfigFile('externalBases:\n  - "debian:*"\n  - selenium/*\n', 'dockmk.yml');
  assert.equal(resolveConfig('/x', file, {}, {}).externalBases, ['debian:*', 'selenium/*']);
  assert.throws(() => parseConfigFile('externalBases: debian\n', 'dockmk.yml'), /dockmk.yml:1: externalBases must be a list of image patterns/);
});

test.run();
