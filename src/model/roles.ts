// The role graph: which roles each role pulls in (meta dependencies in both forms,
// include_role and import_role in its tasks), which roles each play file uses, and the reverse
// of both, which is what "this role changed: what runs it?" walks. Dependency cycles are found
// and reported (with the file:line of every edge), never looped on. Pure.
//
// Tasks files are parsed only when their text says include_role or import_role: the others
// cannot add an edge, and a checkout of 5,000 roles has ~6,000 of them.

import type { RawAnsible, RawRole } from './raw-ansible.js';
import type { SourceFile } from './raw-checkout.js';
import type { Warning } from './checkout.js';
import type { ParseMemo } from './memo.js';
import { reachable } from './reach.js';
import { TextSearch } from './text-search.js';
import { mayIncludeRoles, metaReferences, playReferences, taskReferences, type FileReferences, type RoleReference } from './role-refs.js';

export type { ReferenceKind, RoleReference } from './role-refs.js';

export interface Role {
  readonly name: string;
  /** Its directory, relative to the root. */
  readonly dir: string;
  readonly hasMeta: boolean;
  /** What it pulls in, in file order: meta dependencies first, then tasks. */
  readonly dependencies: readonly RoleReference[];
}

export interface PlayFile {
  readonly path: string;
  readonly kind: 'docker' | 'playbook';
  readonly plays: number;
  /** The roles its plays use (`roles:`, include_role, import_role), every play of the file. */
  readonly roles: readonly RoleReference[];
}

/** `role` pulls in the role the reverse map is keyed by, as `reference` says. */
export interface Dependent {
  readonly role: string;
  readonly reference: RoleReference;
}

/** The play file at `play` uses the role the map is keyed by. */
export interface PlayUse {
  readonly play: string;
  readonly reference: RoleReference;
}

export interface RoleCycle {
  /** a → b → … → a: each role pulls in the next. */
  readonly roles: readonly string[];
  /** The edge behind each arrow. */
  readonly references: readonly RoleReference[];
}

export interface RoleGraph {
  readonly roles: ReadonlyMap<string, Role>;
  readonly playFiles: ReadonlyMap<string, PlayFile>;
  /** By role name (known role or not): the roles that pull it in, sorted by name. */
  readonly dependents: ReadonlyMap<string, readonly Dependent[]>;
  /** By role name: the play files that use it directly, sorted by path. */
  readonly users: ReadonlyMap<string, readonly PlayUse[]>;
  readonly cycles: readonly RoleCycle[];
  readonly warnings: readonly Warning[];
  /** Built with `around`: exact for those roles and what pulls them in, not for every role. */
  readonly partial: boolean;
}

export interface RoleGraphOptions {
  /**
   * Parse only what the reverse closure of these roles needs: the files whose text names one of
   * them or a role that pulls them in. The dependents and users of every such role are then
   * exact; other roles' own dependencies may be left unparsed (and their YAML unchecked).
   */
  readonly around?: Iterable<string>;
  /** What each file gave when parsed in an earlier run (it is told what this one parses). */
  readonly memo?: ParseMemo<FileReferences>;
}

/** Past this many roles in the closure, parsing everything is cheaper than picking files. */
const AROUND_LIMIT = 64;

interface Unit {
  readonly source: SourceFile;
  /** The role the file belongs to; null for a play file. */
  readonly owner: string | null;
  readonly kind: 'meta' | 'tasks' | PlayFile['kind'];
}

