// Changed paths → the services a change affects, each with the chains that explain it. The
// rules (README, "Build only what a change touches"):
//   a. a file under <build>/<svc>/ → svc; in a declared layout (services:, bake), a file under
//      a service's own build context, or in its Dockerfile's directory → that service;
//   b. a docker play → the services that run it (and <plays>/<svc>.yml → svc);
//   c. a file of role R → R and every role that pulls R in (meta dependencies in both forms,
//      include_role, import_role), transitively → the play files using one of them → the
//      services that run those plays;
//   d. a top-level playbook <playbooks>/<name>.yml → service <name> (and services that run it);
//   f. a file a Dockerfile COPYs/ADDs by name → that service;
//   g. with `withChildren`, every descendant image of an affected one.
// (e) Only services count; a changed role no service's play reaches is a warning. Pure.

import { posix } from 'node:path';
import type { AnsibleDirs } from '../model/raw-ansible.js';
import type { ChangedPath } from './changed-path.js';
import type { Checkout, Warning } from '../model/checkout.js';
import { sourcesMatcher, type CopyIndex } from '../model/copy-sources.js';
import { reachable } from '../model/reach.js';
import { formatCycle, type RoleGraph, type RoleReference } from '../model/roles.js';
import type { PlayLink, PlayOwners } from '../model/service-plays.js';
import { roleReasons } from './affected-roles.js';

export type Rule = 'build-dir' | 'docker-play' | 'role' | 'playbook' | 'copy' | 'parent';

export type Link =
  /** A role: the changed one (no reference), or one that pulls in the previous link's role. */
  | { readonly kind: 'role'; readonly name: string; readonly reference?: RoleReference }
  /** A docker play or top-level playbook; `reference` is where it uses the previous role. */
  | { readonly kind: 'play'; readonly path: string; readonly reference?: RoleReference }
  | { readonly kind: 'service'; readonly name: string; readonly via: ServiceVia };

export type ServiceVia =
  | { readonly kind: 'build-dir' }
  /** A file of the service's own build context (a directory, not the checkout root). */
  | { readonly kind: 'context'; readonly dir: string }
  | { readonly kind: 'play'; readonly link: PlayLink }
  | { readonly kind: 'playbook-name' }
  | { readonly kind: 'copy'; readonly file: string; readonly line: number; readonly instruction: 'COPY' | 'ADD'; readonly source: string }
  | { readonly kind: 'parent'; readonly file: string; readonly line: number }
  /** The first link of a --with-children chain: a service affected by the change itself. */
  | { readonly kind: 'affected' };

export interface Reason {
  readonly rule: Rule;
  /** The changed paths behind it (none for `parent`: its first link is the affected parent). */
  readonly files: readonly ChangedPath[];
  /** From what the files belong to, to the service. */
  readonly chain: readonly Link[];
}

export interface Unmatched {
  readonly path: string;
  readonly why: string;
}

export interface AffectedInput {
  readonly checkout: Checkout;
  readonly changes: readonly ChangedPath[];
  readonly buildDir: string;
  readonly dirs: AnsibleDirs;
  readonly owners: PlayOwners;
  readonly copies: CopyIndex;
  /** Needed when a change touches a role (see `touchesRoles`); null otherwise. */
  readonly roles: RoleGraph | null;
  readonly withChildren: boolean;
}

export interface Affected {
  /** Sorted. */
  readonly services: readonly string[];
  readonly reasons: ReadonlyMap<string, readonly Reason[]>;
  /** Always worth showing: roles no service runs, role dependency cycles, untraceable names. */
  readonly warnings: readonly Warning[];
  /** Changed paths that affect no service, and why. */
  readonly unmatched: readonly Unmatched[];
}

type Entry =
  | { readonly rule: 'build-dir'; readonly service: string; readonly context?: string }
  | { readonly rule: 'docker-play' | 'playbook'; readonly path: string }
  | { readonly rule: 'role'; readonly role: string }
  | { readonly rule: 'copy'; readonly service: string; readonly via: ServiceVia & { kind: 'copy' } };

/** The roles the changed paths lie in: the role graph is needed around them (and only then). */
export function changedRoles(changes: readonly ChangedPath[], dirs: AnsibleDirs): string[] {
  const roles = changes.flatMap((change) => pathsOf(change).map((path) => roleOf(path, dirs)));
  return [...new Set(roles.filter((role): role is string => role !== null))].sort();
}

