// Runs a plan as a graph on an Engine: a step starts once the steps it needs have succeeded,
// at most `jobs` at a time, in plan order among those ready. Fail-fast by default (running
// steps are cancelled, engine-side too); with keepGoing only the steps that depend on a
// failure are skipped. An interrupt cancels everything and leaves no tag moved.

import { join } from 'node:path';
import { listContext as listCheckoutContext, type ContextListing } from '../discover/context.js';
import { DockmkError, EngineError, InterruptedError } from '../errors.js';
import { registryOf } from '../model/image-ref.js';
import { checkoutId } from '../plan/labels.js';
import type { BuildPlan, PlanStep } from '../plan/types.js';
import { redact, type Credentials } from './credentials.js';
import type { Engine } from './engine.js';
import type { Emit, StepResult, StepStatus } from './events.js';
import { indexImages } from './images.js';
import { readRegistryState, type RegistryState } from './publish-steps.js';
import type { Registry } from './registry.js';
import { refuseBuildkitSyntax } from './builder.js';
import { DEFAULT_RETRY, type RetryHooks, type RetryPolicy } from './retry.js';
import { runStep, failureReason, transferWith } from './steps.js';

export interface RunOptions {
  /** Steps running at once (default 2). */
  readonly jobs: number;
  /** Go on with every step that does not depend on a failure. */
  readonly keepGoing: boolean;
  /** Build even when the tag already carries the input hash. */
  readonly force: boolean;
  /** Context size (bytes) past which the context event says it is large; default 512 MiB. */
  readonly contextWarnBytes?: number;
  /** How pushes and pulls retry transient registry errors (default: 3 retries from 1 s). */
  readonly retry?: RetryPolicy;
}

export const CONTEXT_WARN_BYTES = 512 * 1024 * 1024;

export interface RunContext {
  readonly engine: Engine;
  /** The registry API, for key refs and registry-side writes. */
  readonly registry: Registry;
  readonly credentials: Credentials;
  readonly emit: Emit;
  readonly signal: AbortSignal;
  /** Milliseconds; injected so tests control time. */
  readonly now: () => number;
  readonly listContext?: (root: string) => Promise<ContextListing>;
  /** The wait between retries; injected so tests need not wait. */
  readonly sleep?: RetryHooks['sleep'];
}

export interface RunResult {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly results: readonly StepResult[];
}

export const DEFAULT_RUN_OPTIONS: RunOptions = { jobs: 2, keepGoing: false, force: false };

const SUCCESS: ReadonlySet<StepStatus> = new Set(['done', 'present', 'up-to-date', 'unavailable', 'reused', 'kept']);

const NO_STATE: RegistryState = { latest: new Map(), tags: new Map() };

