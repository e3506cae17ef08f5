// dockmk build|test|pkg|push [services..]: the legacy docker.mk targets.

import type { Argv } from 'yargs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadConfig, type Config } from '../config/config.js';
import { statPath } from '../discover/files.js';
import { PlanMemo, ReadLog } from '../discover/plan-memo.js';
import type { ContextListing } from '../discover/context.js';
import { readRevision } from '../discover/revision.js';
import { keepSources, keptSources, type KeptSources, type ParsedSources } from '../plan/parsed-sources.js';
import type { BuildCommand, PlanOptions } from '../plan/plan.js';
import { PLAN_VERSION, type BuildPlan } from '../plan/types.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { configOverrides, globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { imageOptions, publishOptions, publishTags, runOptions, runOrPrint, type ImageArgs, type PublishArgs, type RunArgs } from './run.js';
import { releaseOptions, reuseFrom, stageTags, type ReleaseArgs } from './release.js';
import { listCheckout, planOptions } from './plan-start.js';
import type { Io } from './session.js';

export interface BuildArgs extends GlobalArgs, RunArgs, SelectionArgs, FlavorArgs, PublishArgs, ImageArgs, ReleaseArgs {
  services?: string[];
}

export function buildCommand(command: BuildCommand, io: Io) {
  return {
    builder: (yargs: Argv) =>
      releaseOptions(buildOptions(yargs)).positional('services', {
        type: 'string',
        array: true,
        describe: 'Services to act on (default: every service)',
      }),
    handler: async (args: BuildArgs): Promise<void> => {
      if (args['dry-run']) return dryRun(command, args, io);
      // A real run needs both: their modules load together, not one after the other.
      void import('./run-plan.js').catch(() => undefined);
      const planned = await runPlanned(command, args, io);
      if (planned !== null) await runOrPrint(planned.plan, planned.config, args, io, planned.listing, planned.parsed);
    },
  };
}

/** The options of every command that plans builds (push, and promote, which plans its keys). */
export function buildOptions(yargs: Argv) {
  return publishOptions(imageOptions(flavorOptions(selectionOptions(runOptions(globalOptions(yargs))))));
}

/** discover → model → plan for a build command; null when nothing is selected (and not --dry-run). */
export async function planCommand(command: BuildCommand, args: BuildArgs, io: Io): Promise<Planned | null> {
  const loading = import('./plan-fresh.js');
  const begun = await beginPlan(command, args, io, false);
  const { finishPlan } = await loading;
  return (await finishPlan(begun, io, null)).planned;
}

/**
 * --dry-run: the plan printed, from the plan memo (discover/plan-memo.ts) when the same command
 * printed it before on the checkout as it is; else planned, printed and kept there.
 */
async function dryRun(command: BuildCommand, args: BuildArgs, io: Io): Promise<void> {
  const begun = await beginPlan(command, args, io, true);
  const memo = await memoOf(begun, io);
  const printed = memo?.read(begun.walked as ContextListing);
  if (typeof printed === 'string') {
    io.stdout.write(printed);
    return;
  }
  // A run that failed (a Dockerfile refused, an option wrong) keeps nothing: only what printed is kept.
  const log = memo === null ? null : new ReadLog();
  const { finishPlan } = await import('./plan-fresh.js');
  const { planned, keep } = await finishPlan(begun, io, log);
  if (planned === null) return;
  const text = await runOrPrint(planned.plan, begun.config, args, io, planned.listing, planned.parsed);
  if (keep && typeof text === 'string') keepPlan(memo, planned.listing, log, text, io);
}

/**
 * A real run's plan: from the plan memo when the same command planned it before on the checkout
 * as it is (the plan is pure data: a no-op run then neither reads nor models the checkout);
 * else planned and kept there, with the COPY sources the model parsed, before anything runs.
 */
export async function runPlanned(command: BuildCommand, args: BuildArgs, io: Io): Promise<Planned | null> {
  const begun = await beginPlan(command, args, io, true);
  const memo = await memoOf(begun, io);
  const kept = memo?.read(begun.walked as ContextListing);
  if (isKeptRun(kept, begun.config.root)) return { plan: kept.plan, config: begun.config, listing: begun.walked as ContextListing, parsed: keptSources(kept.sources) };
  const log = memo === null ? null : new ReadLog();
  const { finishPlan } = await import('./plan-fresh.js');
  const { planned, keep } = await finishPlan(begun, io, log);
  if (planned !== null && keep) keepPlan(memo, planned.listing, log, { plan: planned.plan, sources: keepSources(planned.plan.steps, planned.parsed) } satisfies KeptRun, io);
  return planned;
}