export function findAffected(input: AffectedInput): Affected {
  const entries = new Map<string, { entry: Entry; files: ChangedPath[] }>();
  const why = new Map<string, string>();
  const declared = declaredDirs(input.checkout);
  for (const change of input.changes) {
    for (const path of pathsOf(change)) {
      const found = declared === null ? entriesOf(path, input, why) : [...declaredEntries(path, declared), ...entriesOf(path, input, why)];
      if (found.length === 0 && !why.has(path)) why.set(path, 'no rule maps it to a service (not a service file, play, role or file a Dockerfile copies)');
      for (const entry of found) {
        const key = JSON.stringify(entry);
        const known = entries.get(key) ?? { entry, files: [] };
        if (!known.files.includes(change)) known.files.push(change);
        entries.set(key, known);
      }
    }
  }
  const reasons = new Map<string, Reason[]>();
  const warnings: Warning[] = [];
  let added = 0;
  const add = (service: string, reason: Reason): void => {
    if (!input.checkout.services.has(service)) return;
    reasons.set(service, [...(reasons.get(service) ?? []), reason]);
    added += 1;
  };
  for (const { entry, files } of entries.values()) {
    const before = added;
    resolve(entry, files, input, add, warnings);
    if (added === before) for (const file of files) why.set(file.path, describeMiss(entry));
  }
  if (input.roles !== null) {
    warnings.push(...input.roles.cycles.map((cycle) => ({ file: cycle.references[0]?.file ?? '', message: formatCycle(cycle) })));
    warnings.push(...input.roles.warnings);
  }
  if (input.withChildren) addChildren(input.checkout, reasons);
  const matched = new Set([...reasons.values()].flat().flatMap((reason) => reason.files.flatMap(pathsOf)));
  const unmatched = [...why].filter(([path]) => !matched.has(path)).map(([path, text]) => ({ path, why: text }));
  return { services: [...reasons.keys()].sort(), reasons, warnings, unmatched: unmatched.sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

function pathsOf(change: ChangedPath): string[] {
  return change.previous === undefined ? [change.path] : [change.path, change.previous];
}

/** In a declared layout: directory → the services whose own context it is, or whose Dockerfile it holds. */
type DeclaredDirs = ReadonlyMap<string, readonly { service: string; context: string | null }[]>;

function declaredDirs(checkout: Checkout): DeclaredDirs | null {
  if (checkout.layout === 'legacy') return null;
  const dirs = new Map<string, { service: string; context: string | null }[]>();
  const add = (dir: string, entry: { service: string; context: string | null }): void => void dirs.set(dir, [...(dirs.get(dir) ?? []), entry]);
  for (const service of checkout.services.values()) {
    if (service.context !== '.') add(service.context, { service: service.name, context: service.context });
    // On the checkout root and copying (or binding) all of it, running no play: every file is read.
    else if (service.play === null && sourcesMatcher(service.dockerfile) === 'all') add('', { service: service.name, context: '.' });
    const own = posix.dirname(service.dockerfile.path);
    if (own !== service.context && own !== '.') add(own, { service: service.name, context: null });
  }
  return dirs;
}

function declaredEntries(path: string, declared: DeclaredDirs): Entry[] {
  const entries: Entry[] = (declared.get('') ?? []).map(({ service }) => ({ rule: 'build-dir', service, context: '.' }));
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
    for (const { service, context } of declared.get(path.slice(0, slash)) ?? []) {
      entries.push(context === null ? { rule: 'build-dir', service } : { rule: 'build-dir', service, context });
    }
  }
  return entries;
}

function entriesOf(path: string, input: AffectedInput, why: Map<string, string>): Entry[] {
  const entries: Entry[] = [];
  const { buildDir, dirs } = input;
  if (input.checkout.layout === 'legacy' && path.startsWith(`${buildDir}/`)) {
    const dir = path.slice(buildDir.length + 1).split('/')[0] as string;
    if (input.checkout.services.has(dir)) entries.push({ rule: 'build-dir', service: dir });
    else why.set(path, `${buildDir}/${dir} is not a service: ${input.checkout.notServices.get(dir) ?? 'it has no Dockerfile (any more)'}`);
  }
  const parent = posix.dirname(path);
  if (/\.ya?ml$/.test(path) && dirs.dockerPlays.includes(parent)) entries.push({ rule: 'docker-play', path });
  if (/\.ya?ml$/.test(path) && dirs.playbooks.includes(parent)) entries.push({ rule: 'playbook', path });
  const role = roleOf(path, dirs);
  if (role !== null) entries.push({ rule: 'role', role });
  for (const copy of input.copies.match(path)) {
    const via = { kind: 'copy', file: copy.dockerfile, line: copy.source.line, instruction: copy.source.instruction, source: copy.source.source } as const;
    entries.push({ rule: 'copy', service: copy.service, via });
  }
  return entries;
}

/** The role a path belongs to: `<roles>/<role>/<anything>`. */
function roleOf(path: string, dirs: AnsibleDirs): string | null {
  for (const dir of dirs.roles) {
    if (!path.startsWith(`${dir}/`)) continue;
    const [role, ...rest] = path.slice(dir.length + 1).split('/');
    if (role && rest.length > 0) return role;
  }
  return null;
}

function resolve(entry: Entry, files: readonly ChangedPath[], input: AffectedInput, add: (service: string, reason: Reason) => void, warnings: Warning[]): void {
  switch (entry.rule) {
    case 'build-dir':
      return add(entry.service, { rule: entry.rule, files, chain: [{ kind: 'service', name: entry.service, via: entry.context === undefined ? { kind: 'build-dir' } : { kind: 'context', dir: entry.context } }] });
    case 'copy':
      return add(entry.service, { rule: entry.rule, files, chain: [{ kind: 'service', name: entry.service, via: entry.via }] });
    case 'docker-play':
    case 'playbook': {
      const owners = (input.owners.get(entry.path) ?? []).filter((owner) => entry.rule === 'docker-play' || owner.link === 'runs');
      const links = owners.map((owner) => ({ service: owner.service, via: { kind: 'play', link: owner.link } as ServiceVia }));
      const stem = posix.basename(entry.path).replace(/\.ya?ml$/, '');
      if (entry.rule === 'playbook' && !owners.some((owner) => owner.service === stem)) links.push({ service: stem, via: { kind: 'playbook-name' } });
      for (const { service, via } of links) add(service, { rule: entry.rule, files, chain: [{ kind: 'service', name: service, via }] });
      return;
    }
    case 'role': {
      if (input.roles === null) throw new Error(`role ${entry.role} changed but no role graph was loaded (changedRoles says which roles it needs)`);
      const found = roleReasons(input.roles, input.owners, entry.role, files);
      for (const [service, reason] of found.reasons) add(service, reason);
      if (found.reasons.size === 0) warnings.push({ file: files[0]?.path ?? entry.role, message: found.uncovered });
      return;
    }
  }
}

function describeMiss(entry: Entry): string {
  switch (entry.rule) {
    case 'role':
      return `no service's play uses role ${entry.role}, directly or through roles that pull it in`;
    case 'docker-play':
      return 'no service runs this docker play';
    case 'playbook':
      return 'no service runs this playbook or is named like it';
    default:
      return 'it reaches no service';
  }
}

/** Parent → the services of the checkout built on it, with the line that says so. */
function childrenOf(checkout: Checkout): Map<string, { name: string; via: ServiceVia }[]> {
  const children = new Map<string, { name: string; via: ServiceVia }[]>();
  for (const service of checkout.services.values()) {
    for (const base of service.bases) {
      if (base.parent === null) continue;
      const list = children.get(base.parent) ?? [];
      if (!list.some((child) => child.name === service.name)) list.push({ name: service.name, via: { kind: 'parent', file: service.dockerfile.path, line: base.line } });
      children.set(base.parent, list);
    }
  }
  return children;
}

/** The named services and every image built on them, directly or not. */
export function descendants(checkout: Checkout, names: Iterable<string>): Set<string> {
  const children = childrenOf(checkout);
  return reachable(names, (name) => (children.get(name) ?? []).map((child) => child.name));
}

/** Rule (g): what test/pkg must rebuild on top of an affected parent. */
function addChildren(checkout: Checkout, reasons: Map<string, Reason[]>): void {
  const children = childrenOf(checkout);
  const queue: { name: string; chain: Link[] }[] = [...reasons.keys()].sort().map((name) => ({ name, chain: [{ kind: 'service', name, via: { kind: 'affected' } }] }));
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    for (const child of children.get(item.name) ?? []) {
      if (reasons.has(child.name)) continue;
      const chain: Link[] = [...item.chain, { kind: 'service', name: child.name, via: child.via }];
      reasons.set(child.name, [{ rule: 'parent', files: [], chain }]);
      queue.push({ name: child.name, chain });
    }
  }
}
