import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { ansibleSetup, computeAffected } from '../../src/cli/selection.js';
import type { ChangedPath } from '../../src/discover/git.js';
import { changedRoles, type Affected, type Link } from '../../src/plan/affected.js';
import { indexCopySources } from '../../src/model/copy-sources.js';
import { fixturePath, loadCheckout, memoryCheckout, test } from '../helpers.js';

const AFFECTED = fixturePath('affected');
const LEGACY = fixturePath('legacy-config');

async function affected(root: string, changes: (string | ChangedPath)[], withChildren = false): Promise<Affected> {
  const session = await loadCheckout(root);
  const paths = changes.map((change): ChangedPath => (typeof change === 'string' ? { path: change, status: 'modified' } : change));
  return computeAffected(session, ansibleSetup(session.config), paths, withChildren);
}

/** A chain as short text: role names, play paths, services. */
function chains(result: Affected, service: string): string[] {
  const name = (link: Link): string => (link.kind === 'play' ? `${link.path}:${link.reference?.line ?? ''}` : `${link.kind === 'role' ? 'role ' : ''}${link.name}`);
  return (result.reasons.get(service) ?? []).map((reason) => `${reason.rule}: ${reason.chain.map(name).join(' > ')}`);
}

test('(a) a file under docker/build/<svc>/ affects that service; a directory without Dockerfile none', async () => {
  const result = await affected(AFFECTED, ['docker/build/web/files/site.conf', 'docker/build/retired/ansible_overrides.yml']);
  assert.equal(result.services, ['web']);
  assert.ok(chains(result, 'web').includes('build-dir: web'));
  assert.equal(result.unmatched, [{ path: 'docker/build/retired/ansible_overrides.yml', why: 'docker/build/retired is not a service: it has no file named exactly Dockerfile' }]);
});

test('(b) a docker play affects the services that run it, even when not named like them', async () => {
  assert.equal((await affected(AFFECTED, ['docker/plays/worker_deploy.yml'])).services, ['worker']);
  assert.equal((await affected(AFFECTED, ['docker/plays/web.yml'])).services, ['web']);
  assert.equal((await affected(AFFECTED, ['docker/plays/tools.yml'])).services, ['tools'], 'tools runs no play: its play is tools.yml by name');
  const orphan = await affected(AFFECTED, ['docker/plays/orphan.yml']);
  assert.equal(orphan.services, []);
  assert.equal(orphan.unmatched[0]?.why, 'no service runs this docker play');
});

test('(c) a role, through meta dependencies three levels up, to the services whose plays use it', async () => {
  const result = await affected(AFFECTED, ['playbooks/roles/tls/tasks/main.yml']);
  assert.equal(result.services, ['web', 'worker']);
  assert.equal(chains(result, 'web'), ['role: role tls > role http_lib > role app_lib > role web_app > docker/plays/web.yml:11 > web']);
  assert.equal(chains(result, 'worker'), ['role: role tls > role http_lib > role app_lib > role worker > docker/plays/worker_deploy.yml:4 > worker']);
  const [web] = result.reasons.get('web') ?? [];
  const httpLib = web?.chain[1];
  assert.equal(httpLib?.kind === 'role' ? [httpLib.reference?.file, httpLib.reference?.line, httpLib.reference?.kind] : null, ['playbooks/roles/http_lib/meta/main.yml', 2, 'meta']);
});

test('(c) both meta forms, roles without meta, and every play of a file count', async () => {
  const result = await affected(AFFECTED, ['playbooks/roles/common_vars/defaults/main.yml']);
  // common_vars has no meta; common pulls it in (plain form), python_app pulls common (role: form);
  // web.yml's first play uses python_app, its second nginx, which pulls common.
  assert.equal(result.services, ['app-common', 'base-common', 'monitor', 'web']);
  assert.equal(chains(result, 'app-common'), ['role: role common_vars > role common > role python_app > docker/plays/app-common.yml:4 > app-common']);
});

test('(h) include_role and import_role pull a role in', async () => {
  const included = await affected(AFFECTED, ['playbooks/roles/jwt/tasks/main.yml']);
  assert.equal(included.services, ['web']);
  const link = included.reasons.get('web')?.[0]?.chain[1];
  assert.equal(link?.kind === 'role' ? [link.name, link.reference?.kind, link.reference?.line] : null, ['web_app', 'include_role', 7]);
  const imported = await affected(AFFECTED, ['playbooks/roles/queue/tasks/main.yml']);
  assert.equal(chains(imported, 'worker'), ['role: role queue > role worker > docker/plays/worker_deploy.yml:4 > worker']);
});

