// What each kind of plan step does. Builds are in build-step.ts, registry-side writes in
// publish-steps.ts; pulls, local tags and the engine's pushes here.

import type { ContextListing } from '../discover/context.js';
import type { DockmkError } from '../errors.js';
import { failedStep, instructionOf } from '../model/build-steps.js';
import { formatImageRef, registryOf } from '../model/image-ref.js';
import type { BuildStep, PlanStep } from '../plan/types.js';
import { build } from './build-step.js';
import type { Credentials } from './credentials.js';
import type { Engine } from './engine.js';
import type { StepResult } from './events.js';
import type { ImageIndex } from './images.js';
import { writeRef, type RegistryState } from './publish-steps.js';
import type { Registry } from './registry.js';
import { withRetry, type RetryHooks, type RetryPolicy } from './retry.js';

export { INPUT_LABEL, KEY_LABEL, inputState } from './build-step.js';

export interface StepContext {
  readonly engine: Engine;
  readonly registry: Registry;
  readonly images: ImageIndex;
  readonly credentials: Credentials;
  readonly signal: AbortSignal;
  readonly force: boolean;
  /** A build found in the registry is pulled and tagged (test, pkg, build), not left there (push). */
  readonly pullReused: boolean;
  /** The listing of a build context: `dir` relative to the checkout root (default '.', the root). */
  readonly context: (dir?: string) => Promise<ContextListing>;
  readonly onLine: (line: string) => void;
  /** What the registry held when the run started. */
  readonly state: RegistryState;
  /** The checkout's name on the images it builds (src/plan/labels.ts checkoutId). */
  readonly checkout: string;
  /** The result of a step that has ended. */
  readonly resultOf: (id: string) => StepResult | undefined;
  /** Runs a registry transfer, retrying transient errors. */
  readonly transfer: <T>(run: () => Promise<T>) => Promise<T>;
}

export type StepDetail = Pick<StepResult, 'status' | 'imageId' | 'digest' | 'inputHash' | 'baseIds' | 'reason'>;

export interface TransferOptions {
  readonly retry: RetryPolicy;
  readonly onRetry: RetryHooks['onRetry'];
  readonly sleep?: RetryHooks['sleep'];
}

export function transferWith(options: TransferOptions, signal: AbortSignal): StepContext['transfer'] {
  return (run) => withRetry(options.retry, { signal, onRetry: options.onRetry, ...(options.sleep ? { sleep: options.sleep } : {}) }, run);
}

export async function runStep(step: PlanStep, ctx: StepContext): Promise<StepDetail> {
  const { engine, credentials } = ctx;
  const call = { signal: ctx.signal, onLine: ctx.onLine };
  // A tag or push of a build the registry already held: its ref is there, nothing to do.
  const reused = step.needs.some((need) => ctx.resultOf(need)?.status === 'reused');
  switch (step.kind) {
    case 'pull': {
      if (step.policy === 'missing') {
        const present = await ctx.images.inspect(step.image);
        if (present !== null) return { status: 'present', imageId: present.id };
      }
      ctx.images.touch(step.image);
      try {
        await ctx.transfer(() => engine.pull(step.image, credentials.forRegistry(registryOf(step.image)), call));
      } catch (error) {
        if (!step.optional || ctx.signal.aborted) throw error;
        ctx.onLine(`cache source unavailable, building without it: ${(error as Error).message}`);
        return { status: 'unavailable' };
      }
      return { status: 'done', imageId: (await engine.inspectImage(step.image))?.id ?? '' };
    }
    case 'build':
      return build(step, ctx);
    case 'tag':
      if (reused) return { status: 'reused' };
      ctx.images.touch(step.target);
      await engine.tag(step.source, step.target);
      return { status: 'done' };
    case 'push': {
      if (step.source !== null) return writeRef(step, ctx);
      if (reused) return { status: 'reused', ...digestOf(step.needs, ctx) };
      const { digest } = await ctx.transfer(() => engine.push(step.image, credentials.forRegistry(registryOf(step.image)), call));
      return { status: 'done', digest };
    }
  }
}

/** The registry digest a reused build found, for the steps after it. */
function digestOf(needs: readonly string[], ctx: StepContext): Pick<StepResult, 'digest'> {
  for (const need of needs) {
    const result = ctx.resultOf(need);
    if (result?.digest) return { digest: result.digest };
    if (result) {
      const inner = digestOf(result.step.needs, ctx);
      if (inner.digest) return inner;
    }
  }
  return {};
}

export function failureReason(step: PlanStep, error: DockmkError, output: readonly string[], credentials: Credentials): string {
  switch (step.kind) {
    case 'build':
      return buildFailure(step, error.message, output);
    case 'pull':
    case 'push': {
      const registry = registryOf(step.image);
      const words = `${step.kind} ${formatImageRef(step.image)} failed: ${error.message.replace(/^(pull|push) \S+ failed: /, '')}`;
      // dockmk's own registry client names the credentials itself; the engine's words do not.
      if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden/i.test(error.message) && !error.message.includes(credentials.source)) {
        return credentials.forRegistry(registry) === null
          ? `${words} — no credentials for ${registry} in ${credentials.source}; run \`docker login ${registry}\``
          : `${words} — the registry refused the credentials for ${registry} in ${credentials.source}`;
      }
      return words;
    }
    case 'tag':
      return error.message;
  }
}

/** "docker/build/x/Dockerfile:12 (RUN …): The command … returned a non-zero code: 2", on any builder. */
function buildFailure(step: BuildStep, full: string, output: readonly string[]): string {
  // The engine's own wrapping ("build x:test failed: …") says again what this line says.
  const message = full.replace(/^build \S+ failed: /, '');
  const header = failedStep(output);
  if (header === null) return `build ${step.service} failed: ${message}`;
  const instruction = instructionOf(step.content, header);
  const where = instruction === null ? step.dockerfile : `${step.dockerfile}:${instruction.line}`;
  const text = header.text.length > 80 ? `${header.text.slice(0, 77)}...` : header.text;
  return `build ${step.service} failed at ${where} (${text}): ${message}`;
}
