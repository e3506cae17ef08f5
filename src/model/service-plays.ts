// Which services each play file belongs to. A service runs the play its Dockerfile's
// ansible-playbook line names (Service.play: found in the docker plays directory, else
// `<plays>/<svc>.yml`); when that line names a file found only in another plays path or among
// the top-level playbooks (graphite runs edx-monitoring.yml), it runs that one. This replaces
// the legacy mapping by file name, which lost tools_jenkins (it runs jenkins_tools.yml).

import { posix } from 'node:path';
import type { AnsibleDirs } from './raw-ansible.js';
import type { Checkout } from './checkout.js';
import { roleClosure, type RoleGraph } from './roles.js';

/**
 * runs: the service runs this existing file; would-run: its Dockerfile names this docker play,
 * which does not exist (deleted, or not added yet); named: `<plays>/<svc>.yml`, the legacy rule.
 */
export type PlayLink = 'runs' | 'would-run' | 'named';

export interface ServiceOfPlay {
  readonly service: string;
  readonly link: PlayLink;
}

/** Play path → the services linked to it, sorted by name. */
export type PlayOwners = ReadonlyMap<string, readonly ServiceOfPlay[]>;

export function playOwners(checkout: Checkout, dirs: AnsibleDirs, existing: ReadonlySet<string>): PlayOwners {
  const owners = new Map<string, ServiceOfPlay[]>();
  const link = (path: string, service: string, kind: PlayLink): void => {
    const list = owners.get(path) ?? [];
    if (!list.some((owner) => owner.service === service)) list.push({ service, link: kind });
    owners.set(path, list);
  };
  // Each directory as posix.join writes it before a file name: joined once, not once a service.
  const prefix = (dir: string): string => posix.join(dir, '_').slice(0, -1);
  const [plays, playbooks] = [dirs.dockerPlays.map(prefix), dirs.playbooks.map(prefix)];
  for (const service of checkout.services.values()) {
    if (service.play !== null) link(service.play, service.name, 'runs');
    for (const run of service.dockerfile.playbookRuns) {
      const name = posix.basename(run.playbook);
      const candidates = plays.map((dir) => dir + name);
      const found = [...candidates, ...playbooks.map((dir) => dir + name)].find((path) => existing.has(path));
      if (service.play === null && found !== undefined) link(found, service.name, 'runs');
      for (const candidate of candidates) if (!existing.has(candidate)) link(candidate, service.name, 'would-run');
    }
    for (const dir of plays) {
      for (const extension of ['yml', 'yaml']) link(`${dir}${service.name}.${extension}`, service.name, 'named');
    }
  }
  for (const list of owners.values()) list.sort((a, b) => (a.service < b.service ? -1 : 1));
  return owners;
}

/** The play files each service runs (what its image executes), for input hashing and coverage. */
export function playsOfService(owners: PlayOwners): ReadonlyMap<string, readonly string[]> {
  const plays = new Map<string, string[]>();
  for (const [path, list] of owners) {
    for (const owner of list) if (owner.link === 'runs') plays.set(owner.service, [...(plays.get(owner.service) ?? []), path]);
  }
  return plays;
}

/**
 * The roles each service's image runs: the roles its plays use and all they pull in (null: it
 * runs no play). Needs a full role graph (not one built `around` some roles).
 */
export function rolesRun(graph: RoleGraph, owners: PlayOwners): (service: string) => ReadonlySet<string> | null {
  const plays = playsOfService(owners);
  const cache = new Map<string, ReadonlySet<string> | null>();
  // Services that run the same plays run the same roles: one closure for them all.
  const byPlays = new Map<string, ReadonlySet<string>>();
  return (service) => {
    if (!cache.has(service)) {
      const files = plays.get(service);
      if (files === undefined) {
        cache.set(service, null);
      } else {
        const key = files.join('\0');
        let closure = byPlays.get(key);
        if (closure === undefined) {
          const direct = files.flatMap((play) => graph.playFiles.get(play)?.roles.map((reference) => reference.role) ?? []);
          byPlays.set(key, (closure = roleClosure(graph, direct)));
        }
        cache.set(service, closure);
      }
    }
    return cache.get(service) ?? null;
  };
}