test('(d) a top-level playbook affects the service named like it, and a service that runs it', async () => {
  assert.equal((await affected(AFFECTED, ['playbooks/web.yml'])).services, ['web']);
  assert.equal((await affected(AFFECTED, ['playbooks/monitoring.yml'])).services, ['monitor']);
  assert.equal((await affected(AFFECTED, ['playbooks/site.yml'])).services, []);
  // A role only top-level playbooks use reaches the service whose Dockerfile runs such a playbook.
  assert.equal(chains(await affected(AFFECTED, ['playbooks/roles/metrics/meta/main.yml']), 'monitor'), ['role: role metrics > playbooks/monitoring.yml:4 > monitor']);
});

test('(e) a role no service play covers is a warning, always', async () => {
  const result = await affected(AFFECTED, ['playbooks/roles/unused/tasks/main.yml', 'playbooks/roles/orphan_user/meta/main.yml']);
  assert.equal(result.services, []);
  assert.equal(result.warnings.map((w) => w.file), ['playbooks/roles/unused/tasks/main.yml', 'playbooks/roles/orphan_user/meta/main.yml']);
  assert.match(result.warnings[0]?.message ?? '', /^role unused is not covered: no service's play uses it; it is used only by playbooks\/site\.yml, which no service runs/);
  assert.match(result.warnings[1]?.message ?? '', /docker\/plays\/orphan\.yml/);
});

test('(f) files a Dockerfile COPYs or ADDs by name: a file, a directory, a pattern; not the whole checkout', async () => {
  const result = await affected(AFFECTED, ['shared/certs/web.pem', 'config/web.ini', 'config/other.txt', 'README.md']);
  assert.equal(result.services, ['web']);
  assert.equal(result.reasons.get('web')?.map((reason) => reason.chain[0]?.kind === 'service' && reason.chain[0].via), [
    { kind: 'copy', file: 'docker/build/web/Dockerfile', line: 6, instruction: 'ADD', source: 'shared/certs/' },
    { kind: 'copy', file: 'docker/build/web/Dockerfile', line: 7, instruction: 'COPY', source: 'config/*.ini' },
  ]);
  assert.equal(result.unmatched.map((u) => u.path), ['README.md', 'config/other.txt'], 'ADD . /edx/... does not count');
});

test('(f) COPY sources as Docker reads them: ./ and / prefixes, wildcards within one directory, no --from, no URL', () => {
  const checkout = memoryCheckout({
    a: 'FROM x\nCOPY ./docker/a/ /a/\nADD /etc/app.conf /etc/\nCOPY conf/?.ini conf/[xy].txt /c/\nCOPY --from=builder /out /out\n',
    b: 'FROM x\nADD . /edx\nCOPY * /all/\nCOPY ../outside /o\nADD https://example.com/f.tgz /f\nCOPY ["json form/f", "/j"]\n',
  });
  const copies = indexCopySources(checkout);
  const who = (path: string): string[] => copies.match(path).map((m) => `${m.service}:${m.source.line}`);
  assert.equal(who('docker/a/deep/file'), ['a:2']);
  assert.equal(who('etc/app.conf'), ['a:3']);
  assert.equal(who('conf/1.ini'), ['a:4']);
  assert.equal(who('conf/x.txt'), ['a:4']);
  assert.equal(who('conf/12.ini'), []);
  assert.equal(who('conf/sub/1.ini'), [], '? and * never cross a /');
  assert.equal(who('out'), []);
  assert.equal(who('README.md'), [], 'the whole context (. or *) is not a source by name');
  assert.equal(who('json form/f'), ['b:6']);
});

test('(g) with children: every descendant image of an affected one, with the FROM line', async () => {
  assert.equal((await affected(AFFECTED, ['docker/build/app-common/ansible_overrides.yml'])).services, ['app-common']);
  const result = await affected(AFFECTED, ['docker/build/app-common/ansible_overrides.yml'], true);
  assert.equal(result.services, ['app-common', 'web', 'web-extra', 'worker']);
  assert.equal(chains(result, 'web-extra'), ['parent: app-common > web > web-extra']);
  const last = result.reasons.get('web-extra')?.[0]?.chain.at(-1);
  assert.equal(last?.kind === 'service' ? last.via : null, { kind: 'parent', file: 'docker/build/web-extra/Dockerfile', line: 1 });
});

test('renamed files count at both paths; deleted files still affect what used them', async () => {
  const renamed = await affected(AFFECTED, [{ path: 'playbooks/roles/queue/tasks/setup.yml', previous: 'docker/build/web/files/site.conf', status: 'renamed' }]);
  assert.equal(renamed.services, ['web', 'worker']);
  const deleted = await affected(AFFECTED, [
    { path: 'playbooks/roles/tls/templates/old.j2', status: 'deleted' },
    { path: 'docker/plays/web-extra.yml', status: 'deleted' },
    { path: 'docker/build/gone/Dockerfile', status: 'deleted' },
  ]);
  assert.equal(deleted.services, ['web', 'web-extra', 'worker'], 'a deleted docker/plays/<svc>.yml affects <svc>');
  assert.equal(deleted.unmatched.map((u) => u.why), ['docker/build/gone is not a service: it has no Dockerfile (any more)']);
  // A role deleted outright, still named by a meta file: its dependents are affected.
  const gone = await affected(AFFECTED, [{ path: 'playbooks/roles/http_lib/meta/main.yml', status: 'deleted' }, { path: 'playbooks/roles/vanished/tasks/main.yml', status: 'deleted' }]);
  assert.equal(gone.services, ['web', 'worker']);
  assert.match(gone.warnings[0]?.message ?? '', /^role vanished \(no such role in this checkout any more\) is not covered/);
});

test('the role graph is read only when a change touches a role', () => {
  const dirs = { roles: ['playbooks/roles'], dockerPlays: ['docker/plays'], playbooks: ['playbooks'] };
  assert.equal(changedRoles([{ path: 'playbooks/roles/x/tasks/main.yml', status: 'added' }, { path: 'playbooks/roles/b/meta/main.yml', status: 'modified' }], dirs), ['b', 'x']);
  assert.equal(changedRoles([{ path: 'playbooks/roles', status: 'added' }, { path: 'playbooks/x.yml', status: 'added' }], dirs), []);
  assert.equal(changedRoles([{ path: 'docker/build/x/Dockerfile', previous: 'playbooks/roles/x/files/Dockerfile', status: 'renamed' }], dirs), ['x']);
});

interface LegacyRow {
  changes: string[];
  parsefiles?: string[];
  after_docker_mk?: string[];
  error?: string;
}
const legacyRows = (JSON.parse(readFileSync(`${LEGACY}/expected.json`, 'utf8')) as { legacy_parsefiles: LegacyRow[] }).legacy_parsefiles;

/** Where dockmk departs from the legacy script on purpose: each is a bug LEGACY.md names. */
const FIXED: Record<string, string[]> = {
  // parsefiles matched playbook names (common, forum) against role names: 17 images for one role.
  'playbooks/roles/newrelic_infrastructure/tasks/main.yml': ['jenkins_worker'],
  // tools_jenkins runs jenkins_tools.yml: the legacy name mapping lost it.
  'playbooks/roles/oraclejdk/tasks/main.yml': ['elasticsearch', 'go-agent', 'jenkins_build', 'jenkins_worker', 'tools_jenkins'],
  'playbooks/roles/jenkins_master/tasks/main.yml': ['tools_jenkins'],
  'docker/plays/jenkins_tools.yml': ['tools_jenkins'],
  // graphite runs edx-monitoring.yml, a top-level playbook.
  'playbooks/roles/config-encoders/filter_plugins/config_encoders.py': ['graphite'],
  'playbooks/edx-monitoring.yml': ['graphite'],
  // Only include_role names it: the legacy script crashed.
  'playbooks/roles/jwt_signature/tasks/main.yml': ['analytics_api', 'credentials', 'designer', 'discovery', 'ecommerce', 'edxapp', 'enterprise_catalog', 'registrar'],
  // zz-escape-backtick runs xqueue.yml, which uses xqueue → edx_service_with_rendered_config → edx_service.
  'playbooks/roles/edx_service/meta/main.yml': ['analytics_api', 'credentials', 'designer', 'discovery', 'ecommerce', 'ecomworker', 'enterprise_catalog', 'insights', 'notes', 'registrar', 'xqueue', 'xqwatcher', 'zz-escape-backtick'],
  // go-agent-frontend ADDs this file by name (rule f).
  'docker/build/go-agent/files/ssh_config': ['go-agent', 'go-agent-frontend'],
};

test('legacy-config: what parsefiles.py + docker.mk selected, with the legacy bugs fixed', async () => {
  assert.is(legacyRows.length, 14);
  for (const row of legacyRows) {
    const result = await affected(LEGACY, row.changes);
    const want = FIXED[row.changes[0] as string] ?? row.after_docker_mk;
    assert.ok(want, `a row to compare for ${row.changes[0]}`);
    assert.equal(result.services, want, row.changes.join(' '));
  }
});

test.run();
