// Runs a plan on the engine (progress, history, exit status), or prints it for --dry-run.

import { randomBytes } from 'node:crypto';
import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { Config } from '../config/config.js';
import { listContext, type ContextListing } from '../discover/context.js';
import { ConfigError, InterruptedError, StepFailedError } from '../errors.js';
import { checkContextSources, type ParsedSources } from '../execute/context.js';
import { loadCredentials } from '../execute/credentials.js';
import type { Emit, RunEvent } from '../execute/events.js';
import { lockCheckout } from '../execute/lock.js';
import { connectRegistry } from '../execute/registry.js';
import { refuseBuildkitSyntax } from '../execute/builder.js';
import { runPlan } from '../execute/run.js';
import type { BuildPlan } from '../plan/types.js';
import { computeTags, DEFAULT_TAG_RULES, type Revision, type Tag } from '../plan/tags.js';
import { DEFAULT_RETRY } from '../execute/retry.js';
import { createHistoryRecorder } from '../report/history.js';
import { describePartialPush, manifestJson, markdownSummary, publishOutcome, type PublishOutcome } from '../report/publish.js';
import { eventToJson, planToJson } from '../report/json.js';
import { createPlainReporter } from '../report/plain.js';
import { formatPlanText } from '../report/text.js';
import { createTtyReporter } from '../report/tty.js';
import { actorOf } from '../report/actor.js';
import { prepareReport, reportOptions, type ReportArgs, type ReportHook } from './report-hook.js';
import { openEngine, type Io } from './session.js';
import { prepareWriteBack, writeBackOptions, type WriteBackArgs, type WriteBackHook } from './write-back.js';

export interface RunArgs {
  json: boolean;
  'dry-run': boolean;
  engine?: string;
  jobs: number;
  'keep-going': boolean;
  force: boolean;
  progress?: string;
}

export function runOptions<T>(yargs: Argv<T>): Argv<T & RunArgs> {
  return yargs
    .option('dry-run', { type: 'boolean', default: false, describe: 'Print the plan and run nothing (needs no engine)' })
    .option('jobs', { alias: 'j', type: 'number', default: 2, describe: 'Steps run at once' })
    .option('keep-going', { alias: 'k', type: 'boolean', default: false, describe: 'After a failure, go on with everything that does not depend on it' })
    .option('force', { type: 'boolean', default: false, describe: 'Build even what is up to date' })
    .option('progress', {
      type: 'string',
      choices: ['auto', 'tty', 'plain', 'json'],
      describe: 'Progress output (auto: tty on a terminal, else plain; --json implies json)',
    }) as Argv<T & RunArgs>;
}

export interface PublishArgs extends WriteBackArgs {
  tags?: string;
  latest?: string;
  'long-sha'?: boolean;
  manifest?: string;
  retries?: number;
  parents?: 'local' | 'published';
}

/** push: which tags to publish (src/plan/tags.ts) and what to report. Unset: dockmk.yml `publish:`, else legacy `latest`. */
export function publishOptions<T>(yargs: Argv<T>): Argv<T & PublishArgs> {
  return yargs
    .option('tags', { type: 'string', choices: ['latest', 'auto'], describe: 'push: latest only (legacy, the default), or auto: sha, branch, git tag, semver parts, latest on the default branch' })
    .option('latest', { type: 'string', choices: ['default-branch', 'always', 'never'], describe: 'with --tags auto: when latest moves (default: default-branch)' })
    .option('long-sha', { type: 'boolean', describe: 'with --tags auto: also sha-<40 hex>' })
    .option('parents', {
      type: 'string',
      choices: ['local', 'published'],
      describe: "push: build this checkout's parents first (local, the default, as pkg), or build on the published ones (published, as build: a CI wave)",
    })
    .option('manifest', { type: 'string', requiresArg: true, describe: 'push: write JSON of what was pushed (service, refs, digest) to FILE, also when a push fails' })
    .option('retries', { type: 'number', requiresArg: true, describe: 'Retries of a push or pull after a transient registry error (default 3)' })
    .options(writeBackOptions) as Argv<T & PublishArgs>;
}

export interface ImageArgs extends ReportArgs {
  label?: string[];
  'cache-from'?: string[];
  builder?: string;
}

/** Options of the commands that build images: what every image gets besides its Dockerfile (labels, cache sources), and the status page of the run. */
export function imageOptions<T>(yargs: Argv<T>): Argv<T & ImageArgs> {
  return yargs
    .options(reportOptions)
    .option('label', { type: 'string', array: true, requiresArg: true, describe: 'Add a label KEY=VALUE to every image built (repeatable)' })
    .option('cache-from', {
      type: 'string',
      array: true,
      requiresArg: true,
      describe: 'Reuse layers of this image, pulled first if the registry has it; {service} stands for the service (repeatable)',
    })
    .option('builder', {
      type: 'string',
      choices: ['auto', 'buildkit', 'classic'],
      describe: 'The builder: BuildKit or the classic one (auto, the default: BuildKit where the engine offers it; also builder: in dockmk.yml, DOCKMK_BUILDER)',
    }) as Argv<T & ImageArgs>;
}

/** The tags push publishes under, from the checkout's revision (git, or GITHUB_* variables). */
export function publishTags(config: Config, revision: Revision): readonly Tag[] | undefined {
  if (config.publish.tags !== 'auto') return undefined;
  return computeTags(revision, { ...DEFAULT_TAG_RULES, longSha: config.publish.longSha, latest: config.publish.latest });
}