export function buildRoleGraph(raw: RawAnsible, options: RoleGraphOptions = {}): RoleGraph {
  const sources = new Map<string, RawRole>();
  for (const role of raw.roles) if (!sources.has(role.name)) sources.set(role.name, role); // the first roles path wins, as in Ansible
  const units: Unit[] = [...sources.values()].flatMap((role) => [
    ...role.meta.map((source) => ({ source, owner: role.name, kind: 'meta' as const })),
    ...role.tasks.filter((source) => mayIncludeRoles(source.text)).map((source) => ({ source, owner: role.name, kind: 'tasks' as const })),
  ]);
  const seenPlays = new Set<string>();
  for (const [files, kind] of [[raw.dockerPlays, 'docker'], [raw.playbooks, 'playbook']] as const) {
    for (const source of files) if (!seenPlays.has(source.path) && seenPlays.add(source.path)) units.push({ source, owner: null, kind });
  }
  const parse = memoized(options.memo);
  const parsed = options.around === undefined ? units.map(parse) : parseAround(units, options.around, parse);
  const warnings: Warning[] = [];
  const dependencies = new Map<string, RoleReference[]>();
  const playFiles = new Map<string, PlayFile>();
  units.forEach((unit, i) => {
    const result = parsed[i];
    if (!result) return;
    warnings.push(...result.warnings);
    if (unit.owner !== null) dependencies.set(unit.owner, [...(dependencies.get(unit.owner) ?? []), ...result.references]);
    else playFiles.set(unit.source.path, { path: unit.source.path, kind: unit.kind as PlayFile['kind'], plays: result.plays, roles: result.references });
  });
  const roles = new Map<string, Role>();
  for (const role of sources.values()) {
    roles.set(role.name, { name: role.name, dir: role.dir, hasMeta: role.meta.length > 0, dependencies: dependencies.get(role.name) ?? [] });
  }
  return { roles, playFiles, ...reverse(roles, playFiles), cycles: findCycles(roles), warnings, partial: options.around !== undefined };
}

function parseUnit(unit: Unit): FileReferences {
  return unit.kind === 'meta' ? metaReferences(unit.source) : unit.kind === 'tasks' ? taskReferences(unit.source) : playReferences(unit.source);
}

/** parseUnit through the memo: a file parsed in an earlier run, and unchanged since, is not parsed again. */
function memoized(memo: ParseMemo<FileReferences> | undefined): (unit: Unit) => FileReferences {
  if (memo === undefined) return parseUnit;
  return (unit) => {
    const known = memo.get(unit.source.path);
    if (known !== undefined) return known;
    const references = parseUnit(unit);
    memo.set(unit.source.path, references);
    return references;
  };
}

/**
 * Breadth-first over the roles that pull `around` in, parsing only the files whose text names a
 * role of the closure (a reference names its role literally, or through a path ending in it).
 */
function parseAround(units: readonly Unit[], around: Iterable<string>, parse: (unit: Unit) => FileReferences): (FileReferences | undefined)[] {
  const parsed: (FileReferences | undefined)[] = units.map(() => undefined);
  const pending = new Set(units.keys());
  const mentions = new Map<string, string[]>(); // role → owners of parsed files that name it
  const queue = [...new Set(around)];
  const seen = new Set(queue);
  const search = new TextSearch(units.map((unit) => unit.source.text));
  for (let i = 0; i < queue.length && pending.size > 0; i++) {
    const name = queue[i] as string;
    for (const j of seen.size > AROUND_LIMIT ? [...pending] : search.containing(name).filter((k) => pending.has(k))) {
      const unit = units[j] as Unit;
      pending.delete(j);
      const result = parse(unit);
      parsed[j] = result;
      if (unit.owner === null) continue;
      for (const reference of result.references) {
        const owners = mentions.get(reference.role);
        if (owners) owners.push(unit.owner);
        else mentions.set(reference.role, [unit.owner]);
      }
    }
    for (const owner of mentions.get(name) ?? []) {
      if (!seen.has(owner)) queue.push(owner);
      seen.add(owner);
    }
  }
  return parsed;
}

function reverse(roles: ReadonlyMap<string, Role>, playFiles: ReadonlyMap<string, PlayFile>): Pick<RoleGraph, 'dependents' | 'users'> {
  const dependents = new ReverseIndex<{ role: string; reference: RoleReference }>();
  for (const role of roles.values()) for (const reference of role.dependencies) dependents.add(reference.role, role.name, { role: role.name, reference });
  const users = new ReverseIndex<{ play: string; reference: RoleReference }>();
  for (const file of playFiles.values()) for (const reference of file.roles) users.add(reference.role, file.path, { play: file.path, reference });
  for (const list of dependents.lists.values()) list.sort((a, b) => compare(a.role, b.role));
  for (const list of users.lists.values()) list.sort((a, b) => compare(a.play, b.play));
  return { dependents: dependents.lists, users: users.lists };
}

