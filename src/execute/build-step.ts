// A build step on the engine. It builds nothing when its image is already there: in the
// registry under its key ref (a push asks first, and writes its refs from there; test, pkg and
// build with --reuse registry pull it), or on the engine, tagged with its input hash. A
// cancelled build puts its tag back where it was.

import { createHash } from 'node:crypto';
import { StepFailedError } from '../errors.js';
import { formatImageRef, registryOf, type ImageRef } from '../model/image-ref.js';
import { CHECKOUT_LABEL } from '../plan/labels.js';
import type { BuildStep } from '../plan/types.js';
import { packContext, RENDERED_DOCKERFILE, withLabelInstruction } from './context.js';
import type { ImageInfo } from './engine.js';
import type { StepContext, StepDetail } from './steps.js';

/** The image label that records the hash of a build's inputs and the IDs of its bases. */
export const INPUT_LABEL = 'org.dockmk.inputs';
/** The image label that records the build key (src/plan/keys.ts). */
export const KEY_LABEL = 'org.dockmk.key';

export async function build(step: BuildStep, ctx: StepContext): Promise<StepDetail> {
  const { engine } = ctx;
  const mayReuse = !ctx.force && !step.noCache;
  const fromRegistry = mayReuse && step.reuse === 'registry' && step.keyRef !== null;
  // A push asks the registry first: an image it already holds needs neither a build nor an upload.
  if (fromRegistry && !ctx.pullReused) {
    const digest = await inRegistry(step, ctx, true);
    if (digest !== null) return { status: 'reused', digest };
  }
  // The parents' key refs it builds on, from the registry when this engine lacks them.
  for (const ref of step.fetch) {
    if ((await ctx.images.inspect(ref)) !== null) continue;
    ctx.images.touch(ref);
    await ctx.transfer(() => engine.pull(ref, ctx.credentials.forRegistry(registryOf(ref)), { signal: ctx.signal, onLine: ctx.onLine }));
  }
  const { image: before, inputHash, baseIds } = await inputState(step, ctx);
  const known = { ...(inputHash === null ? {} : { inputHash }), ...(baseIds === null ? {} : { baseIds }) };
  if (inputHash !== null && mayReuse && before?.labels[INPUT_LABEL] === inputHash) {
    return { status: 'up-to-date', imageId: before.id, ...known };
  }
  if (fromRegistry && ctx.pullReused) {
    const digest = await inRegistry(step, ctx, false);
    if (digest !== null) return { status: 'reused', digest, imageId: await pullReused(step, step.keyRef as ImageRef, ctx) };
  }
  const listing = await ctx.context(step.context);
  const present = new Set(listing.entries.map((entry) => entry.path));
  const unreachable = Object.keys(step.files).filter((path) => !present.has(path));
  if (unreachable.length > 0) {
    throw new StepFailedError(`build ${step.service}: ${unreachable.join(', ')} is excluded from the build context by .dockerignore, so the overrides cannot reach the image`);
  }
  await checkParentsThere(step, ctx);
  ctx.images.touch(step.tag);
  const labels = { ...step.labels, [CHECKOUT_LABEL]: ctx.checkout, ...(step.key === null ? {} : { [KEY_LABEL]: step.key }), ...(inputHash === null ? {} : { [INPUT_LABEL]: inputHash }) };
  const labelled = withLabelInstruction(step.content, labels);
  // A file that changes while it is sent fails the archive. The engine's client may have stopped
  // reading it by then (an error event no one listens to would end the process): the cause is
  // kept here, and is what the step fails with. The build is stopped at once: the engine would
  // otherwise wait for the rest of a request body that never comes (minutes, on BuildKit).
  const context = packContext(listing, labelled ?? step.content, step.files);
  let contextFailure: Error | null = null;
  const broken = new AbortController();
  context.on('error', (error: Error) => {
    contextFailure ??= error;
    broken.abort();
  });
  try {
    const { imageId } = await engine.build(
      {
        context,
        dockerfile: RENDERED_DOCKERFILE,
        tag: step.tag,
        buildArgs: step.buildArgs,
        noCache: step.noCache,
        labels,
        labelsInDockerfile: labelled !== null,
        cacheFrom: step.cacheFrom,
        registryAuth: (host) => ctx.credentials.forRegistry(host),
      },
      { signal: AbortSignal.any([ctx.signal, broken.signal]), onLine: ctx.onLine },
    );
    if (contextFailure !== null) throw contextFailure;
    return { status: 'done', imageId, ...known };
  } catch (error) {
    // Not the tag of an image built from a context that was not the one hashed.
    if (ctx.signal.aborted || contextFailure !== null) await restoreTag(ctx, step.tag, before);
    throw contextFailure ?? error;
  }
}

