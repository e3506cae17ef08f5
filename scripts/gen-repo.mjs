#!/usr/bin/env node
// Generates a checkout laid out like the Open edX configuration repository, big enough to
// measure dockmk on: by default 2,000 services and 5,000 roles. Deterministic from a seed, so
// two runs with the same options write the same bytes.
//
//   node scripts/gen-repo.mjs <dir> [--services 2000] [--roles 5000] [--playbooks 300] [--seed 1]
//
// What it writes, and in what proportions (close to the real repository, scaled up):
// - playbooks/roles/<role>/: four layers (a dozen core roles such as common, then libraries,
//   service roles and application roles); each depends on roles of lower layers, in both meta
//   forms (`- name` and `- role: name` with vars); some have no meta, an empty one or
//   `dependencies: []`; tasks files of realistic size, a few of them with include_role or
//   import_role; defaults, templates and handlers.
// - docker/build/<svc>/Dockerfile: bases FROM ubuntu, intermediates FROM a base, applications
//   FROM either (`ARG BASE_IMAGE_TAG` then `FROM edxops/<parent>:${BASE_IMAGE_TAG}`), the whole
//   checkout ADDed, a COPY of their overrides, some COPY a file by name, then ansible-playbook.
// - docker/plays/<play>.yml: one play each (some with two or three), a few named unlike their
//   service; docker/plays/roles links to playbooks/roles as in the real repository.
// - playbooks/*.yml top-level plays; util/parsefiles_config.yml with weights for most images.
// The output is never committed: it goes where the first argument says.
//
// With --tiny, the Dockerfiles are what this machine builds in a second and without a network:
// `FROM debian:bookworm` (or the parent service), a LABEL and the overrides COPYed, no play run,
// and a .dockerignore keeps the context to docker/build. With --prefix P, every service is named
// P<name> (the benchmark builds `benchnoop-` images, names no developer's image has). Neither
// changes the rest of what is written.

import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** mulberry32: a small, good-enough PRNG; the same seed gives the same sequence everywhere. */
function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min, max) => min + Math.floor(next() * (max - min + 1));
  const pick = (items) => items[Math.floor(next() * items.length)];
  const chance = (p) => next() < p;
  /** Picks `count` distinct items, favouring the first ones (core roles are used most). */
  const pickSkewed = (items, count) => {
    const chosen = new Set();
    for (let tries = 0; chosen.size < Math.min(count, items.length) && tries < count * 20; tries++) {
      chosen.add(items[Math.floor(items.length * next() ** 2)]);
    }
    return [...chosen];
  };
  return { next, int, pick, chance, pickSkewed };
}

const WORDS = [
  'analytics', 'api', 'auth', 'billing', 'cache', 'catalog', 'cms', 'course', 'credentials', 'data',
  'discovery', 'edx', 'enterprise', 'forum', 'grading', 'insights', 'jobs', 'learner', 'lms', 'mail',
  'metrics', 'notes', 'orders', 'payments', 'portal', 'program', 'queue', 'registrar', 'search', 'studio',
  'sync', 'theme', 'video', 'worker', 'xblock', 'proxy', 'report', 'export', 'import', 'schedule',
];
const CORE_ROLES = ['common', 'common_vars', 'user', 'security', 'server_utils', 'supervisor', 'nginx', 'python', 'add_user', 'git_clone', 'docker-tools', 'oraclejdk'];
/** The core roles' own dependencies, as in the real repository. */
const CORE_DEPS = {
  common: ['common_vars', 'server_utils', 'user', 'security'],
  user: ['common_vars'],
  supervisor: ['common'],
  nginx: ['common'],
  'docker-tools': ['common'],
  python: ['common_vars'],
};
const DISTROS = ['xenial', 'bionic', 'focal', 'jammy', 'noble', 'bookworm', 'bullseye', 'trusty', 'buster', 'stretch', 'precise', 'centos'];

function uniqueNames(rng, count, separator, taken) {
  const names = [];
  while (names.length < count) {
    const base = `${rng.pick(WORDS)}${separator}${rng.pick(WORDS)}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}${separator}${n}`;
    taken.add(name);
    names.push(name);
  }
  return names;
}

