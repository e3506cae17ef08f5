// A plan run on the engine: the checkout locked, progress reported, history kept, the
// manifest and the step summary written, and the exit status said. Loaded by run.ts only for
// a real run, so that a dry run does not compile the engine's and the registry's code.

import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { listContext, type ContextListing } from '../discover/context.js';
import { ConfigError, InterruptedError, StepFailedError } from '../errors.js';
import { checkContextSources } from '../execute/context.js';
import type { ParsedSources } from '../plan/parsed-sources.js';
import { loadCredentials } from '../execute/credentials.js';
import type { Emit, RunEvent } from '../execute/events.js';
import { lockCheckout } from '../execute/lock.js';
import { connectRegistry } from '../execute/registry.js';
import { runPlan } from '../execute/run.js';
import type { BuildPlan } from '../plan/types.js';
import { DEFAULT_RETRY } from '../execute/retry.js';
import { createHistoryRecorder } from '../report/history.js';
import { describePartialPush, markdownSummary, publishOutcome } from '../report/publish.js';
import { appendStepSummary, writeManifest } from '../report/run-files.js';
import { eventToJson } from '../report/json.js';
import { createPlainReporter } from '../report/plain.js';
import { createTtyReporter } from '../report/tty.js';
import { actorOf } from '../report/actor.js';
import type { ReportHook } from './report-hook.js';
import type { PublishArgs, RunArgs } from './run.js';
import { openEngine, type Io } from './session.js';
import type { WriteBackHook } from './write-back.js';

/** A real run: the plan and what runOrPrint prepared for it. */
export interface RealRun {
  readonly plan: BuildPlan;
  readonly config: Config;
  readonly args: RunArgs & Pick<PublishArgs, 'manifest'>;
  readonly io: Io;
  readonly listing: ContextListing | undefined;
  readonly writeBack: WriteBackHook | null;
  readonly report: ReportHook | null;
  readonly parsed: ParsedSources | undefined;
}

/** Runs the plan with the checkout locked (one run at a time: a second one waits, saying for whom). */
export async function runLocked(run: RealRun): Promise<void> {
  const { plan, config, io, report } = run;
  const lock = await lockCheckout(config.stateDir, plan.command, { signal: io.signal, say: (line) => io.stderr.write(`${line}\n`) });
  try {
    await runAndReport(run);
  } finally {
    lock.release();
    await report?.write();
  }
}

async function runAndReport({ plan, config, args, io, listing, writeBack, report, parsed }: RealRun): Promise<void> {
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
  if (io.env.GITHUB_STEP_SUMMARY) appendStepSummary(io.env.GITHUB_STEP_SUMMARY, markdownSummary(plan, result.results, result.ok, io.now() - started), (line: string) => io.stderr.write(`${line}\n`));
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
