// Words for steps and results, shared by every human-readable output.

import type { StepStatus } from '../execute/events.js';
import { formatImageRef } from '../model/image-ref.js';
import type { PlanStep } from '../plan/types.js';

export interface Output {
  write(text: string): unknown;
}

export function describeStep(step: PlanStep): string {
  switch (step.kind) {
    case 'pull':
      return `pull ${formatImageRef(step.image)}${step.optional ? ' (cache source, if the registry has it)' : step.policy === 'missing' ? ' (if missing)' : ''}`;
    case 'build':
      return `build ${step.service} as ${formatImageRef(step.tag)} FROM ${step.from.map(formatImageRef).join(', ') || 'scratch'}`;
    case 'tag':
      return `tag ${formatImageRef(step.source)} as ${formatImageRef(step.target)}`;
    case 'push':
      return step.source === null
        ? `push ${formatImageRef(step.image)}`
        : `push ${formatImageRef(step.image)} (written from ${step.source.tag ?? formatImageRef(step.source)}, no layers)${step.follows ? ' if it is the highest release' : ''}`;
  }
}

/** The image a step is about: `hello-app:test`, `debian:bookworm`. */
export function stepSubject(step: PlanStep): string {
  switch (step.kind) {
    case 'pull':
    case 'push':
      return formatImageRef(step.image);
    case 'build':
      return formatImageRef(step.tag);
    case 'tag':
      return `${formatImageRef(step.source)} → ${formatImageRef(step.target)}`;
  }
}

/** The short name a step's log lines are prefixed with. */
export function stepLabel(step: PlanStep): string {
  return step.kind === 'build' ? step.service : stepSubject(step);
}

const DONE: Record<PlanStep['kind'], string> = { pull: 'pulled', build: 'built', tag: 'tagged', push: 'pushed' };

export function statusWord(status: StepStatus, kind: PlanStep['kind']): string {
  switch (status) {
    case 'done':
      return DONE[kind];
    case 'present':
      return 'present';
    case 'up-to-date':
      return 'up to date';
    case 'reused':
      return 'in the registry';
    case 'kept':
      return 'kept';
    case 'failed':
      return 'FAILED';
    default:
      return status;
  }
}

/** One line for a transfer about to be tried again. */
export function retryLine(event: { step: PlanStep; attempt: number; of: number; delayMs: number; reason: string }): string {
  return `${stepSubject(event.step)}: retrying in ${formatDuration(event.delayMs)} (attempt ${event.attempt} of ${event.of}) after: ${event.reason}\n`;
}

/** `BuildKit` or `classic`, as progress names the builder. */
export function builderName(builder: 'buildkit' | 'classic'): string {
  return builder === 'buildkit' ? 'BuildKit' : 'classic';
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** One line for a build context large enough to slow every build down. */
export function contextWarning(bytes: number, dockerignore = true): string {
  if (!dockerignore) {
    return `warning: the build context is ${formatBytes(bytes)} and the checkout has no .dockerignore: every build sends all of it to the engine — add a .dockerignore listing what the images do not need (.git, build output, caches)\n`;
  }
  return `warning: the build context is ${formatBytes(bytes)}: every build sends all of it to the engine — list what the images do not need (.git, build output, caches) in .dockerignore\n`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Rows as aligned columns (the last column is not padded). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return `${rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n')}\n`;
}
