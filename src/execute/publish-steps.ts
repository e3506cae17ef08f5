// The registry side of publishing: a ref written from a key ref's manifest (no layer moves),
// an immutable ref (sha-<7>) written once and never moved after, a floating release ref held
// where a higher release is, `latest` written only if no one else
// moved it since this run read it; and, before anything runs, the refs a plan writes from but
// does not push itself must all be there (promote: refuse, naming the missing ones).

import { EngineError } from '../errors.js';
import { formatImageRef, type ImageRef } from '../model/image-ref.js';
import { higherRelease } from '../plan/tags.js';
import type { BuildPlan, PushStep } from '../plan/types.js';
import type { Registry } from './registry.js';
import type { StepContext, StepDetail } from './steps.js';

/** What the run read of the registry before its first step: where each `latest` pointed. */
export interface RegistryState {
  /** Target ref → its digest when the run started (null: absent). */
  readonly latest: ReadonlyMap<string, string | null>;
  /** Repository → its tags, read once per run. */
  readonly tags: Map<string, Promise<string[]>>;
}

const isLatest = (step: PushStep): boolean => step.mutable && step.image.tag !== null && /^latest(-[a-z]+)?$/.test(step.image.tag);

/**
 * Before any step: every ref the plan writes from without pushing it must be in the registry
 * (else nothing runs, and the error names every missing one); where each `latest` points now.
 */
export async function readRegistryState(plan: BuildPlan, registry: Registry, signal: AbortSignal): Promise<RegistryState> {
  const pushed = new Set(plan.steps.flatMap((step) => (step.kind === 'push' ? [formatImageRef(step.image)] : [])));
  const writes = plan.steps.filter((step): step is PushStep => step.kind === 'push' && step.source !== null);
  const sources = new Map<string, { ref: ImageRef; service: string }>();
  for (const step of writes) {
    const source = step.source as ImageRef;
    if (!pushed.has(formatImageRef(source))) sources.set(formatImageRef(source), { ref: source, service: step.service });
  }
  const missing: string[] = [];
  await inBatches([...sources.values()], async ({ ref, service }) => {
    if ((await registry.digest(ref, signal)) === null) missing.push(`${service} (${formatImageRef(ref)})`);
  });
  if (missing.length > 0) {
    missing.sort();
    throw new EngineError(`${missing.length} of ${sources.size} images are not in the registry under their build key: ${missing.join(', ')}; nothing was moved`, {
      hint: 'build and stage them first (`dockmk push --stage` of this commit), then promote again',
    });
  }
  const latest = new Map<string, string | null>();
  await inBatches(writes.filter(isLatest), async (step) => {
    latest.set(formatImageRef(step.image), await registry.digest(step.image, signal));
  });
  return { latest, tags: new Map() };
}

/** A ref written registry-side from its source's manifest, when the rules let it move. */
export async function writeRef(step: PushStep, ctx: StepContext): Promise<StepDetail> {
  const source = step.source as ImageRef;
  const target = formatImageRef(step.image);
  if (step.follows !== null) {
    const repository = formatImageRef({ ...step.image, tag: null, digest: null });
    let tags = ctx.state.tags.get(repository);
    if (tags === undefined) {
      tags = ctx.transfer(() => ctx.registry.tags(step.image, ctx.signal));
      ctx.state.tags.set(repository, tags);
    }
    let existing: string[];
    try {
      existing = await tags;
    } catch (error) {
      throw new EngineError(`could not list the tags of ${repository} (${(error as Error).message}): which release is the highest could not be checked, so ${target} was not moved`, {
        hint: 'give the credentials permission to list tags (the registry\'s catalog/tags scope)',
      });
    }
    const higher = higherRelease(step.follows, existing);
    if (higher !== null) {
      const { major, minor, patch } = step.follows.version;
      return { status: 'kept', reason: `kept where it is: ${higher} is a higher release than ${major}.${minor}.${patch}` };
    }
  }
  if (!step.mutable) {
    // An immutable ref (sha-<7>) is written once: the same commit built again on other inputs
    // (newer bases, another label) gets a new key ref, and the sha ref stays on the first build.
    const existing = await ctx.transfer(() => ctx.registry.digest(step.image, ctx.signal));
    if (existing !== null) {
      const wanted = await ctx.transfer(() => ctx.registry.digest(source, ctx.signal));
      if (wanted === existing) return { status: 'done', digest: existing };
      return {
        status: 'kept',
        reason: `kept where it is: it names an earlier build of this commit (${existing}), and an immutable ref is never moved; this build is ${formatImageRef(source)} (delete the tag in the registry to re-point it)`,
      };
    }
  }
  if (ctx.state.latest.has(target)) {
    const before = ctx.state.latest.get(target) ?? null;
    const now = await ctx.transfer(() => ctx.registry.digest(step.image, ctx.signal));
    if (now !== before) {
      throw new EngineError(`${target} moved while this run was publishing (it pointed at ${before ?? 'nothing'} when the run started, now ${now ?? 'nothing'}); it was not overwritten`, {
        hint: 'another push or promote of these images ran at the same time: let it finish (one concurrency group per branch), then run this one again',
      });
    }
  }
  const digest = await ctx.transfer(() => ctx.registry.copy(source, step.image, ctx.signal));
  return { status: 'done', digest };
}

/** Runs `work` over `items`, eight at a time. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>, size = 8): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

export type { Registry };
