// Which services a command acts on: the named ones (every service when none is named), narrowed
// to those a change affects (--since, --range, --files), widened by --with-children, then cut
// to one --shard. build, test, pkg, push, list, affected and matrix all select this way.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { readLegacyConfig, type AnsibleDirs } from '../discover/ansible.js';
import { changedInRange, changedSince, parsePathList, type ChangedPath } from '../discover/git.js';
import { readBuildDurations } from '../discover/history.js';
import { UsageError } from '../errors.js';
import { indexCopySources } from '../model/copy-sources.js';
import { ansibleDirs, parseLegacyConfig, type LegacyConfig } from '../model/legacy-config.js';
import { playOwners } from '../model/service-plays.js';
import { changedRoles, descendants, findAffected, type Affected } from '../plan/affected.js';
import { planBuild, type BuildCommand, type PlanOptions } from '../plan/plan.js';
import { selectServices } from '../plan/select.js';
import { balanceShards, parseShard, weighServices, type Weight } from '../plan/shards.js';
import { PLAN_VERSION, type BuildPlan } from '../plan/types.js';
import { formatWarnings } from '../report/text.js';
import type { SelectionArgs } from './options.js';
import { ansibleFiles, cachedFiles, readRoleGraph } from './read.js';
import { ownState, type Io, type Session } from './session.js';

export interface ChangeSet {
  readonly changes: readonly ChangedPath[];
  /** For messages: "since origin/main", "in a..b", "in changes.txt". */
  readonly label: string;
}

/** The Ansible side of the configuration: the legacy file (if any) and the directories. */
export interface AnsibleSetup {
  readonly legacy: LegacyConfig | null;
  readonly dirs: AnsibleDirs;
}

/** The standard input, where a test or caller provides one; else the process's. */
type WithStdin = Io & { readonly stdin?: AsyncIterable<string | Uint8Array> };

export function ansibleSetup(config: Config): AnsibleSetup {
  const files = cachedFiles(config, 'legacy');
  const source = readLegacyConfig(files);
  const legacy = source === null ? null : parseLegacyConfig(source, files.cache.memos<LegacyConfig>());
  files.cache.save(); // a cache that cannot be written only costs the next run a parse
  return { legacy, dirs: ansibleDirs(config.paths, legacy) };
}

/** The change named by --since, --range or --files; null when none is given. */
export async function readChanges(args: SelectionArgs, config: Config, io: Io): Promise<ChangeSet | null> {
  const change = await readChangeList(args, config, io);
  if (change === null) return null;
  // dockmk's own state (caches, history) in the checkout is no service's input: a checkout whose
  // .gitignore does not name it would otherwise list it as changed.
  const own = ownState(config);
  return { ...change, changes: change.changes.filter(({ path }) => !own.some((dir) => path === dir || path.startsWith(`${dir}/`))) };
}