export async function runPlan(plan: BuildPlan, ctx: RunContext, options: RunOptions = DEFAULT_RUN_OPTIONS): Promise<RunResult> {
  const started = ctx.now();
  ctx.emit({ kind: 'run-start', plan, engine: ctx.engine.address, at: started, jobs: options.jobs });
  // What the engine is (its builder) is asked beside the ping, whose failure is the one said.
  const choosing = plan.steps.some((step) => step.kind === 'build') && ctx.engine.builder ? ctx.engine.builder(ctx.signal) : null;
  choosing?.catch(() => undefined);
  if (plan.steps.some((step) => step.kind !== 'push' || step.source === null)) await ctx.engine.ping(ctx.signal);
  if (choosing !== null) {
    const builder = await choosing;
    ctx.emit({ kind: 'builder', builder: builder.name, reason: builder.reason });
    refuseBuildkitSyntax(plan, builder);
  }
  await checkPushCredentials(plan, ctx);
  const state = plan.steps.some((step) => step.kind === 'push' && step.source !== null) ? await registryState(plan, ctx) : NO_STATE;
  const images = indexImages(ctx.engine);
  images.expect(plan.steps.flatMap((step) => (step.kind === 'build' ? [step.tag, ...step.bases] : [])));

  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  if (ctx.signal.aborted) abort.abort();

  const results = new Map<string, StepResult>();
  const running = new Map<string, Promise<void>>();
  let stoppedBy: string | null = null;
  // One listing per build context: the checkout, or a service's own directory of it.
  const listings = new Map<string, Promise<ContextListing>>();
  const context = (dir = '.'): Promise<ContextListing> => {
    let listing = listings.get(dir);
    if (listing === undefined) {
      listing = (ctx.listContext ?? listCheckoutContext)(dir === '.' ? plan.root : join(plan.root, dir)).then((found) => {
        const large = found.bytes > (options.contextWarnBytes ?? CONTEXT_WARN_BYTES);
        ctx.emit({ kind: 'context', root: found.root, files: found.entries.length, bytes: found.bytes, large, dockerignore: found.dockerignore !== null });
        return found;
      });
      listings.set(dir, listing);
    }
    return listing;
  };

  const finish = (result: StepResult, output: readonly string[] = []): void => {
    results.set(result.step.id, result);
    ctx.emit({ kind: 'step-end', result, output });
  };

  const start = (step: PlanStep, index: number): void => {
    ctx.emit({ kind: 'step-start', step, index, total: plan.steps.length });
    const output: string[] = [];
    const begin = ctx.now();
    const onRetry: RetryHooks['onRetry'] = (retry) => ctx.emit({ kind: 'step-retry', step, ...retry, reason: redact(retry.reason, ctx.credentials.secrets) });
    const work = runStep(step, {
      engine: ctx.engine,
      registry: ctx.registry,
      images,
      credentials: ctx.credentials,
      signal: abort.signal,
      force: options.force,
      pullReused: plan.command !== 'push',
      checkout: checkoutId(plan.root),
      context,
      state,
      resultOf: (id) => results.get(id),
      transfer: transferWith({ retry: options.retry ?? DEFAULT_RETRY, onRetry, ...(ctx.sleep ? { sleep: ctx.sleep } : {}) }, abort.signal),
      onLine: (raw) => {
        const line = redact(raw, ctx.credentials.secrets);
        output.push(line);
        if (output.length > TAIL) output.shift();
        ctx.emit({ kind: 'step-output', step, line });
      },
    }).then(
      (detail) => finish({ step, durationMs: ctx.now() - begin, ...detail }),
      (error: unknown) => {
        if (!(error instanceof DockmkError)) throw error;
        const durationMs = ctx.now() - begin;
        if (abort.signal.aborted && (error instanceof InterruptedError || ctx.signal.aborted || stoppedBy !== null)) {
          const reason = ctx.signal.aborted ? 'interrupted' : `cancelled: ${stoppedBy} failed`;
          finish({ step, status: 'cancelled', durationMs, reason }, output);
          return;
        }
        const reason = redact(failureReason(step, error, output, ctx.credentials), ctx.credentials.secrets);
        finish({ step, status: 'failed', durationMs, reason, ...(error.hint ? { hint: redact(error.hint, ctx.credentials.secrets) } : {}) }, output);
        if (!options.keepGoing && stoppedBy === null) {
          stoppedBy = step.id;
          abort.abort();
        }
      },
    );
    running.set(step.id, work.finally(() => running.delete(step.id)));
  };

  for (;;) {
    if (!abort.signal.aborted) {
      for (const [index, step] of plan.steps.entries()) {
        if (running.size >= options.jobs) break;
        if (results.has(step.id) || running.has(step.id)) continue;
        const blocker = step.needs.find((need) => results.has(need) && !SUCCESS.has((results.get(need) as StepResult).status));
        if (blocker !== undefined) {
          const cause = results.get(blocker) as StepResult;
          finish({ step, status: 'skipped', durationMs: 0, reason: `skipped: ${cause.status === 'failed' ? `${blocker} failed` : `${blocker} did not run`}` });
          continue;
        }
        if (step.needs.every((need) => results.has(need))) start(step, index);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  ctx.signal.removeEventListener('abort', onInterrupt);

  const interrupted = ctx.signal.aborted;
  for (const step of plan.steps) {
    if (results.has(step.id)) continue;
    const reason = interrupted ? 'not started: interrupted' : `not started: ${stoppedBy ?? 'an earlier step'} failed`;
    finish({ step, status: 'skipped', durationMs: 0, reason });
  }
  const ordered = plan.steps.map((step) => results.get(step.id) as StepResult);
  const ok = ordered.every((result) => SUCCESS.has(result.status));
  ctx.emit({ kind: 'run-end', ok, interrupted, durationMs: ctx.now() - started, results: ordered });
  return { ok, interrupted, results: ordered };
}

/** What the registry holds before anything runs; a registry that refuses stops the run here. */
async function registryState(plan: BuildPlan, ctx: RunContext): Promise<RegistryState> {
  try {
    return await readRegistryState(plan, ctx.registry, ctx.signal);
  } catch (error) {
    if (!(error instanceof EngineError) || /nothing was moved$/.test(error.message)) throw error;
    throw new EngineError(`${redact(error.message, ctx.credentials.secrets)}; nothing was built or pushed`, { hint: error.hint });
  }
}

/** Lines of output kept per step for the failure report. */
const TAIL = 30;

/** Before anything is built: the registries we will push to accept our credentials. */
async function checkPushCredentials(plan: BuildPlan, ctx: RunContext): Promise<void> {
  // The engine's pushes; writes through the registry's API authenticate on their own, before anything moves.
  const registries = new Set(plan.steps.flatMap((step) => (step.kind === 'push' && step.source === null ? [registryOf(step.image)] : [])));
  for (const registry of registries) {
    const auth = ctx.credentials.forRegistry(registry);
    if (auth === null) continue;
    try {
      await ctx.engine.checkAuth(auth, ctx.signal);
    } catch (error) {
      if (error instanceof EngineError) {
        // "lookup registry.example on 10.0.0.53:53: no such host": the engine's resolver said so.
        if (/no such host|server misbehaving/.test(error.message)) {
          throw new EngineError(`registry ${registry} cannot be resolved by the engine (${redact(error.message, ctx.credentials.secrets).replace(/^.*?(lookup )/, '$1')}); nothing was built or pushed`, {
            hint: "check the registry host name (--registry) and the engine machine's DNS",
          });
        }
        if (/x509: |certificate/.test(error.message)) {
          throw new EngineError(`registry ${registry} presents a certificate the engine does not trust (${redact(error.message, ctx.credentials.secrets).replace(/^.*?(x509: )/, '$1')}); nothing was built or pushed`, {
            hint: `put its CA certificate in /etc/docker/certs.d/${registry}/ca.crt (the engine and dockmk read it there), or, for a test registry, list ${registry} under "insecure-registries" in the engine's daemon.json and in DOCKMK_INSECURE_REGISTRIES`,
          });
        }
        throw new EngineError(
          `${redact(error.message, ctx.credentials.secrets)} (credentials from ${ctx.credentials.source}); nothing was built or pushed`,
          { hint: error.hint },
        );
      }
      throw error;
    }
  }
}