function planRoles(rng, total) {
  const taken = new Set(CORE_ROLES);
  const rest = total - CORE_ROLES.length;
  const layers = [CORE_ROLES, uniqueNames(rng, Math.round(rest * 0.1), '_', taken), uniqueNames(rng, Math.round(rest * 0.3), '_', taken)];
  layers.push(uniqueNames(rng, rest - layers[1].length - layers[2].length, '_', taken));
  const roles = [];
  layers.forEach((names, layer) => {
    const below = layers.slice(0, layer).flat();
    for (const name of names) {
      const deps = layer === 0 ? CORE_DEPS[name] ?? [] : rng.pickSkewed(below, rng.int(1, 4));
      const includes = layer > 0 && rng.chance(0.04) ? [rng.pick(below)] : [];
      roles.push({ name, layer, deps, includes });
    }
  });
  return { roles, layers };
}

function metaText(rng, role) {
  const style = rng.next();
  if (role.deps.length === 0) {
    if (style < 0.3) return null;
    if (style < 0.5) return '---\n';
    if (style < 0.75) return '---\ndependencies: []\n';
    return '---\ngalaxy_info:\n  author: edX\n  license: AGPL-3.0\nallow_duplicates: yes\n';
  }
  const lines = ['---', '# generated by scripts/gen-repo.mjs', 'dependencies:'];
  for (const dep of role.deps) {
    if (rng.chance(0.6)) lines.push(`  - ${dep}`);
    else lines.push(`  - role: ${dep}`, `    ${dep.replace(/-/g, '_')}_user: "{{ ${role.name.replace(/-/g, '_')}_user }}"`);
  }
  return `${lines.join('\n')}\n`;
}

function tasksText(rng, role, count) {
  const prefix = role.name.replace(/-/g, '_');
  const out = ['---'];
  for (let i = 0; i < count; i++) {
    const kind = rng.int(0, 3);
    out.push(`- name: ${['Install', 'Create', 'Render', 'Configure'][kind]} ${role.name} step ${i}`);
    if (kind === 0) out.push('  apt:', `    name: "{{ ${prefix}_debian_pkgs }}"`, '    state: present', '    update_cache: true');
    else if (kind === 1) out.push('  file:', `    path: "{{ ${prefix}_app_dir }}/part${i}"`, '    state: directory', `    owner: "{{ ${prefix}_user }}"`);
    else if (kind === 2) out.push('  template:', `    src: part${i}.j2`, `    dest: "{{ ${prefix}_app_dir }}/part${i}.conf"`, '    mode: "0644"');
    else out.push('  lineinfile:', `    path: /etc/${prefix}.conf`, `    line: "setting_${i}={{ ${prefix}_setting_${i} | default('x') }}"`);
    out.push('  tags:', '    - install', `    - install:${['base', 'configuration', 'app-requirements', 'code'][kind]}`, '');
  }
  for (const included of role.includes) {
    out.push(`- name: Include ${included}`, `  ${rng.chance(0.5) ? 'include_role' : 'import_role'}:`, `    name: ${included}`, `  when: ${prefix}_with_${included.replace(/-/g, '_')} | default(true)`, '');
  }
  return `${out.join('\n')}\n`;
}

function writeRole(root, rng, role) {
  const dir = join(root, 'playbooks', 'roles', role.name);
  const meta = metaText(rng, role);
  if (meta !== null) write(join(dir, 'meta', 'main.yml'), meta);
  if (role.name !== 'common_vars' || rng.chance(0.5)) write(join(dir, 'tasks', 'main.yml'), tasksText(rng, role, rng.int(3, 12)));
  if (rng.chance(0.2)) write(join(dir, 'tasks', 'install.yml'), tasksText(rng, { ...role, includes: [] }, rng.int(2, 6)));
  const prefix = role.name.replace(/-/g, '_');
  write(join(dir, 'defaults', 'main.yml'), `---\n${prefix}_user: ${prefix}\n${prefix}_app_dir: /edx/app/${prefix}\n${prefix}_debian_pkgs: []\n`);
  if (rng.chance(0.5)) write(join(dir, 'templates', 'part0.j2'), `# {{ ansible_managed }}\nname={{ ${prefix}_user }}\n`);
  if (rng.chance(0.2)) write(join(dir, 'handlers', 'main.yml'), `---\n- name: restart ${role.name}\n  service:\n    name: ${role.name}\n    state: restarted\n`);
}

