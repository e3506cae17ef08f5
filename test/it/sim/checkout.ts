// The repository the simulated runners check out: laid out like the legacy `configuration`
// repository (docker/build/<svc>/Dockerfile + ansible_overrides.yml, docker/plays, playbooks/roles),
// with this worktree's workflow and plan script in .github/, and a package.json whose docker:*
// scripts run this worktree's dockmk. The images are trivial but real: each Dockerfile ADDs the
// checkout and runs its play with a stand-in for ansible-playbook (no Ansible, and no network in
// the builds) that copies the play and the roles it names into the image, so a role change
// changes the image. Written at test time, with the registry the base image comes from.
//
//   wave 1   base (common)      other (other_role)     tools (tools_role)      FROM <registry>/base/debian
//   wave 2   mid (mid_role)     side (side_role)                               FROM edxops/base
//   wave 3   app (app_role → web)   app2 (app2_role → web)                     FROM edxops/mid

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../helpers.js';

export interface ServiceSpec {
  /** A service of the checkout it builds FROM, or null for the base image from the registry. */
  readonly parent: string | null;
  readonly role: string;
}

export const SERVICES: Readonly<Record<string, ServiceSpec>> = {
  base: { parent: null, role: 'common' },
  other: { parent: null, role: 'other_role' },
  tools: { parent: null, role: 'tools_role' },
  mid: { parent: 'base', role: 'mid_role' },
  side: { parent: 'base', role: 'side_role' },
  app: { parent: 'mid', role: 'app_role' },
  app2: { parent: 'mid', role: 'app2_role' },
};
/** What GitHub gives as `before` for a ref that did not exist. */
export const ZERO_SHA = '0'.repeat(40);

export const SERVICE_NAMES = Object.keys(SERVICES).sort();

/** Role → the roles its meta/main.yml depends on. */
const ROLES: Readonly<Record<string, readonly string[]>> = {
  common: [],
  other_role: [],
  tools_role: [],
  mid_role: [],
  side_role: [],
  app_role: ['web'],
  app2_role: ['web'],
  web: [],
};

const STAND_IN = `#!/bin/sh
# Stands in for ansible-playbook in the release simulation (test/it/release.test.ts): "runs" a play
# by copying it and the roles it names into the image, so that a change to a role changes it.
set -eu
play=
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *.yml) play="$arg"; break ;;
  esac
done
[ -n "$play" ] || { echo "ansible-playbook (stand-in): no play among $*" >&2; exit 2; }
out="/edx/var/plays/\${play%.yml}"
mkdir -p "$out"
cp "$play" "$out/"
for role in $(sed -n 's/^ *- *\\([A-Za-z0-9_]*\\) *$/\\1/p' "$play"); do
  cp -r "../../playbooks/roles/$role" "$out/"
done
echo "ansible-playbook $play $*" > "$out/command"
`;

export interface SimRepo {
  /** The clone commits are made in. */
  readonly work: string;
  /** The bare repository the runners check out from (its default branch is main). */
  readonly origin: string;
  write(path: string, text: string): void;
  read(path: string): string;
  /** Commits everything; returns the new sha. */
  commit(message: string): string;
  /** `git push origin <ref>` (`refs/heads/main`, `refs/tags/v1.2.0`): the commit it was at before (ZERO_SHA: none) and after. */
  push(ref: string): { before: string; after: string };
  git(...args: string[]): string;
  sha(ref: string): string;
}

/** The Dockerfile of a service, legacy-shaped; `extra` lines go before the play runs. */
export function dockerfile(name: string, registry: string, extra: readonly string[] = []): string {
  const spec = SERVICES[name] as ServiceSpec;
  const bin = '/edx/app/edx_ansible/venvs/edx_ansible/bin/ansible-playbook';
  return [
    `# release simulation: ${name}${spec.parent ? `, on ${spec.parent}` : ''}`,
    ...(spec.parent ? ['ARG BASE_IMAGE_TAG=latest', `FROM edxops/${spec.parent}:\${BASE_IMAGE_TAG}`] : [`FROM ${registry}/base/debian:bookworm`, `COPY util/ansible-playbook ${bin}`]),
    'ADD . /edx/app/edx_ansible/edx_ansible',
    'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays',
    `COPY docker/build/${name}/ansible_overrides.yml /`,
    ...extra,
    `RUN ${bin} ${name}.yml \\`,
    "    -i '127.0.0.1,' -c local \\",
    "    -t 'install:base,install:configuration,install:app-requirements,install:code,devstack:install' \\",
    '    --extra-vars=@/ansible_overrides.yml',
    '',
  ].join('\n');
}