/**
 * The digest of the step's key ref in the registry, or null when it has none. A push cannot go
 * on without an answer; a test only loses the shortcut, and says so.
 */
async function inRegistry(step: BuildStep, ctx: StepContext, required: boolean): Promise<string | null> {
  const ref = step.keyRef as ImageRef;
  try {
    return await ctx.transfer(() => ctx.registry.digest(ref, ctx.signal));
  } catch (error) {
    if (required || ctx.signal.aborted) throw error;
    ctx.onLine(`could not ask the registry for ${formatImageRef(ref)}, building instead: ${(error as Error).message}`);
    return null;
  }
}

/** test/pkg/build --reuse registry: the registry's image, pulled and tagged as this step's tag. */
async function pullReused(step: BuildStep, ref: ImageRef, ctx: StepContext): Promise<string> {
  ctx.images.touch(ref);
  ctx.images.touch(step.tag);
  await ctx.transfer(() => ctx.engine.pull(ref, ctx.credentials.forRegistry(registryOf(ref)), { signal: ctx.signal, onLine: ctx.onLine }));
  await ctx.engine.tag(ref, step.tag);
  return (await ctx.engine.inspectImage(step.tag))?.id ?? '';
}

/**
 * A parent this run built (or found up to date) must still be on the engine: without it the
 * engine would try to pull `<parent>:test` from Docker Hub and fail with "pull access denied".
 */
async function checkParentsThere(step: BuildStep, ctx: StepContext): Promise<void> {
  for (const need of step.needs) {
    const parent = ctx.resultOf(need)?.step;
    if (parent?.kind !== 'build' || !step.bases.some((base) => formatImageRef(base) === formatImageRef(parent.tag))) continue;
    if ((await ctx.engine.inspectImage(parent.tag)) !== null) continue;
    throw new StepFailedError(`its parent ${formatImageRef(parent.tag)}, which this run ${ctx.resultOf(need)?.status === 'done' ? 'built' : 'found up to date'}, is no longer on the engine (removed by \`docker rmi\` or \`docker image prune\` while the run went on?)`, {
      hint: 'run the command again: the parent is built again first',
    });
  }
}

export interface InputState {
  /** The image the step's tag points to now, if any. */
  readonly image: ImageInfo | null;
  /**
   * The full input hash: the build key (or, in a plan without one, the input digest) and the IDs
   * of the images it builds on, known only now. Null when a base is missing (the build pulls it)
   * or the plan carries no inputs.
   */
  readonly inputHash: string | null;
  /** The ID of each base image, by reference; null when one is missing. */
  readonly baseIds: Readonly<Record<string, string>> | null;
}

export async function inputState(step: BuildStep, ctx: Pick<StepContext, 'images'>): Promise<InputState> {
  const image = await ctx.images.inspect(step.tag);
  const baseIds: Record<string, string> = {};
  for (const base of step.bases) {
    const info = await ctx.images.inspect(base);
    if (info === null) return { image, inputHash: null, baseIds: null };
    baseIds[formatImageRef(base)] = info.id;
  }
  const own = step.key ?? step.inputs?.digest ?? null;
  if (own === null) return { image, inputHash: null, baseIds };
  const hash = createHash('sha256').update(own);
  for (const [ref, id] of Object.entries(baseIds)) hash.update(`\0${ref}\0${id}`);
  return { image, inputHash: `sha256:${hash.digest('hex')}`, baseIds };
}

/** After a cancelled build: the tag points where it pointed before, or nowhere. */
async function restoreTag(ctx: StepContext, tag: ImageRef, before: ImageInfo | null): Promise<void> {
  const after = await ctx.engine.inspectImage(tag);
  if (after?.id === before?.id) return;
  if (before === null) await ctx.engine.untag(tag);
  else await ctx.engine.tag(before.id, tag);
}