function planServices(rng, total, appRoles) {
  const taken = new Set();
  const bases = DISTROS.slice(0, Math.min(12, total)).map((distro) => ({ name: `${distro}-common`, parent: null, from: distro === 'centos' ? 'centos:7' : `${['bookworm', 'bullseye', 'buster', 'stretch'].includes(distro) ? 'debian' : 'ubuntu'}:${distro}` }));
  for (const base of bases) taken.add(base.name);
  const middle = uniqueNames(rng, Math.round((total - bases.length) * 0.08), '-', taken).map((name) => ({ name: `${name}-common`, parent: rng.pick(bases).name }));
  const apps = uniqueNames(rng, total - bases.length - middle.length, '-', taken).map((name) => ({
    name,
    parent: rng.chance(0.6) ? rng.pick(middle).name : rng.pick(bases).name,
  }));
  const services = [...bases, ...middle, ...apps];
  for (const service of services) {
    service.play = service.parent === null && rng.chance(0.3) ? null : rng.chance(0.03) ? `${service.name.replace(/-/g, '_')}_deploy` : service.name;
    service.roles = ['common', ...rng.pickSkewed(appRoles, rng.int(1, 3))];
    service.copies = rng.chance(0.05);
    service.overrides = rng.chance(0.7);
  }
  return services;
}

/** A Dockerfile that builds in a second from debian:bookworm, the only base this machine is sure to have. */
function tinyDockerfileText(service) {
  const lines = [`# ${service.name}: generated by scripts/gen-repo.mjs --tiny`];
  if (service.parent === null) lines.push('FROM debian:bookworm');
  else lines.push('ARG BASE_IMAGE_TAG=latest', `FROM edxops/${service.parent}:\${BASE_IMAGE_TAG}`);
  lines.push(`LABEL org.dockmk.bench="${service.name}"`);
  if (service.overrides) lines.push(`COPY docker/build/${service.name}/ansible_overrides.yml /benchnoop/${service.name}.yml`);
  return `${lines.join('\n')}\n`;
}

function dockerfileText(service) {
  const lines = [`# ${service.name}: generated by scripts/gen-repo.mjs`];
  if (service.parent === null) lines.push(`FROM ${service.from}`);
  else lines.push('ARG BASE_IMAGE_TAG=latest', `FROM edxops/${service.parent}:\${BASE_IMAGE_TAG}`);
  lines.push('LABEL maintainer="edxops"', '', 'ADD . /edx/app/edx_ansible/edx_ansible', 'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays');
  if (service.overrides) lines.push(`COPY docker/build/${service.name}/ansible_overrides.yml /`);
  if (service.copies) lines.push(`COPY docker/build/${service.name}/files/${service.name}.conf /etc/${service.name}.conf`);
  if (service.play !== null) {
    lines.push(
      `RUN /edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook ${service.play}.yml \\`,
      "    -i '127.0.0.1,' -c local \\",
      "    -t 'install:base,install:configuration,install:app-requirements,install:code' \\",
      `    ${service.overrides ? '--extra-vars=@/ansible_overrides.yml' : ''}`,
    );
  }
  lines.push('WORKDIR /edx/app', 'EXPOSE 8080', 'CMD ["/edx/app/run.sh"]');
  return `${lines.join('\n')}\n`;
}

function playText(rng, service) {
  const plays = [];
  const count = rng.chance(0.1) ? rng.int(2, 3) : 1;
  for (let i = 0; i < count; i++) {
    const roles = i === count - 1 ? service.roles : [rng.pick(['python', 'common_vars', 'security'])];
    const entries = roles.map((role, j) => (j > 0 && rng.chance(0.3) ? `    - role: ${role}\n      ${role.replace(/-/g, '_')}_enabled: true` : `    - ${role}`));
    plays.push(`- name: Deploy ${service.name} (${i + 1})\n  hosts: all\n  become: True\n  gather_facts: False\n  roles:\n${entries.join('\n')}\n`);
  }
  return plays.join('\n');
}

