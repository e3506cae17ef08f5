import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { discoverAnsible, readLegacyConfig, type RawAnsible, type RawRole } from '../../src/discover/ansible.js';
import { DiscoveryError } from '../../src/errors.js';
import { ansibleDirs, parseLegacyConfig } from '../../src/model/legacy-config.js';
import { buildRoleGraph, formatCycle, roleClosure, type RoleGraph } from '../../src/model/roles.js';
import { playOwners, rolesRun } from '../../src/model/service-plays.js';
import { fixturePath, loadCheckout, test } from '../helpers.js';

const AFFECTED = fixturePath('affected');
const LEGACY = fixturePath('legacy-config');
const DIRS = { roles: ['playbooks/roles'], dockerPlays: ['docker/plays'], playbooks: ['playbooks'] };

function graphOf(root: string): RoleGraph {
  return buildRoleGraph(discoverAnsible(root, DIRS));
}

/** An in-memory checkout: roles given as meta (and tasks) text. */
function memory(roles: Record<string, { meta?: string; tasks?: string }>, plays: Record<string, string> = {}): RawAnsible {
  const raw: RawRole[] = Object.entries(roles).map(([name, files]) => ({
    name,
    dir: `playbooks/roles/${name}`,
    meta: files.meta === undefined ? [] : [{ path: `playbooks/roles/${name}/meta/main.yml`, text: files.meta }],
    tasks: files.tasks === undefined ? [] : [{ path: `playbooks/roles/${name}/tasks/main.yml`, text: files.tasks }],
  }));
  return { roles: raw, dockerPlays: Object.entries(plays).map(([path, text]) => ({ path, text })), playbooks: [] };
}

function deps(graph: RoleGraph, role: string): [string, string, string][] {
  return (graph.roles.get(role)?.dependencies ?? []).map((ref) => [ref.role, ref.kind, `${ref.file}:${ref.line}`]);
}

test('meta dependencies in both forms, with the file:line of each', () => {
  const graph = graphOf(AFFECTED);
  assert.equal(deps(graph, 'web_app')[0], ['app_lib', 'meta', 'playbooks/roles/web_app/meta/main.yml:2']);
  assert.equal(deps(graph, 'app_lib'), [['http_lib', 'meta', 'playbooks/roles/app_lib/meta/main.yml:2']], 'flow mapping { role: x }');
  assert.equal(deps(graph, 'python_app'), [['common', 'meta', 'playbooks/roles/python_app/meta/main.yml:2']], '- role: x with vars');
  assert.equal(deps(graph, 'common'), [['common_vars', 'meta', 'playbooks/roles/common/meta/main.yml:3']]);
});

test('roles without meta, with an empty meta or `dependencies: []` are roles with no dependencies', () => {
  const graph = graphOf(AFFECTED);
  for (const name of ['tls', 'jwt', 'queue', 'common_vars']) {
    assert.is(graph.roles.get(name)?.hasMeta, false, name);
    assert.equal(deps(graph, name), [], name);
  }
  assert.is(graph.roles.get('toolbox')?.hasMeta, true);
  assert.equal(deps(graph, 'toolbox'), [], 'empty meta file');
  assert.equal(deps(graph, 'orphan_user'), [], 'dependencies: []');
});

test('include_role and import_role in tasks are dependencies (blocks and FQCN keys included)', () => {
  const graph = graphOf(AFFECTED);
  assert.equal(deps(graph, 'web_app')[1], ['jwt', 'include_role', 'playbooks/roles/web_app/tasks/main.yml:7']);
  assert.equal(deps(graph, 'worker')[1], ['queue', 'import_role', 'playbooks/roles/worker/tasks/main.yml:4']);
  const raw = memory({ a: { tasks: '- include_role: name=b tasks_from=x\n- ansible.legacy.include_role:\n    name: ../roles/c\n' }, b: {}, c: {} });
  assert.equal(deps(buildRoleGraph(raw), 'a').map(([role, kind]) => [role, kind]), [['b', 'include_role'], ['c', 'include_role']]);
});