async function readChangeList(args: SelectionArgs, config: Config, io: Io): Promise<ChangeSet | null> {
  if (args.since !== undefined) return { changes: await changedSince(config.root, args.since), label: `since ${args.since}` };
  if (args.range !== undefined) return { changes: await changedInRange(config.root, args.range), label: `in ${args.range}` };
  if (args.files === undefined) return null;
  if (args.files === '-') return { changes: parsePathList(await readStdin(io)), label: 'in the paths on stdin' };
  try {
    return { changes: parsePathList(readFileSync(resolve(io.cwd, args.files), 'utf8')), label: `in ${args.files}` };
  } catch (error) {
    throw new UsageError(`--files ${args.files}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
      hint: 'give a file of paths relative to the root, one per line, or - to read them from stdin',
    });
  }
}

async function readStdin(io: WithStdin): Promise<string> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin ?? process.stdin) chunks.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  return chunks.join('') + decoder.decode();
}

/** discover → model → plan for a change: roles are read only when the change touches one. */
export function computeAffected(session: Session, setup: AnsibleSetup, changes: readonly ChangedPath[], withChildren: boolean): Affected {
  const { config, checkout } = session;
  const roles = changedRoles(changes, setup.dirs);
  const { raw, graph } = readRoleGraph(ansibleFiles(config), setup.dirs, { roles: roles.length > 0, around: roles, io: session.io });
  const existing = new Set([...raw.dockerPlays, ...raw.playbooks].map((file) => file.path));
  return findAffected({
    checkout,
    changes,
    buildDir: config.paths.build,
    dirs: setup.dirs,
    owners: playOwners(checkout, setup.dirs, existing),
    copies: indexCopySources(checkout),
    roles: graph,
    withChildren,
  });
}

export interface Selection {
  /** Sorted. */
  readonly services: readonly string[];
  /** When a change narrowed the selection. */
  readonly affected: Affected | null;
  /** Weighed only for --shard, or when asked (matrix). */
  readonly weights: ReadonlyMap<string, Weight> | null;
}

/** The services a command acts on; says on stderr how a change or a shard narrowed them. */
export async function select(args: SelectionArgs & { services?: string[] }, session: Session, io: Io, options: { weigh?: boolean } = {}): Promise<Selection> {
  const { config, checkout } = session;
  const spec = args.shard === undefined ? null : parseShard(args.shard);
  let names = selectServices(checkout, args.services ?? [], config.paths.build);
  const setup = ansibleSetup(config);
  const change = await readChanges(args, config, io);
  let affected: Affected | null = null;
  if (change !== null) {
    affected = computeAffected(session, setup, change.changes, args['with-children']);
    io.stderr.write(formatWarnings(affected.warnings));
    const hit = new Set(affected.services);
    const named = args.services !== undefined && args.services.length > 0;
    names = named ? names.filter((name) => hit.has(name)) : [...affected.services];
    io.stderr.write(`dockmk: ${names.length} of ${named ? `${args.services?.length} named` : checkout.services.size} services affected ${change.label} (${plural(change.changes.length, 'changed path')})\n`);
  } else if (args['with-children']) {
    names = [...descendants(checkout, names)];
  }
  names.sort();
  if (spec === null && !options.weigh) return { services: names, affected, weights: null };
  const weights = weighServices(names, { config: config.weights, legacy: setup.legacy?.weights ?? {}, history: readBuildDurations(config.stateDir, 5, (message) => io.stderr.write(`warning: ${message}\n`)) });
  if (spec === null) return { services: names, affected, weights };
  const shard = balanceShards(weights, spec.count)[spec.index - 1];
  const services = shard?.services ?? [];
  io.stderr.write(`dockmk: shard ${args.shard}: ${services.length} of ${names.length} services (${Math.round((shard?.weight ?? 0) * 10) / 10} min)\n`);
  return { services, affected, weights: new Map(services.map((name) => [name, weights.get(name) as Weight])) };
}

/** The names `select` keeps. */
export async function selectServicesFor(args: SelectionArgs & { services?: string[] }, session: Session, io: Io): Promise<string[]> {
  return [...(await select(args, session, io)).services];
}

/**
 * The plan for the selected services. Nothing selected (nothing affected, an empty shard) is
 * an empty plan for --dry-run, and null otherwise: there is nothing to run, and no engine is
 * needed to say so. (planBuild with no names would plan every service.)
 */
export async function planSelection(
  command: BuildCommand,
  args: SelectionArgs & { services?: string[]; 'dry-run': boolean },
  session: Session,
  options: PlanOptions,
  io: Io,
  /** Options to plan again with, once the first plan is known (null: keep it). */
  refine?: (plan: BuildPlan) => Promise<PlanOptions | null>,
): Promise<BuildPlan | null> {
  const services = await selectServicesFor(args, session, io);
  if (services.length > 0) {
    const plan = planBuild(session.checkout, command, services, options);
    const again = refine ? await refine(plan) : null;
    return again === null ? plan : planBuild(session.checkout, command, services, again);
  }
  io.stderr.write(`dockmk: ${command}: no service selected, nothing to do\n`);
  return args['dry-run'] ? { version: PLAN_VERSION, command, root: session.checkout.root, steps: [] } : null;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
