// Which checkout files a build reads, grouped into named inputs and digested. The whole
// checkout is copied into every image, but a service's play can only read its own play, its
// own docker/build directory, the roles it uses and the files no service owns: files owned by
// other services (their directories, plays, top-level playbooks) and roles outside its closure
// are not inputs, so editing them rebuilds nothing here.
//
// The files are grouped once per plan (`indexInputs`: each role's files, each service's own
// files, the shared "other files"), each shared group digested once; a service's inputs then
// combine the groups it reads. The cost is O(files + services × roles in their closures), not
// services × files.

import { posix } from 'node:path';
import type { Checkout, Service } from '../model/checkout.js';
import { sourcesMatcher } from '../model/copy-sources.js';
import type { Flavor } from './flavor.js';
import { digestLines, digestParts, sha256, type Line } from './input-digest.js';
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
  /**
   * The files of each service context that is a directory of the checkout, as its own
   * .dockerignore leaves them, by path from the root; absent: taken from `files`.
   */
  readonly contexts?: ReadonlyMap<string, ReadonlyMap<string, string>>;
}


/** Where a path belongs: to the services that own it, to a role, or to every service. */
type Place = { readonly kind: 'owned'; readonly owners: readonly string[] } | { readonly kind: 'role'; readonly role: string } | { readonly kind: 'other' };

/** The files grouped once for every service of a plan. */
export interface InputIndex {
  readonly sources: InputSources;
  readonly placeOf: (path: string) => Place;
  /** Files of each role that no service owns, by role. */
  readonly roles: ReadonlyMap<string, readonly Line[]>;
  /** The digest of each role's group. */
  readonly roleDigests: ReadonlyMap<string, string>;
  /** Files no service owns outside the roles. */
  readonly other: readonly Line[];
  readonly otherDigest: string | null;
  /** Files owned by a service (its build dir, its play, its top-level playbook), by service. */
  readonly owned: ReadonlyMap<string, readonly Line[]>;
  /** The files under each build context that is a directory of the checkout (not its root), by directory. */
  readonly contexts: ReadonlyMap<string, readonly Line[]>;
}

/** The directories a path lies in, nearest first (`a/b/c` → `a/b`, `a`). */
export function parentDirs(path: string): string[] {
  const out: string[] = [];
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) out.push(path.slice(0, slash));
  return out;
}

/**
 * The services each path belongs to: its build dir, the play its Dockerfile runs (a play run by
 * two services belongs to both), its top-level playbook `<playbooks>/<svc>.yml`.
 */
export function ownedPaths(checkout: Checkout, layout: Layout): (path: string) => readonly string[] {
  const owners = new Map<string, string[]>();
  const own = (path: string, service: string): void => {
    const list = owners.get(path);
    if (list === undefined) owners.set(path, [service]);
    else if (!list.includes(service)) list.push(service);
  };
  for (const service of checkout.services.values()) {
    if (service.play !== null) own(service.play, service.name);
    for (const extension of ['yml', 'yaml']) own(posix.join(layout.playbooks, `${service.name}.${extension}`), service.name);
  }
  const none: readonly string[] = [];
  if (checkout.layout !== 'legacy') {
    // Declared services own the directory their Dockerfile is in (two services may share one).
    const dirs = new Map<string, string[]>();
    for (const service of checkout.services.values()) {
      const dir = posix.dirname(service.dockerfile.path);
      if (dir !== '.') dirs.set(dir, [...(dirs.get(dir) ?? []), service.name]);
    }
    return (path) => {
      for (const dir of parentDirs(path)) {
        const found = dirs.get(dir);
        if (found !== undefined) return found;
      }
      return owners.get(path) ?? none;
    };
  }
  const buildPrefix = `${layout.build}/`;
  const ownerLists = new Map<string, readonly string[]>();
  return (path) => {
    if (path.startsWith(buildPrefix)) {
      const slash = path.indexOf('/', buildPrefix.length);
      const dir = slash === -1 ? path.slice(buildPrefix.length) : path.slice(buildPrefix.length, slash);
      if (!checkout.services.has(dir)) return none;
      let list = ownerLists.get(dir);
      if (list === undefined) ownerLists.set(dir, (list = [dir]));
      return list;
    }
    return owners.get(path) ?? none;
  };
}

