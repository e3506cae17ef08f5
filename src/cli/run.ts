// Runs a plan on the engine (progress, history, exit status), or prints it for --dry-run.

import { randomBytes } from 'node:crypto';
import type { Argv } from 'yargs';
import type { Config } from '../config/config.js';
import type { ContextListing } from '../discover/context.js';
import { ConfigError, InterruptedError, StepFailedError } from '../errors.js';
import { loadCredentials } from '../execute/credentials.js';
import type { Emit, RunEvent } from '../execute/events.js';
import { runPlan } from '../execute/run.js';
import type { BuildPlan } from '../plan/types.js';
import { computeTags, DEFAULT_TAG_RULES, type Tag, type TagRules } from '../plan/tags.js';
import { createHistoryRecorder } from '../report/history.js';
import { eventToJson, planToJson } from '../report/json.js';
import { createPlainReporter } from '../report/plain.js';
import { formatPlanText } from '../report/text.js';
import { createTtyReporter } from '../report/tty.js';
import { openEngine, type Io } from './session.js';

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

export interface PublishArgs {
  tags: string;
  latest: string;
  'long-sha': boolean;
}

/** push: which tags to publish (src/plan/tags.ts). `latest` alone is the legacy behaviour. */
export function publishOptions<T>(yargs: Argv<T>): Argv<T & PublishArgs> {
  return yargs
    .option('tags', { type: 'string', choices: ['latest', 'auto'], default: 'latest', describe: 'push: latest only (legacy), or auto: sha, branch, git tag, semver parts, latest on the default branch' })
    .option('latest', { type: 'string', choices: ['default-branch', 'always', 'never'], default: 'default-branch', describe: 'with --tags auto: when latest moves' })
    .option('long-sha', { type: 'boolean', default: false, describe: 'with --tags auto: also sha-<40 hex>' }) as Argv<T & PublishArgs>;
}

/** The tags push publishes under, from the checkout's revision (git, or GITHUB_* variables). */
export async function publishTags(args: PublishArgs, root: string, env: Readonly<Record<string, string | undefined>>): Promise<readonly Tag[] | undefined> {
  if (args.tags !== 'auto') return undefined;
  const { readRevision } = await import('../discover/revision.js');
  const revision = await readRevision(root, env);
  return computeTags(revision, { ...DEFAULT_TAG_RULES, longSha: args['long-sha'], latest: args.latest as TagRules['latest'] });
}

export async function runOrPrint(plan: BuildPlan, config: Config, args: RunArgs, io: Io, listing?: ContextListing): Promise<void> {
  if (args['dry-run']) {
    io.stdout.write(args.json ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : formatPlanText(plan));
    return;
  }
  if (!Number.isInteger(args.jobs) || args.jobs < 1) throw new ConfigError(`--jobs ${args.jobs} is not a positive whole number`);
  const credentials = loadCredentials(config.dockerConfigDir, io.env, config.registry);
  const engine = await openEngine(args.engine, io);
  const history = createHistoryRecorder({
    stateDir: config.stateDir,
    runId: `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`,
    flavor: plan.steps.find((step) => step.kind === 'build')?.flavor ?? 'plain',
    clock: () => new Date(),
  });
  const progress = progressReporter(args, io);
  const emit: Emit = (event) => {
    history.emit(event);
    progress(event);
  };
  const result = await runPlan(
    plan,
    { engine, credentials, emit, signal: io.signal, now: io.now, ...(listing ? { listContext: async () => listing } : {}) },
    { jobs: args.jobs, keepGoing: args['keep-going'], force: args.force },
  ).finally(history.close);
  if (result.interrupted) throw new InterruptedError('interrupted: running steps were cancelled, no tag was moved');
  if (!result.ok) {
    const failed = result.results.filter((step) => step.status === 'failed');
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more failure${failed.length > 2 ? 's' : ''}, see above)` : '';
    throw new StepFailedError(`${failed[0]?.reason ?? 'a step failed'}${more}`);
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