function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Writes the checkout into `root`; returns what a benchmark needs to pick realistic changes. */
export function generateRepo(root, { services = 2000, roles = 5000, playbooks = 300, seed = 1, prefix = '', tiny = false } = {}) {
  const rng = random(seed);
  const { roles: allRoles, layers } = planRoles(rng, roles);
  for (const role of allRoles) writeRole(root, rng, role);
  const all = planServices(rng, services, [...layers[2], ...layers[3]]);
  for (const service of all) {
    service.name = `${prefix}${service.name}`;
    if (service.parent !== null) service.parent = `${prefix}${service.parent}`;
    if (service.play === service.name.slice(prefix.length)) service.play = service.name;
  }
  const weights = [];
  for (const service of all) {
    const dir = join(root, 'docker', 'build', service.name);
    write(join(dir, 'Dockerfile'), tiny ? tinyDockerfileText(service) : dockerfileText(service));
    if (service.overrides) write(join(dir, 'ansible_overrides.yml'), `---\n${service.name.replace(/-/g, '_').toUpperCase()}_VERSION: master\n`);
    if (service.copies) write(join(dir, 'files', `${service.name}.conf`), `# ${service.name}\n`);
    if (service.play !== null) write(join(root, 'docker', 'plays', `${service.play}.yml`), playText(rng, service));
    if (rng.chance(0.8)) weights.push(`  - ${service.name}: ${rng.int(1, 30)}`);
  }
  symlinkSync('../../playbooks/roles', join(root, 'docker', 'plays', 'roles'));
  const appRoles = layers[3];
  for (let i = 0; i < playbooks; i++) {
    const name = i < 50 ? all[12 + i]?.name ?? `site-${i}` : `site-${i}`;
    const used = ['common', ...rng.pickSkewed(appRoles, rng.int(1, 4))];
    write(join(root, 'playbooks', `${name}.yml`), `- name: Configure ${name}\n  hosts: all\n  become: True\n  roles:\n${used.map((r) => `    - ${r}`).join('\n')}\n`);
  }
  write(
    join(root, 'util', 'parsefiles_config.yml'),
    `roles_paths:\n  - playbooks/roles\naws_plays_paths:\n  - playbooks\ndocker_plays_paths:\n  - docker/plays\ndocker_ignore_list: []\nweights:\n${weights.join('\n')}\n`,
  );
  write(join(root, 'README.md'), `Generated by scripts/gen-repo.mjs (seed ${seed}): ${services} services, ${roles} roles.\n`);
  // The classic builder unpacks the whole context for every build (~2 ms a file here): tiny
  // images need only their own directories.
  if (tiny) write(join(root, '.dockerignore'), '*\n!docker/build\n');
  return {
    services: all.map((s) => ({ name: s.name, parent: s.parent, play: s.play, copies: s.copies })),
    roles: allRoles.map((r) => ({ name: r.name, layer: r.layer })),
  };
}

function parseArgs(argv) {
  const [dir, ...rest] = argv;
  if (!dir || dir.startsWith('-')) throw new Error('usage: node scripts/gen-repo.mjs <dir> [--services N] [--roles N] [--playbooks N] [--seed N] [--prefix P] [--tiny]');
  const options = {};
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--tiny') {
      options.tiny = true;
      i -= 1;
      continue;
    }
    if (rest[i] === '--prefix' && /^[a-z][a-z0-9-]*$/.test(rest[i + 1] ?? '')) {
      options.prefix = rest[i + 1];
      continue;
    }
    const key = rest[i]?.replace(/^--/, '');
    const value = Number(rest[i + 1]);
    if (!['services', 'roles', 'playbooks', 'seed'].includes(key) || !Number.isInteger(value) || value < 0) throw new Error(`bad option ${rest[i]} ${rest[i + 1] ?? ''}`);
    options[key] = value;
  }
  if ((options.services ?? 2000) < 12) throw new Error('--services must be at least 12 (the base images)');
  return { dir: resolve(dir), options };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { dir, options } = parseArgs(process.argv.slice(2));
    const started = performance.now();
    const made = generateRepo(dir, options);
    console.log(`gen-repo: ${made.services.length} services, ${made.roles.length} roles in ${dir} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    console.error(`gen-repo: ${error.message}`);
    process.exitCode = 2;
  }
}