export function indexInputs(checkout: Checkout, sources: InputSources): InputIndex {
  const ownersOf = ownedPaths(checkout, sources.layout);
  const rolesPrefix = `${sources.layout.roles}/`;
  const other: Place = { kind: 'other' };
  // One Place a role and an owner list, not one a file: 25,000 files share a few thousand.
  const ownedPlaces = new WeakMap<readonly string[], Place>();
  const rolePlaces = new Map<string, Place>();
  const placeOf = (path: string): Place => {
    const owners = ownersOf(path);
    if (owners.length > 0) {
      let place = ownedPlaces.get(owners);
      if (place === undefined) ownedPlaces.set(owners, (place = { kind: 'owned', owners }));
      return place;
    }
    if (!path.startsWith(rolesPrefix)) return other;
    const slash = path.indexOf('/', rolesPrefix.length);
    const role = slash === -1 ? path.slice(rolesPrefix.length) : path.slice(rolesPrefix.length, slash);
    let place = rolePlaces.get(role);
    if (place === undefined) rolePlaces.set(role, (place = { kind: 'role', role }));
    return place;
  };
  const roles = new Map<string, Line[]>();
  const others: Line[] = [];
  const owned = new Map<string, Line[]>();
  for (const [path, digest] of sources.files) {
    const place = placeOf(path);
    if (place.kind === 'owned') for (const owner of place.owners) push(owned, owner, [path, digest]);
    else if (place.kind === 'role') push(roles, place.role, [path, digest]);
    else others.push([path, digest]);
  }
  const roleDigests = new Map([...roles].map(([role, lines]) => [role, digestLines(lines)]));
  const contextDirs = new Set([...checkout.services.values()].map((service) => service.context).filter((dir) => dir !== '.'));
  const contexts = new Map<string, Line[]>([...contextDirs].map((dir) => [dir, [...(sources.contexts?.get(dir) ?? [])]]));
  if (contextDirs.size > 0 && sources.contexts === undefined) {
    for (const [path, digest] of sources.files) for (const dir of parentDirs(path)) if (contextDirs.has(dir)) push(contexts, dir, [path, digest]);
  }
  return { sources, placeOf, roles, roleDigests, other: others, otherDigest: others.length > 0 ? digestLines(others) : null, owned, contexts };
}

export interface ServiceInputOptions {
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly flavor?: Flavor;
  readonly labels?: Readonly<Record<string, string>>;
  /** Files streamed with this text instead of the checkout's (one-off overrides), by path. */
  readonly files?: Readonly<Record<string, string>>;
}

