// What a push left where: each image's refs that reached the registry (with the digest the
// registry gave), and the refs that did not. The source of the `--manifest` file, the
// summary's `notPushed`, the GitHub step summary and the message of a failed push.

import type { StepResult } from '../execute/events.js';
import { formatImageRef } from '../model/image-ref.js';
import type { BuildPlan } from '../plan/types.js';
import { formatDuration, statusWord, stepSubject } from './describe.js';

export const MANIFEST_VERSION = 1;

export interface PublishedImage {
  readonly service: string;
  /** The manifest digest the registry answered (the same for every ref of one image). */
  readonly digest: string | null;
  readonly refs: readonly string[];
  /** The build key ref the refs were written from (pushed by this run or found in the registry). */
  readonly key?: string;
}

/** A ref the run meant to write from a key ref and did not: what `promote --resume` writes. */
export interface PendingRef {
  readonly service: string;
  readonly ref: string;
  readonly from: string;
  readonly mutable: boolean;
  readonly latest: boolean;
  /** A floating release ref: the release it follows, and the range (`1.2.x`: minor). */
  readonly follows?: { readonly version: string; readonly range: 'major' | 'minor' | 'all' };
}

export interface PublishOutcome {
  /** Every push of the plan is done. */
  readonly complete: boolean;
  readonly images: readonly PublishedImage[];
  /** Refs the plan would push that are not (or not known to be) in the registry. */
  readonly notPushed: readonly string[];
  /** Floating release refs left where they were, and why. */
  readonly kept: readonly { readonly ref: string; readonly reason: string }[];
  /** Of notPushed, those a rerun can write from a key ref already in the registry. */
  readonly pending: readonly PendingRef[];
}

const LANDED = new Set(['done', 'reused']);

export function publishOutcome(results: readonly StepResult[]): PublishOutcome {
  const images = new Map<string, { service: string; digest: string | null; refs: string[]; key?: string }>();
  const image = (service: string) => {
    const known = images.get(service) ?? { service, digest: null, refs: [] };
    images.set(service, known);
    return known;
  };
  const notPushed: string[] = [];
  const kept: { ref: string; reason: string }[] = [];
  const pending: PendingRef[] = [];
  for (const { step, status, digest, reason } of results) {
    if (step.kind !== 'push') continue;
    const ref = formatImageRef(step.image);
    if (step.source === null) {
      // The key ref: the image itself, which every other ref is written from.
      if (LANDED.has(status)) {
        const entry = image(step.service);
        entry.key = ref;
        entry.digest ??= digest ?? null;
      }
      continue;
    }
    if (status === 'kept') {
      kept.push({ ref, reason: reason ?? 'kept' });
      continue;
    }
    if (status !== 'done') {
      notPushed.push(ref);
      const follows = step.follows ? { version: `${step.follows.version.major}.${step.follows.version.minor}.${step.follows.version.patch}`, range: step.follows.range } : undefined;
      pending.push({ service: step.service, ref, from: formatImageRef(step.source), mutable: step.mutable, latest: /:latest(-[a-z]+)?$/.test(ref), ...(follows ? { follows } : {}) });
      continue;
    }
    const entry = image(step.service);
    entry.key ??= formatImageRef(step.source);
    entry.refs.push(ref);
    entry.digest ??= digest ?? null;
  }
  return { complete: notPushed.length === 0, images: [...images.values()], notPushed, kept, pending };
}

/** The `--manifest` file. */
export function manifestJson(outcome: PublishOutcome): string {
  return `${JSON.stringify({ version: MANIFEST_VERSION, ...outcome }, null, 2)}\n`;
}

/**
 * One line for a push that stopped midway: how much is in the registry, the versioned refs that
 * are not, and the `latest` refs that did not move (listed apart, so a long list never hides them).
 */
export function describePartialPush(outcome: PublishOutcome, shown = 6): string {
  const pushed = outcome.images.reduce((count, image) => count + image.refs.length, 0);
  const total = pushed + outcome.notPushed.length;
  const isLatest = (ref: string): boolean => /:latest(-[a-z]+)?$/.test(ref);
  const list = (refs: readonly string[], limit: number): string =>
    `${refs.slice(0, limit).join(', ')}${refs.length > limit ? ` and ${refs.length - limit} more` : ''}`;
  const versioned = outcome.notPushed.filter((ref) => !isLatest(ref));
  const held = outcome.notPushed.filter(isLatest);
  const parts = [`${pushed} of ${total} refs pushed`];
  if (versioned.length > 0) parts.push(`not pushed: ${list(versioned, shown)}`);
  if (held.length > 0) parts.push(`latest not moved: ${list(held, shown * 2)}`);
  return parts.join('; ');
}

/** Markdown for $GITHUB_STEP_SUMMARY: one row per step, then what was published. */
export function markdownSummary(plan: BuildPlan, results: readonly StepResult[], ok: boolean, durationMs: number): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `### dockmk ${plan.command}: ${ok ? 'finished' : 'FAILED'} in ${formatDuration(durationMs)}`,
    '',
    '| step | image | result | time | detail |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (result) =>
        `| ${result.step.kind} | \`${cell(stepSubject(result.step))}\` | ${statusWord(result.status, result.step.kind)} | ${formatDuration(result.durationMs)} | ${cell(result.reason ?? result.digest ?? '')} |`,
    ),
  ];
  if (plan.command === 'push') {
    const outcome = publishOutcome(results);
    lines.push('', outcome.complete ? '**Published**' : `**Push incomplete:** ${cell(describePartialPush(outcome, 50))}`, '');
    for (const image of outcome.images) lines.push(`- ${image.service} \`${image.digest ?? 'digest unknown'}\`: ${image.refs.map((ref) => `\`${ref}\``).join(', ')}`);
  }
  return `${lines.join('\n')}\n\n`;
}
