// Runs a plan on the engine (progress, history, exit status), or prints it for --dry-run.

import type { Argv } from 'yargs';
import type { Config } from '../config/config.js';
import type { ContextListing } from '../discover/context.js';
import type { ParsedSources } from '../plan/parsed-sources.js';
import { refuseBuildkitSyntax } from '../execute/builder.js';
import type { BuildPlan } from '../plan/types.js';
import { computeTags, DEFAULT_TAG_RULES, type Revision, type Tag } from '../plan/tags.js';
import { planToJson } from '../report/json.js';
import { formatPlanText } from '../report/text.js';
import { prepareReport, reportOptions, type ReportArgs } from './report-hook.js';
import type { Io } from './session.js';
import { prepareWriteBack, writeBackOptions, type WriteBackArgs } from './write-back.js';

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
): Promise<string | undefined> {
  const writeBack = await prepareWriteBack(plan, config, args, io);
  // Known without an engine: with the classic builder asked for, BuildKit-only syntax is refused now.
  if (config.builder === 'classic') refuseBuildkitSyntax(plan, { name: 'classic', reason: 'asked for (--builder classic)', buildkitOffered: true, engine: '' });
  if (args['dry-run']) {
    const text = args.json ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : formatPlanText(plan);
    io.stdout.write(text);
    writeBack?.preview();
    return text;
  }
  const report = prepareReport(plan, config, args, io, listing);
  // What only a real run needs (the engine's, the registry's and the reporters' code) loads now:
  // a dry run, the plan printed from the plan memo above all, never compiles it.
  const { runLocked } = await import('./run-plan.js');
  await runLocked({ plan, config, args, io, listing, writeBack, report, parsed });
  return undefined;
}