/** key → items, one item per (key, owner): the first reference an owner makes to a key. */
class ReverseIndex<T> {
  readonly lists = new Map<string, T[]>();
  private readonly owners = new Map<string, Set<string>>();

  add(key: string, owner: string, item: T): void {
    const seen = this.owners.get(key);
    if (seen === undefined) {
      this.owners.set(key, new Set([owner]));
      this.lists.set(key, [item]);
    } else if (!seen.has(owner)) {
      seen.add(owner);
      (this.lists.get(key) as T[]).push(item);
    }
  }
}

/** Every role the given roles pull in, themselves included (what a play using them runs). */
export function roleClosure(graph: RoleGraph, roots: Iterable<string>): Set<string> {
  let names = dependencyNames.get(graph);
  if (names === undefined) dependencyNames.set(graph, (names = new Map()));
  const known = names;
  return reachable(roots, (name) => {
    let list = known.get(name);
    if (list === undefined) known.set(name, (list = (graph.roles.get(name)?.dependencies ?? []).map((reference) => reference.role)));
    return list;
  });
}

/** The names each role depends on, made once a graph (a plan takes the closure of 2,000 services). */
const dependencyNames = new WeakMap<RoleGraph, Map<string, readonly string[]>>();

/** Tarjan's strongly connected components, iteratively; one cycle reported per component. */
function findCycles(roles: ReadonlyMap<string, Role>): RoleCycle[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: RoleCycle[] = [];
  const adjacent = new Map<string, string[]>();
  for (const [name, role] of roles) {
    const targets = role.dependencies.map((ref) => ref.role).filter((target) => roles.has(target));
    if (targets.length > 0) adjacent.set(name, targets);
  }
  const next = (name: string): readonly string[] => adjacent.get(name) ?? [];
  const work: { name: string; edges: string[] }[] = [];
  const visit = (name: string): void => {
    index.set(name, index.size);
    low.set(name, index.size - 1);
    stack.push(name);
    onStack.add(name);
    work.push({ name, edges: [...next(name)] });
  };
  // A role that pulls nothing in is on no cycle: only the others start a search (most roles,
  // when the graph was built `around` a few).
  for (const start of [...adjacent.keys()].sort()) {
    if (index.has(start)) continue;
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { name: string; edges: string[] };
      const child = frame.edges.shift();
      if (child !== undefined) {
        if (!index.has(child)) visit(child);
        else if (onStack.has(child)) {
          low.set(frame.name, Math.min(low.get(frame.name) as number, index.get(child) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name) as number, low.get(frame.name) as number));
      if (low.get(frame.name) !== index.get(frame.name)) continue;
      const component = new Set<string>();
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.add(member);
      } while (member !== frame.name);
      const selfLoop = next(frame.name).includes(frame.name);
      if (component.size > 1 || selfLoop) cycles.push(cycleIn(roles, component));
    }
  }
  return cycles.sort((a, b) => compare(a.roles[0] as string, b.roles[0] as string));
}

/** One loop through a strongly connected component, from its first name in order. */
function cycleIn(roles: ReadonlyMap<string, Role>, component: ReadonlySet<string>): RoleCycle {
  const start = [...component].sort()[0] as string;
  // Breadth-first from start back to start, inside the component: the shortest loop.
  const via = new Map<string, RoleReference & { from: string }>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    for (const reference of roles.get(name)?.dependencies ?? []) {
      if (!component.has(reference.role) || via.has(reference.role)) continue;
      via.set(reference.role, { ...reference, from: name });
      if (reference.role === start) break;
      queue.push(reference.role);
    }
    if (via.has(start)) break;
  }
  const references: RoleReference[] = [];
  let current = start;
  do {
    const edge = via.get(current) as RoleReference & { from: string };
    references.unshift({ role: edge.role, kind: edge.kind, file: edge.file, line: edge.line });
    current = edge.from;
  } while (current !== start);
  return { roles: [start, ...references.map((reference) => reference.role)], references };
}

export function formatCycle(cycle: RoleCycle): string {
  const where = cycle.references.map((reference) => `${reference.file}:${reference.line}`);
  return `role dependency cycle: ${cycle.roles.join(' → ')} (${where.join(', ')})`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
