import * as assert from 'uvu/assert';
import { buildCheckout } from '../../src/model/checkout.js';
import { buildInputs, ownedPaths, type InputSources } from '../../src/plan/inputs.js';
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
  ['docker/plays/web.yml', 'p1'],
  ['docker/plays/jobs.yml', 'p2'],
  ['docker/plays/shared.yml', 's1'],
  ['playbooks/roles/common/tasks/main.yml', 'r1'],
  ['playbooks/roles/nginx/tasks/main.yml', 'r2'],
  ['playbooks/web.yml', 'aws1'],
  ['ansible.cfg', 'c1'],
]);

function inputsOf(service: string, sources: Partial<InputSources> = {}, changes: Record<string, string> = {}) {
  const merged = new Map([...files, ...Object.entries(changes)]);
  return buildInputs(checkout.services.get(service)!, 'FROM x\n', {}, { files: merged, layout, ...sources }, ownedPaths(checkout, layout));
}

test('inputs are named for people: dockerfile, play, overrides, roles, own files, other files', () => {
  assert.equal(Object.keys(inputsOf('web').parts), [
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

test('with role closures known, only the roles a service uses are its inputs', () => {
  const roles = (service: string) => new Set(service === 'web' ? ['common', 'nginx'] : ['common']);
  assert.is(inputsOf('worker', { roles }, { 'playbooks/roles/nginx/tasks/main.yml': 'changed' }).digest, inputsOf('worker', { roles }).digest);
  assert.is.not(inputsOf('web', { roles }, { 'playbooks/roles/nginx/tasks/main.yml': 'changed' }).digest, inputsOf('web', { roles }).digest);
  assert.is.not(inputsOf('worker', { roles }, { 'playbooks/roles/common/tasks/main.yml': 'changed' }).digest, inputsOf('worker', { roles }).digest);
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