/** What one service's build reads, by named part, and the digest of them all. */
export function serviceInputs(index: InputIndex, service: Service, content: string, options: ServiceInputOptions): BuildInputs {
  const { layout } = index.sources;
  const closure = index.sources.roles?.(service.name) ?? null;
  const own = new Map<string, Line[]>();
  for (const line of index.owned.get(service.name) ?? []) push(own, ownLabel(service, line[0], layout), line);
  // Files the run streams with other text (one-off overrides) change the groups that hold them:
  // the service's own groups here, the shared ones (by label) below.
  const replaced = new Map<string, Map<string, string>>();
  for (const [path, text] of Object.entries(options.files ?? {})) {
    const place = index.placeOf(path);
    const digest = sha256(text);
    if (place.kind === 'owned') {
      if (!place.owners.includes(service.name)) continue;
      const label = ownLabel(service, path, layout);
      const lines = (own.get(label) ?? []).filter(([known]) => known !== path);
      own.set(label, [...lines, [path, digest]]);
      continue;
    }
    if (place.kind === 'role' && closure !== null && !closure.has(place.role)) continue;
    const label = place.kind === 'role' ? `role ${place.role}` : 'other files';
    const map = replaced.get(label) ?? new Map<string, string>();
    map.set(path, digest);
    replaced.set(label, map);
  }
  /** The `label\0digest` line of each named part. */
  const named: string[] = [];
  const add = (label: string, digest: string): number => named.push(`${label}\0${digest}`);
  if (service.context !== '.') {
    // A context of its own: the build reads those files and nothing else of the checkout.
    add(`context ${service.context}/`, digestLines(index.contexts.get(service.context) ?? []));
    return digestParts(named, content, options);
  }
  if (service.origin !== null && service.play === null) {
    // Declared, on the checkout root, running no play: it reads what its COPY/ADD name (the
    // whole context when it copies or binds all of it), and its Dockerfile's directory.
    const reads = sourcesMatcher(service.dockerfile);
    const own = `${posix.dirname(service.dockerfile.path)}/`;
    const lines = [...index.sources.files].filter(([path]) => reads === 'all' || path.startsWith(own) || reads(path));
    add(reads === 'all' ? 'context ./' : 'copied files', digestLines(lines));
    return digestParts(named, content, options);
  }
  /** A group's digest: precomputed for a shared group the run changes nothing in. */
  const group = (label: string, lines: readonly Line[], precomputed: string | null): void => {
    const changes = replaced.get(label);
    if (changes === undefined) {
      if (precomputed !== null) add(label, precomputed);
      else if (lines.length > 0) add(label, digestLines(lines));
      return;
    }
    const changed = lines.map(([path, digest]): Line => [path, changes.get(path) ?? digest]);
    for (const [path, digest] of changes) if (!lines.some(([known]) => known === path)) changed.push([path, digest]);
    add(label, digestLines(changed));
  };
  for (const [label, lines] of own) group(label, lines, null);
  group('other files', index.other, index.otherDigest);
  if (closure === null) {
    // No known play: every role may run. One part for them all, not one a role: a checkout of
    // 5,000 roles would otherwise give each such service 5,000 parts to hash and store.
    add(EVERY_ROLE, everyRoleDigest(index, replaced));
    return digestParts(named, content, options);
  }
  for (const role of closure) {
    const line = roleLine(index, role);
    if (replaced.size === 0 || !replaced.has(`role ${role}`)) {
      if (line !== null) named.push(line);
      continue;
    }
    group(`role ${role}`, index.roles.get(role) ?? [], index.roleDigests.get(role) ?? null);
  }
  return digestParts(named, content, options);
}

/** The part of a service that may run any role (its play is unknown): all the role groups in one. */
export const EVERY_ROLE = 'every role';

const everyRole = new WeakMap<InputIndex, string>();

/** The digest of every role group (`role <name>\0<digest>` lines, sorted), with the groups the run changes changed. */
function everyRoleDigest(index: InputIndex, replaced: ReadonlyMap<string, ReadonlyMap<string, string>>): string {
  const changed = [...replaced.keys()].some((label) => label.startsWith('role '));
  const known = everyRole.get(index);
  if (!changed && known !== undefined) return known;
  const digests = new Map([...index.roleDigests].map(([role, digest]) => [`role ${role}`, digest]));
  for (const [label, changes] of replaced) {
    if (!label.startsWith('role ')) continue;
    const lines = new Map(index.roles.get(label.slice('role '.length)) ?? []);
    for (const [path, digest] of changes) lines.set(path, digest);
    digests.set(label, digestLines([...lines]));
  }
  const digest = sha256([...digests].map(([label, value]) => `${label}\0${value}`).sort().join('\n'));
  if (!changed) everyRole.set(index, digest);
  return digest;
}

/** The `role <name>\0<digest>` line of each role, made once a plan; null for a role with no files. */
const roleLines = new WeakMap<InputIndex, Map<string, string | null>>();

function roleLine(index: InputIndex, role: string): string | null {
  let lines = roleLines.get(index);
  if (lines === undefined) roleLines.set(index, (lines = new Map()));
  let line = lines.get(role);
  if (line === undefined) {
    const digest = index.roleDigests.get(role);
    line = digest === undefined ? null : `role ${role}\0${digest}`;
    lines.set(role, line);
  }
  return line;
}

/** The label of a file the service owns. */
function ownLabel(service: Service, path: string, layout: Layout): string {
  if (path === service.play) return `play ${path}`;
  if (path === service.overrides?.path) return `overrides ${path}`;
  return `service files ${service.origin === null ? posix.join(layout.build, service.name) : posix.dirname(service.dockerfile.path)}/`;
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}