/** The memo of a command whose plan may come from it (the checkout walked first); else null. */
async function memoOf(begun: Begun, io: Io): Promise<PlanMemo | null> {
  const { command, args, config, walked } = begun;
  if (walked === undefined) return null;
  // The key: everything but the checkout's files that the plan, and so the printed text, depends on.
  return new PlanMemo(config.stateDir, { command, args: { ...args, $0: undefined }, cwd: io.cwd, config, fixed: await begun.options() }, begun.started);
}

function keepPlan(memo: PlanMemo | null, listing: ContextListing, log: ReadLog | null, value: unknown, io: Io): void {
  if (memo === null || log === null) return;
  const problem = memo.write(listing, log, value);
  if (problem !== null) io.stderr.write(`warning: ${memo.file}: cannot keep the plan (${problem}); the next run plans again\n`);
}

/** What a real run keeps in the memo: its plan, and the COPY sources for the context check. */
interface KeptRun {
  readonly plan: BuildPlan;
  readonly sources: KeptSources;
}

function isKeptRun(value: unknown, root: string): value is KeptRun {
  if (value === null || typeof value !== 'object') return false;
  const { plan, sources } = value as Partial<KeptRun>;
  return plan?.version === PLAN_VERSION && plan.root === root && Array.isArray(plan.steps) && sources !== null && typeof sources === 'object';
}

export interface Begun {
  readonly command: BuildCommand;
  readonly args: BuildArgs;
  /** Wall-clock time, as file mtimes are (io.now is for durations). */
  readonly started: number;
  readonly config: Config;
  /** The options that do not depend on the checkout's files, once git has answered (made once). */
  readonly options: () => Promise<Omit<PlanOptions, 'inputs'>>;
  /** The checkout's walk, made first when the plan may come from the memo. */
  readonly walked?: ContextListing;
}

/**
 * What planning needs besides the checkout: the configuration, then the options, which wait
 * for git; the checkout's walk first when the plan may come from the memo.
 */
async function beginPlan(command: BuildCommand, args: BuildArgs, io: Io, memo: boolean): Promise<Begun> {
  const started = Date.now();
  const flavored = flavorPlanOptions(args, io);
  const config = loadConfig(configOverrides(args), io.env, io.cwd);
  // git answers while the checkout is read and hashed: started first, since reading never yields.
  const reading = readRevision(config.root, io.env, config.publish.defaultBranch);
  let fixed: Promise<Omit<PlanOptions, 'inputs'>> | undefined;
  const options = (): Promise<Omit<PlanOptions, 'inputs'>> =>
    (fixed ??= reading.then((revision) => {
      if (args.stage && command !== 'push') throw new ConfigError(`--stage is an option of push, not of ${command}`, { hint: 'stage with `dockmk push --stage`, then `dockmk promote`' });
      const tags = command !== 'push' ? undefined : args.stage ? stageTags(config, revision) : publishTags(config, revision);
      const reuse = reuseFrom(args);
      return {
        ...planOptions(config),
        ...flavored,
        revision,
        ...(tags ? { publishTags: tags } : {}),
        ...(args.parents ? { parents: args.parents } : {}),
        ...(reuse ? { reuse } : {}),
        stage: args.stage ?? false,
      };
    }));
  // The walk says whether the checkout changed since a memo was kept, so it comes first there.
  const walked = memo && memoizable(args, config) ? await listCheckout(config, io) : undefined;
  return { command, args, started, config, options, ...(walked ? { walked } : {}) };
}

export interface Planned {
  readonly plan: BuildPlan;
  readonly config: Config;
  readonly listing: ContextListing;
  /** The model's parse of the Dockerfiles, for the COPY check. */
  readonly parsed: ParsedSources;
}

/**
 * Whether a command's plan may come from (and go to) the plan memo (discover/plan-memo.ts): the
 * legacy layout, whose plan depends on the checkout's files and the options alone, not on a
 * change list, the history (--shard), a registry (--pull always), a bake file's variables (the
 * environment) or the files a write-back previews; and with no build args (they may be secrets: a
 * plan holds them, and the memo would write them to disk). Its build directory must be there, so
 * that a wrong --root is told so before anything walks it.
 */
function memoizable(args: BuildArgs, config: Config): boolean {
  if (config.writeBack.length > 0 || (args['write-back'] ?? []).length > 0) return false;
  if (config.bake !== null || config.services !== null || config.pull === 'always') return false;
  // Build args may be secrets (a token for the play): the plan, which holds them, is not written to disk.
  if (Object.keys(config.buildArgs).length > 0) return false;
  if (args.since !== undefined || args.range !== undefined || args.files !== undefined || args.shard !== undefined) return false;
  return statPath(join(config.root, config.paths.build))?.kind === 'directory';
}