test('every play of a play file counts, in both roles: forms', () => {
  const graph = graphOf(AFFECTED);
  const web = graph.playFiles.get('docker/plays/web.yml');
  assert.is(web?.plays, 2);
  assert.equal(web?.roles.map((ref) => `${ref.role}@${ref.line}`), ['python_app@5', 'web_app@11', 'nginx@12']);
  assert.is(graph.playFiles.get('playbooks/monitoring.yml')?.kind, 'playbook');
  assert.equal(graph.users.get('nginx')?.map((use) => use.play), ['docker/plays/web.yml']);
});

test('the reverse edges reach a role three levels down', () => {
  const graph = graphOf(AFFECTED);
  const up = (role: string): string[] => (graph.dependents.get(role) ?? []).map((d) => d.role);
  assert.equal(up('tls'), ['http_lib']);
  assert.equal(up('http_lib'), ['app_lib']);
  assert.equal(up('app_lib'), ['web_app', 'worker']);
  assert.equal(up('common'), ['metrics', 'nginx', 'python_app', 'unused']);
  assert.equal([...roleClosure(graph, ['web_app'])].sort(), ['app_lib', 'http_lib', 'jwt', 'tls', 'web_app']);
});

test('malformed YAML is an error naming file:line; so is a meta file of the wrong shape', () => {
  const cases: [RawAnsible, RegExp][] = [
    [memory({ a: { meta: 'dependencies:\n  - b\n  - [c\n' } }), /^playbooks\/roles\/a\/meta\/main\.yml:4: invalid YAML/],
    [memory({ a: { tasks: '- name: x\n  include_role:\n    name: b\n   bad: indent\n' } }), /^playbooks\/roles\/a\/tasks\/main\.yml:4: invalid YAML/],
    [memory({}, { 'docker/plays/x.yml': '- hosts: all\n  roles:\n    - a\n  - b: [\n' }), /^docker\/plays\/x\.yml:\d+: invalid YAML/],
    [memory({ a: { meta: 'dependencies: common\n' } }), /^playbooks\/roles\/a\/meta\/main\.yml:1: dependencies must be a list/],
  ];
  for (const [raw, message] of cases) {
    try {
      buildRoleGraph(raw);
      assert.unreachable(`no error for ${message}`);
    } catch (error) {
      assert.instance(error, DiscoveryError);
      assert.match((error as Error).message, message);
    }
  }
});

test('Ansible tags (!unsafe, !vault) and duplicate keys load as Ansible loads them', () => {
  const raw = memory({ a: { meta: 'x: !unsafe "{{ y }}"\nsecret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\ndependencies: [b]\ndependencies: [c]\n' }, b: {}, c: {} });
  assert.equal(deps(buildRoleGraph(raw), 'a').map(([role]) => role), ['c']);
});

test('dependency cycles are reported with every edge, not looped on', () => {
  const raw = memory({
    a: { meta: 'dependencies:\n  - b\n' },
    b: { meta: 'dependencies:\n  - role: c\n' },
    c: { meta: 'dependencies: [common]\n', tasks: '- include_role:\n    name: a\n' },
    d: { meta: 'dependencies:\n  - d\n' },
    common: {},
  });
  const graph = buildRoleGraph(raw);
  assert.equal(graph.cycles.map(formatCycle), [
    'role dependency cycle: a → b → c → a (playbooks/roles/a/meta/main.yml:2, playbooks/roles/b/meta/main.yml:2, playbooks/roles/c/tasks/main.yml:1)',
    'role dependency cycle: d → d (playbooks/roles/d/meta/main.yml:2)',
  ]);
  assert.equal([...roleClosure(graph, ['a'])].sort(), ['a', 'b', 'c', 'common']);
});

test('a templated role name is a warning: it cannot be followed', () => {
  const graph = buildRoleGraph(memory({ a: { tasks: '- include_role:\n    name: "{{ which }}"\n' } }));
  assert.equal(graph.warnings.map((w) => w.file), ['playbooks/roles/a/tasks/main.yml:1']);
  assert.match(graph.warnings[0]?.message ?? '', /templated/);
});

/** What rule (c) reads from a graph: every role that pulls `role` in, and the play files using them. */
function reach(graph: RoleGraph, role: string): string[] {
  const roles = new Set([role]);
  for (const name of roles) for (const dependent of graph.dependents.get(name) ?? []) roles.add(dependent.role);
  const plays = [...roles].flatMap((name) => (graph.users.get(name) ?? []).map((use) => `${use.play}:${use.reference.line}`));
  return [...[...roles].sort(), ...new Set(plays.sort())];
}