export async function runOrPrint(
  plan: BuildPlan,
  config: Config,
  args: RunArgs & Pick<PublishArgs, 'manifest'> & WriteBackArgs & ReportArgs,
  io: Io,
  listing?: ContextListing,
  parsed?: ParsedSources,
): Promise<void> {
  const writeBack = await prepareWriteBack(plan, config, args, io);
  // Known without an engine: with the classic builder asked for, BuildKit-only syntax is refused now.
  if (config.builder === 'classic') refuseBuildkitSyntax(plan, { name: 'classic', reason: 'asked for (--builder classic)', buildkitOffered: true, engine: '' });
  if (args['dry-run']) {
    io.stdout.write(args.json ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : formatPlanText(plan));
    writeBack?.preview();
    return;
  }
  const report = prepareReport(plan, config, args, io, listing);
  // One run at a time on a checkout: a second one waits here, saying for whom.
  const lock = await lockCheckout(config.stateDir, plan.command, { signal: io.signal, say: (line) => io.stderr.write(`${line}\n`) });
  try {
    await runAndReport(plan, config, args, io, listing, writeBack, report, parsed);
  } finally {
    lock.release();
    await report?.write();
  }
}

async function runAndReport(
  plan: BuildPlan,
  config: Config,
  args: RunArgs & Pick<PublishArgs, 'manifest'>,
  io: Io,
  listing: ContextListing | undefined,
  writeBack: WriteBackHook | null,
  report: ReportHook | null,
  parsed: ParsedSources | undefined,
): Promise<void> {
  if (!Number.isInteger(args.jobs) || args.jobs < 1) throw new ConfigError(`--jobs ${args.jobs} is not a positive whole number`);
  if (listing) checkContextSources(plan, listing, parsed);
  const credentials = loadCredentials(config.dockerConfigDir, io.env, config.registry);
  const manifest = args.manifest === undefined ? null : resolve(io.cwd, args.manifest);
  // Written first with nothing pushed, so that a stale file never outlives a run that fails early.
  if (manifest !== null) writeManifest(manifest, publishOutcome(plan.steps.map((step) => ({ step, status: 'skipped', durationMs: 0 }))));
  const engine = await openEngine(args.engine, io, { builder: config.builder });
  report?.engine(engine);
  const history = createHistoryRecorder({
    stateDir: config.stateDir,
    runId: `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`,
    flavor: plan.steps.find((step) => step.kind === 'build')?.flavor ?? 'plain',
    clock: () => new Date(),
    actor: actorOf(io.env, () => userInfo().username),
    warn: (message) => io.stderr.write(`warning: ${message}\n`),
  });
  const progress = progressReporter(args, io);
  const emit: Emit = (event) => {
    history.emit(event);
    progress(event);
  };
  const started = io.now();
  const registry = connectRegistry({ credentials, env: io.env });
  const result = await runPlan(
    plan,
    { engine, registry, credentials, emit, signal: io.signal, now: io.now, ...(listing ? { listContext: async (root: string) => (root === listing.root ? listing : listContext(root)) } : {}) },
    { jobs: args.jobs, keepGoing: args['keep-going'], force: args.force, retry: { ...DEFAULT_RETRY, retries: config.publish.retries } },
  ).finally(history.close);
  const outcome = publishOutcome(result.results);
  if (manifest !== null) writeManifest(manifest, outcome);
  if (io.env.GITHUB_STEP_SUMMARY) appendStepSummary(io.env.GITHUB_STEP_SUMMARY, markdownSummary(plan, result.results, result.ok, io.now() - started), io);
  report?.finished(result.results, result.ok && !result.interrupted);
  await writeBack?.afterRun(outcome, result.ok && !result.interrupted);
  if (result.interrupted) throw new InterruptedError('interrupted: running steps were cancelled, no tag was moved');
  if (!result.ok) {
    const failed = result.results.filter((step) => step.status === 'failed');
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more failure${failed.length > 2 ? 's' : ''}, see above)` : '';
    const pushes = outcome.notPushed.length > 0 || outcome.images.length > 0;
    const pushed = !pushes ? '' : outcome.images.length > 0 ? `; ${describePartialPush(outcome)}` : '; nothing was pushed';
    const whatIsWhere = outcome.images.length > 0 && manifest !== null ? `what is where: ${manifest}` : undefined;
    throw new StepFailedError(`${failed[0]?.reason ?? 'a step failed'}${more}${pushed}`, {
      hint: [failed[0]?.hint, whatIsWhere].filter(Boolean).join('; ') || undefined,
    });
  }
}

/** Replaces the file whole (write, then rename), so a reader never sees half of it. */
function writeManifest(path: string, outcome: PublishOutcome): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, manifestJson(outcome));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new ConfigError(`--manifest ${path}: cannot write it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'give a path in a directory that exists and can be written',
    });
  }
}

function appendStepSummary(path: string, markdown: string, io: Io): void {
  try {
    appendFileSync(path, markdown);
  } catch (error) {
    // The run's outcome stands; a summary that cannot be written is worth a warning only.
    io.stderr.write(`warning: GITHUB_STEP_SUMMARY=${path}: cannot append the summary (${(error as NodeJS.ErrnoException).code ?? String(error)})\n`);
  }
}

function progressReporter(args: RunArgs, io: Io): (event: RunEvent) => void {
  const mode = args.json ? 'json' : (args.progress ?? 'auto');
  if (mode === 'json') return (event) => io.stdout.write(`${JSON.stringify(eventToJson(event))}\n`);
  const tty = mode === 'tty' || (mode === 'auto' && io.stdout.isTTY === true && !io.env.CI);
  if (!tty) return createPlainReporter(io.stdout);
  return createTtyReporter(io.stdout, {
    now: io.now,
    every: (ms, tick) => {
      const timer = setInterval(tick, ms);
      timer.unref();
      return () => clearInterval(timer);
    },
  });
}
