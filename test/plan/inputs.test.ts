import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import * as assert from 'uvu/assert';
import { buildCheckout, type Checkout, type Service } from '../../src/model/checkout.js';
import { indexInputs, serviceInputs, type InputSources, type Layout } from '../../src/plan/inputs.js';
import { changedInputs } from '../../src/plan/changes.js';
import { PLAN_OPTIONS, test } from '../helpers.js';

const layout = { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' };
const dockerfile = (play: string) => `FROM debian:bookworm\nADD . /edx/app/edx_ansible/edx_ansible\nRUN ansible-playbook ${play} -c local\n`;
const checkout = buildCheckout(
  {
    root: '/c',
    services: [
      { name: 'web', dockerfile: { path: 'docker/build/web/Dockerfile', text: dockerfile('web.yml') }, overrides: { path: 'docker/build/web/ansible_overrides.yml', text: 'A: 1\n' } },
      { name: 'worker', dockerfile: { path: 'docker/build/worker/Dockerfile', text: dockerfile('jobs.yml') }, overrides: null },
      // Runs the same play as worker: the play is an input of both.
      { name: 'worker-2', dockerfile: { path: 'docker/build/worker-2/Dockerfile', text: dockerfile('jobs.yml') }, overrides: null },
      // Runs no play: every role counts.
      { name: 'plain', dockerfile: { path: 'docker/build/plain/Dockerfile', text: 'FROM debian:bookworm\n' }, overrides: null },
    ],
    plays: ['docker/plays/web.yml', 'docker/plays/jobs.yml', 'docker/plays/shared.yml'],
  },
  { ...PLAN_OPTIONS, playsDir: 'docker/plays' },
);
const files = new Map([
  ['docker/build/web/Dockerfile', 'd1'],
  ['docker/build/web/ansible_overrides.yml', 'o1'],
  ['docker/build/web/extra.conf', 'e1'],
  ['docker/build/worker/Dockerfile', 'd2'],
  ['docker/build/worker-2/Dockerfile', 'd3'],
  ['docker/build/plain/Dockerfile', 'd4'],
  ['docker/build/not-a-service/notes.txt', 'n1'],
  ['docker/plays/web.yml', 'p1'],
  ['docker/plays/jobs.yml', 'p2'],
  ['docker/plays/shared.yml', 's1'],
  ['playbooks/roles/common/tasks/main.yml', 'r1'],
  ['playbooks/roles/common/defaults/main.yml', 'r1d'],
  ['playbooks/roles/nginx/tasks/main.yml', 'r2'],
  ['playbooks/roles/jobs/tasks/main.yml', 'r3'],
  ['playbooks/web.yml', 'aws1'],
  ['playbooks/worker.yml', 'aws2'],
  ['ansible.cfg', 'c1'],
]);
const closures: Record<string, string[]> = { web: ['common', 'nginx'], worker: ['common', 'jobs'], 'worker-2': ['jobs', 'missing-role'] };
const roles = (service: string): ReadonlySet<string> | null => (closures[service] ? new Set(closures[service]) : null);

function inputsOf(service: string, sources: Partial<InputSources> = {}, changes: Record<string, string> = {}, streamed: Record<string, string> = {}) {
  const merged = new Map([...files, ...Object.entries(changes)]);
  const index = indexInputs(checkout, { files: merged, layout, ...sources });
  return serviceInputs(index, checkout.services.get(service)!, 'FROM x\n', { buildArgs: {}, files: streamed });
}

test('inputs are named for people: dockerfile, play, overrides, roles, own files, other files', () => {
  assert.equal(Object.keys(inputsOf('web', { roles }).parts), [
    'dockerfile',
    'build args',
    'flavor',
    'other files',
    'overrides docker/build/web/ansible_overrides.yml',
    'play docker/plays/web.yml',
    'role common',
    'role nginx',
    'service files docker/build/web/',
  ]);
  // No role graph, or no known play: any role may run, and the roles are one part.
  assert.equal(Object.keys(inputsOf('plain', { roles }).parts), ['dockerfile', 'build args', 'flavor', 'every role', 'other files', 'service files docker/build/plain/']);
});

test("another service's files are not inputs: its build dir, its play, its top-level playbook", () => {
  const before = inputsOf('worker').digest;
  assert.is(inputsOf('worker', {}, { 'docker/build/web/extra.conf': 'changed', 'docker/plays/web.yml': 'changed', 'playbooks/web.yml': 'changed' }).digest, before);
  assert.is.not(inputsOf('web', {}, { 'playbooks/web.yml': 'changed' }).digest, inputsOf('web').digest);
});

test('shared files (no owner) are inputs of every service', () => {
  assert.is.not(inputsOf('worker', {}, { 'ansible.cfg': 'changed' }).digest, inputsOf('worker').digest);
  assert.is.not(inputsOf('worker', {}, { 'docker/plays/shared.yml': 'changed' }).digest, inputsOf('worker').digest);
});

test('a play two services run is an input of both', () => {
  for (const service of ['worker', 'worker-2']) {
    assert.ok(`play docker/plays/jobs.yml` in inputsOf(service).parts, service);
    assert.is.not(inputsOf(service, {}, { 'docker/plays/jobs.yml': 'changed' }).digest, inputsOf(service).digest, service);
  }
});

test('with role closures known, only the roles a service uses are its inputs', () => {
  assert.is(inputsOf('worker', { roles }, { 'playbooks/roles/nginx/tasks/main.yml': 'changed' }).digest, inputsOf('worker', { roles }).digest);
  assert.is.not(inputsOf('web', { roles }, { 'playbooks/roles/nginx/tasks/main.yml': 'changed' }).digest, inputsOf('web', { roles }).digest);
  assert.is.not(inputsOf('worker', { roles }, { 'playbooks/roles/common/tasks/main.yml': 'changed' }).digest, inputsOf('worker', { roles }).digest);
  assert.is.not(inputsOf('plain', { roles }, { 'playbooks/roles/nginx/tasks/main.yml': 'changed' }).digest, inputsOf('plain', { roles }).digest, 'no play: every role');
});

// The definition, brute force: every file against every service, as the input hash was first
// computed. The grouped computation must agree with it on every service and every change.
function referenceInputs(model: Checkout, service: Service, content: string, fileDigests: ReadonlyMap<string, string>, lay: Layout, closureOf: typeof roles | undefined, streamed: Record<string, string>) {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const all = new Map(fileDigests);
  for (const [path, text] of Object.entries(streamed)) all.set(path, sha(text));
  const ownersOf = (path: string): string[] => {
    const owners: string[] = [];
    for (const other of model.services.values()) {
      if (path.startsWith(`${lay.build}/${other.name}/`) || path === other.play || path === `${lay.playbooks}/${other.name}.yml` || path === `${lay.playbooks}/${other.name}.yaml`) owners.push(other.name);
    }
    return owners;
  };
  const closure = closureOf?.(service.name) ?? null;
  const groups = new Map<string, string[]>();
  for (const [path, digest] of all) {
    const owners = ownersOf(path);
    if (owners.length > 0 && !owners.includes(service.name)) continue;
    let label: string;
    if (owners.length === 0 && path.startsWith(`${lay.roles}/`)) {
      const role = path.slice(lay.roles.length + 1).split('/')[0] as string;
      if (closure !== null && !closure.has(role)) continue;
      label = `role ${role}`;
    } else if (path === service.play) label = `play ${path}`;
    else if (path === service.overrides?.path) label = `overrides ${path}`;
    else if (owners.includes(service.name)) label = `service files ${posix.join(lay.build, service.name)}/`;
    else label = 'other files';
    groups.set(label, [...(groups.get(label) ?? []), `${path}\0${digest}`]);
  }
  const digests = new Map([...groups].map(([label, lines]) => [label, sha(lines.sort().join('\n'))]));
  if (closure === null) {
    // Any role may run: the role groups make one part, 'every role'.
    const roleLines = [...digests].filter(([label]) => label.startsWith('role ')).map(([label, digest]) => `${label}\0${digest}`);
    for (const label of [...digests.keys()]) if (label.startsWith('role ')) digests.delete(label);
    digests.set('every role', sha(roleLines.sort().join('\n')));
  }
  const parts: Record<string, string> = { dockerfile: sha(content), 'build args': sha(JSON.stringify([])), flavor: sha('plain') };
  for (const [label, digest] of [...digests].sort(([a], [b]) => (a < b ? -1 : 1))) parts[label] = digest;
  return { digest: sha(Object.entries(parts).map(([label, part]) => `${label}\0${part}`).join('\n')), parts };
}

test('the grouped digests equal the brute-force definition, for every service and change', () => {
  const variants: { name: string; files: Map<string, string>; streamed?: Record<string, string> }[] = [
    { name: 'as is', files },
    { name: 'a role file renamed', files: new Map([...files].filter(([p]) => p !== 'playbooks/roles/common/defaults/main.yml').concat([['playbooks/roles/common/defaults/other.yml', 'r1d']])) },
    { name: 'a file moved between roles', files: new Map([...files].filter(([p]) => p !== 'playbooks/roles/nginx/tasks/main.yml').concat([['playbooks/roles/jobs/tasks/nginx.yml', 'r2']])) },
    { name: 'a play deleted', files: new Map([...files].filter(([p]) => p !== 'docker/plays/jobs.yml')) },
    { name: 'a shared file deleted', files: new Map([...files].filter(([p]) => p !== 'ansible.cfg')) },
    { name: "a service's file renamed", files: new Map([...files].filter(([p]) => p !== 'docker/build/web/extra.conf').concat([['docker/build/web/extra-2.conf', 'e1']])) },
    { name: 'overrides streamed', files, streamed: { 'docker/build/web/ansible_overrides.yml': 'A: 2\n' } },
    { name: 'a streamed file new to the context', files, streamed: { 'docker/build/worker/ansible_overrides.yml': 'B: 1\n' } },
    { name: 'a role file streamed', files, streamed: { 'playbooks/roles/nginx/tasks/main.yml': '- debug: {}\n', 'playbooks/roles/new/tasks/main.yml': '- debug: {}\n' } },
  ];
  for (const variant of variants) {
    for (const closureOf of [undefined, roles]) {
      const index = indexInputs(checkout, { files: variant.files, layout, ...(closureOf ? { roles: closureOf } : {}) });
      for (const service of checkout.services.values()) {
        const got = serviceInputs(index, service, 'FROM x\n', { buildArgs: {}, files: variant.streamed ?? {} });
        const want = referenceInputs(checkout, service, 'FROM x\n', variant.files, layout, closureOf, variant.streamed ?? {});
        assert.equal(got, want, `${variant.name}, ${service.name}, ${closureOf ? 'closures' : 'every role'}`);
      }
    }
  }
});

test('changedInputs names what differs from the build that made the image', () => {
  const record = {
    v: 1 as const, run: 'r', command: 'test', service: 'web', flavor: 'plain', tag: 'web:test', status: 'built' as const,
    startedAt: '', durationMs: 1, engine: '', inputs: { dockerfile: 'a', 'play docker/plays/web.yml': 'p', 'role old': 'o' }, bases: { 'base:test': 'sha256:1' },
  };
  assert.equal(
    changedInputs({ parts: { dockerfile: 'a', 'play docker/plays/web.yml': 'p2', 'role new': 'n' }, baseIds: { 'base:test': 'sha256:2' } }, record),
    ['play docker/plays/web.yml', 'role new (new)', 'role old (gone)', 'parent base:test'],
  );
  assert.equal(changedInputs({ parts: {}, baseIds: null }, undefined), ['unknown (no record of the build that made this image)']);
});

test.run();
