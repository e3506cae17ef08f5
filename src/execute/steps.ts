// What each kind of plan step does on the engine. A build is skipped when its tag already
// carries the hash of its inputs; a cancelled build puts its tag back where it was.

import { createHash } from 'node:crypto';
import type { ContextListing } from '../discover/context.js';
import { StepFailedError, type DockmkError } from '../errors.js';
import { lexDockerfile } from '../model/dockerfile-lex.js';
import { formatImageRef, registryOf, type ImageRef } from '../model/image-ref.js';
import type { BuildStep, PlanStep } from '../plan/types.js';
import { packContext, RENDERED_DOCKERFILE } from './context.js';
import type { Credentials } from './credentials.js';
import type { Engine, ImageInfo } from './engine.js';
import type { StepResult } from './events.js';
import { withRetry, type RetryHooks, type RetryPolicy } from './retry.js';

/** The image label that records the hash of a build's inputs. */
export const INPUT_LABEL = 'org.dockmk.inputs';

export interface StepContext {
  readonly engine: Engine;
  readonly credentials: Credentials;
  readonly signal: AbortSignal;
  readonly force: boolean;
  readonly context: () => Promise<ContextListing>;
  readonly onLine: (line: string) => void;
  /** How pushes and pulls retry transient registry errors. */
  readonly retry: RetryPolicy;
  readonly onRetry: RetryHooks['onRetry'];
  readonly sleep?: RetryHooks['sleep'];
}

export type StepDetail = Pick<StepResult, 'status' | 'imageId' | 'digest' | 'inputHash' | 'baseIds'>;

export async function runStep(step: PlanStep, ctx: StepContext): Promise<StepDetail> {
  const { engine, credentials } = ctx;
  const call = { signal: ctx.signal, onLine: ctx.onLine };
  const transfer = <T>(run: () => Promise<T>): Promise<T> => withRetry(ctx.retry, { signal: ctx.signal, onRetry: ctx.onRetry, ...(ctx.sleep ? { sleep: ctx.sleep } : {}) }, run);
  switch (step.kind) {
    case 'pull': {
      if (step.policy === 'missing') {
        const present = await engine.inspectImage(step.image);
        if (present !== null) return { status: 'present', imageId: present.id };
      }
      try {
        await transfer(() => engine.pull(step.image, credentials.forRegistry(registryOf(step.image)), call));
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
      await engine.tag(step.source, step.target);
      return { status: 'done' };
    case 'push': {
      const { digest } = await transfer(() => engine.push(step.image, credentials.forRegistry(registryOf(step.image)), call));
      return { status: 'done', digest };
    }
  }
}

async function build(step: BuildStep, ctx: StepContext): Promise<StepDetail> {
  const { engine } = ctx;
  const { image: before, inputHash, baseIds } = await inputState(step, engine);
  const known = { ...(inputHash === null ? {} : { inputHash }), ...(baseIds === null ? {} : { baseIds }) };
  if (inputHash !== null && !ctx.force && !step.noCache && before?.labels[INPUT_LABEL] === inputHash) {
    return { status: 'up-to-date', imageId: before.id, ...known };
  }
  const listing = await ctx.context();
  const present = new Set(listing.entries.map((entry) => entry.path));
  const unreachable = Object.keys(step.files).filter((path) => !present.has(path));
  if (unreachable.length > 0) {
    throw new StepFailedError(`build ${step.service}: ${unreachable.join(', ')} is excluded from the build context by .dockerignore, so the overrides cannot reach the image`);
  }
  try {
    const { imageId } = await engine.build(
      {
        context: packContext(listing, step.content, step.files),
        dockerfile: RENDERED_DOCKERFILE,
        tag: step.tag,
        buildArgs: step.buildArgs,
        noCache: step.noCache,
        labels: { ...step.labels, ...(inputHash === null ? {} : { [INPUT_LABEL]: inputHash }) },
        cacheFrom: step.cacheFrom,
      },
      { signal: ctx.signal, onLine: ctx.onLine },
    );
    return { status: 'done', imageId, ...known };
  } catch (error) {
    if (ctx.signal.aborted) await restoreTag(engine, step.tag, before);
    throw error;
  }
}

export interface InputState {
  /** The image the step's tag points to now, if any. */
  readonly image: ImageInfo | null;
  /**
   * The full input hash: what the plan knew (Dockerfile, args, flavor, files) and the IDs of
   * the images it builds on, known only now. Null when a base is missing (the build pulls it)
   * or the plan carries no inputs.
   */
  readonly inputHash: string | null;
  /** The ID of each base image, by reference; null when one is missing. */
  readonly baseIds: Readonly<Record<string, string>> | null;
}

export async function inputState(step: BuildStep, engine: Engine): Promise<InputState> {
  const image = await engine.inspectImage(step.tag);
  const baseIds: Record<string, string> = {};
  for (const base of step.bases) {
    const info = await engine.inspectImage(base);
    if (info === null) return { image, inputHash: null, baseIds: null };
    baseIds[formatImageRef(base)] = info.id;
  }
  if (step.inputs === null) return { image, inputHash: null, baseIds };
  const hash = createHash('sha256').update(step.inputs.digest);
  for (const [ref, id] of Object.entries(baseIds)) hash.update(`\0${ref}\0${id}`);
  return { image, inputHash: `sha256:${hash.digest('hex')}`, baseIds };
}

/** After a cancelled build: the tag points where it pointed before, or nowhere. */
async function restoreTag(engine: Engine, tag: ImageRef, before: ImageInfo | null): Promise<void> {
  const after = await engine.inspectImage(tag);
  if (after?.id === before?.id) return;
  if (before === null) await engine.untag(tag);
  else await engine.tag(before.id, tag);
}

export function failureReason(step: PlanStep, error: DockmkError, output: readonly string[], credentials: Credentials): string {
  switch (step.kind) {
    case 'build':
      return buildFailure(step, error.message, output);
    case 'pull':
    case 'push': {
      const registry = registryOf(step.image);
      const words = `${step.kind} ${formatImageRef(step.image)} failed: ${error.message.replace(/^(pull|push) \S+ failed: /, '')}`;
      if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden/i.test(error.message)) {
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

/** "docker/build/x/Dockerfile:12 (RUN …): The command … returned a non-zero code: 2". */
function buildFailure(step: BuildStep, message: string, output: readonly string[]): string {
  const last = [...output].reverse().find((line) => /^Step \d+\/\d+ : /.test(line));
  const match = last === undefined ? null : /^Step (\d+)\/\d+ : (.*)$/.exec(last);
  if (match === null) return `build ${step.service} failed: ${message}`;
  const instruction = lexDockerfile(step.content).lines[Number(match[1]) - 1];
  const where = instruction === undefined ? step.dockerfile : `${step.dockerfile}:${instruction.line}`;
  const text = (match[2] ?? '').length > 80 ? `${(match[2] ?? '').slice(0, 77)}...` : match[2];
  return `build ${step.service} failed at ${where} (${text}): ${message}`;
}
