// Which checkout files a build reads, grouped into named inputs and digested. The whole
// checkout is copied into every image, but a service's play can only read its own play, its
// own docker/build directory, the roles it uses and the files no other service owns: files
// owned by other services (their directories, plays, top-level playbooks) and roles outside
// its closure are not inputs, so editing them rebuilds nothing here.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Checkout, Service } from '../model/checkout.js';
import type { Flavor } from './flavor.js';
import type { BuildInputs } from './types.js';

export interface Layout {
  readonly build: string;
  readonly plays: string;
  readonly roles: string;
  readonly playbooks: string;
}

export interface InputSources {
  /** Digest of every file of the build context, by path. */
  readonly files: ReadonlyMap<string, string>;
  readonly layout: Layout;
  /** The roles each service's play can run; absent: every role counts. */
  readonly roles?: (service: string) => ReadonlySet<string> | null;
}

/** The owner of each path that belongs to one service: its build dir, its play, its playbook. */
export function ownedPaths(checkout: Checkout, layout: Layout): (path: string) => string | null {
  const owners = new Map<string, string>();
  for (const service of checkout.services.values()) {
    if (service.play !== null) owners.set(service.play, service.name);
    for (const extension of ['yml', 'yaml']) owners.set(posix.join(layout.playbooks, `${service.name}.${extension}`), service.name);
  }
  const buildPrefix = `${layout.build}/`;
  return (path) => {
    if (path.startsWith(buildPrefix)) {
      const dir = path.slice(buildPrefix.length).split('/')[0] as string;
      return checkout.services.has(dir) ? dir : null;
    }
    return owners.get(path) ?? null;
  };
}

export function buildInputs(
  service: Service,
  content: string,
  buildArgs: Readonly<Record<string, string>>,
  sources: InputSources,
  ownerOf: (path: string) => string | null,
  flavor: Flavor = 'plain',
  labels: Readonly<Record<string, string>> = {},
): BuildInputs {
  const groups = new Map<string, string[]>();
  const add = (label: string, line: string): void => {
    const lines = groups.get(label) ?? [];
    lines.push(line);
    groups.set(label, lines);
  };
  const roles = sources.roles?.(service.name) ?? null;
  const rolesPrefix = `${sources.layout.roles}/`;
  for (const [path, digest] of sources.files) {
    const owner = ownerOf(path);
    if (owner !== null && owner !== service.name) continue;
    let label: string;
    if (path.startsWith(rolesPrefix)) {
      const role = path.slice(rolesPrefix.length).split('/')[0] as string;
      if (roles !== null && !roles.has(role)) continue;
      label = `role ${role}`;
    } else if (path === service.play) {
      label = `play ${path}`;
    } else if (path === service.overrides?.path) {
      label = `overrides ${path}`;
    } else if (owner === service.name) {
      label = `service files ${posix.join(sources.layout.build, service.name)}/`;
    } else {
      label = 'other files';
    }
    add(label, `${path}\0${digest}`);
  }
  const parts: Record<string, string> = {
    dockerfile: sha256(content),
    'build args': sha256(JSON.stringify(Object.entries(buildArgs).sort())),
    flavor: sha256(flavor),
  };
  // Only when there are some, so that adding the part left earlier hashes as they were.
  if (Object.keys(labels).length > 0) parts.labels = sha256(JSON.stringify(Object.entries(labels).sort()));
  for (const [label, lines] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) parts[label] = sha256(lines.sort().join('\n'));
  const digest = sha256(Object.entries(parts).map(([label, part]) => `${label}\0${part}`).join('\n'));
  return { digest, parts };
}

/** Hex sha256 of a text: the one digest every input part uses. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