export function roleTasks(role: string, revision: number): string {
  return `- name: ${role} is in place\n  debug:\n    msg: "${role}, revision ${revision}"\n`;
}

/**
 * Makes the bare origin and a work clone holding the repository before any service (README,
 * package.json, .github/): pushed, so the first simulated push adds the services.
 */
export function createRepo(dir: string): SimRepo {
  const origin = join(dir, 'origin.git');
  const work = join(dir, 'work');
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: work, encoding: 'utf8', env: gitEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', origin], { env: gitEnv(dir) });
  execFileSync('git', ['init', '-q', '-b', 'main', work], { env: gitEnv(dir) });
  git('config', 'user.name', 'Release Simulation');
  git('config', 'user.email', 'release-sim@example.invalid');
  git('remote', 'add', 'origin', origin);

  const write = (path: string, text: string, mode = 0o644): void => {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text, { mode });
  };
  const own = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const bin = join(REPO_ROOT, 'bin', 'dockmk.js');
  const scripts = Object.fromEntries(
    Object.entries(own.scripts)
      .filter(([name]) => name.startsWith('docker:'))
      .map(([name, command]) => [name, command.replace(/^node bin\/dockmk\.js/, `node ${JSON.stringify(bin)}`)]),
  );
  const manifest = { name: 'sim-configuration', version: '0.0.0', private: true, scripts };
  write('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
  // No dependencies: `npm ci` still runs (and checks the lock matches), and is quick.
  write('package-lock.json', `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, version: manifest.version } } }, null, 2)}\n`);
  write('.npmrc', 'audit=false\nfund=false\nupdate-notifier=false\n');
  write('.gitignore', 'node_modules/\n.dockmk/\nmanifest.json\npromote.json\n');
  // As the legacy fixture: the context is the root, trimmed to what the plays need.
  write('.dockerignore', '*\n!docker/\n!playbooks/\n!util/\n');
  write('README.md', '# configuration (release simulation)\n');
  cpSync(join(REPO_ROOT, '.github'), join(work, '.github'), { recursive: true });
  git('add', '-A');
  git('commit', '-q', '-m', 'The repository, before any image');
  git('push', '-q', 'origin', 'main');

  return {
    work,
    origin,
    write: (path, text) => write(path, text, path.startsWith('util/') ? 0o755 : 0o644),
    read: (path) => readFileSync(join(work, path), 'utf8'),
    commit: (message) => {
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    push: (ref) => {
      const resolve = (): string | null => {
        try {
          return execFileSync('git', ['--git-dir', origin, 'rev-parse', '-q', '--verify', `${ref}^{commit}`], { encoding: 'utf8', env: gitEnv(dir), stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        } catch {
          return null;
        }
      };
      const before = resolve() ?? ZERO_SHA;
      git('push', '-q', 'origin', `${ref}:${ref}`);
      const after = resolve();
      if (after === null) throw new Error(`git push origin ${ref}: origin has no ${ref} after it`);
      return { before, after };
    },
    git,
    sha: (ref) => git('rev-parse', `${ref}^{commit}`),
  };
}

/** Adds the services, their plays and roles, and the stand-in for ansible-playbook. */
export function writeServices(repo: SimRepo, registry: string): void {
  repo.write('util/ansible-playbook', STAND_IN);
  for (const [name, spec] of Object.entries(SERVICES)) {
    repo.write(`docker/build/${name}/Dockerfile`, dockerfile(name, registry));
    repo.write(`docker/build/${name}/ansible_overrides.yml`, `---\n${name.toUpperCase()}_VERSION: master\n`);
    repo.write(`docker/plays/${name}.yml`, `- name: Deploy ${name}\n  hosts: all\n  become: true\n  gather_facts: false\n  roles:\n    - ${spec.role}\n`);
  }
  for (const [role, dependencies] of Object.entries(ROLES)) {
    repo.write(`playbooks/roles/${role}/tasks/main.yml`, roleTasks(role, 1));
    repo.write(`playbooks/roles/${role}/meta/main.yml`, dependencies.length === 0 ? '---\ndependencies: []\n' : `---\ndependencies:\n${dependencies.map((d) => `  - role: ${d}\n`).join('')}`);
  }
}

/** git without the user's or the machine's configuration. */
export function gitEnv(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    GIT_CONFIG_NOSYSTEM: '1',
    LANG: 'C.UTF-8',
  };
}