test('built around some roles, the graph parses less but answers the same for them', () => {
  for (const root of [LEGACY, AFFECTED]) {
    const raw = discoverAnsible(root, DIRS);
    const full = buildRoleGraph(raw);
    assert.not.ok(full.partial);
    for (const role of [...full.roles.keys(), 'no-such-role']) {
      const around = buildRoleGraph(raw, { around: [role] });
      assert.ok(around.partial);
      assert.equal(reach(around, role), reach(full, role), role);
    }
  }
  const lean = buildRoleGraph(memory({ a: { meta: 'dependencies: [b]\n' }, b: {}, broken: { meta: 'dependencies: [c\n' }, c: {} }), { around: ['b'] });
  assert.equal(lean.dependents.get('b')?.map((d) => d.role), ['a'], 'a file that names no role of the closure is not parsed');
  assert.throws(() => buildRoleGraph(memory({ a: { meta: 'dependencies: [b\n' }, b: {} }), { around: ['b'] }), /a\/meta\/main\.yml:2: invalid YAML/);
});

interface Expected {
  services: Record<string, { role_closure: string[] | null }>;
  roles: Record<string, { dependencies: string[] }>;
  parsefiles_config: { weights: Record<string, number>; docker_ignore_list: string[] };
}
const expected = JSON.parse(readFileSync(`${LEGACY}/expected.json`, 'utf8')) as Expected;

test('legacy-config: direct meta dependencies of every role match the fixture facts', () => {
  const graph = graphOf(LEGACY);
  assert.equal([...graph.roles.keys()].sort(), Object.keys(expected.roles).sort());
  for (const [name, facts] of Object.entries(expected.roles)) {
    const meta = [...new Set(graph.roles.get(name)?.dependencies.filter((ref) => ref.kind === 'meta').map((ref) => ref.role))];
    assert.equal(meta, facts.dependencies, name);
  }
  assert.equal(graph.cycles, []);
});

test('legacy-config: the roles each service runs, with include_role adding jwt_signature', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const raw = discoverAnsible(LEGACY, DIRS);
  const graph = buildRoleGraph(raw);
  const existing = new Set([...raw.dockerPlays, ...raw.playbooks].map((file) => file.path));
  const roles = rolesRun(graph, playOwners(checkout, DIRS, existing));
  for (const [name, facts] of Object.entries(expected.services)) {
    const closure = [...(roles(name) ?? [])].sort();
    assert.is(roles(name) === null, (facts.role_closure ?? []).length === 0 && !['go-agent', 'graphite'].includes(name), `${name} runs a play`);
    const want = new Set(facts.role_closure);
    if (want.has('edxapp') || want.has('edx_django_service')) want.add('jwt_signature');
    // go-agent runs no play: its play is docker/plays/go-agent.yml by name, as Service.play says.
    if (name === 'go-agent') for (const role of ['aws', 'common', 'common_vars', 'go-agent', 'oraclejdk', 'security', 'server_utils', 'supervisor', 'user', 'vhost']) want.add(role);
    // graphite runs edx-monitoring.yml, found among the top-level playbooks (the fixture's facts leave it unresolved).
    if (name === 'graphite') assert.equal(closure, ['common', 'common_vars', 'config-encoders', 'grafana', 'graphite', 'nginx', 'python', 'security', 'server_utils', 'user']);
    else assert.equal(closure, [...want].sort(), name);
  }
});

test('legacy-config: util/parsefiles_config.yml is read as it is', () => {
  const source = readLegacyConfig(LEGACY);
  assert.ok(source);
  const legacy = parseLegacyConfig(source);
  assert.equal(legacy.weights, expected.parsefiles_config.weights);
  assert.equal(legacy.dockerIgnoreList, expected.parsefiles_config.docker_ignore_list);
  const dirs = ansibleDirs({ build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' }, legacy);
  assert.equal(dirs, DIRS);
  assert.throws(() => parseLegacyConfig({ path: 'util/parsefiles_config.yml', text: 'weights:\n  - forum: 9\n  - edxapp: lots\n' }), /parsefiles_config\.yml:3: the weight of "edxapp"/);
  assert.is(readLegacyConfig(AFFECTED), null);
});

test.run();
