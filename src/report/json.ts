// JSON forms of the plan, the service list and run events: the machine-readable contract
// documented in the README. Image references become strings here and nowhere earlier.

import type { RunEvent, StepResult } from '../execute/events.js';
import type { Checkout } from '../model/checkout.js';
import { formatImageRef } from '../model/image-ref.js';
import type { BuildPlan, PlanStep } from '../plan/types.js';

export interface ServiceJson {
  name: string;
  dockerfile: string;
  overrides: string | null;
  play: string | null;
  from: string[];
  parents: string[];
  /** A declared layout only (services:, bake): the build context, `.` for the checkout root. */
  context?: string;
  /** A declared layout only: the named contexts, as bake writes them (`target:base`). */
  contexts?: Record<string, string>;
  /** A declared layout only: the images it reads by COPY --from and RUN --mount=from. */
  copyFrom?: string[];
  tags?: string[];
}

/** `dockmk list --json`: every service, sorted by name. */
export function servicesToJson(checkout: Checkout): ServiceJson[] {
  return [...checkout.services.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((service) => ({
      name: service.name,
      dockerfile: service.dockerfile.path,
      overrides: service.overrides?.path ?? null,
      play: service.play,
      from: service.bases.filter((base) => base.instruction === 'FROM').map((base) => base.image),
      parents: [...service.parents],
      ...(checkout.layout === 'legacy'
        ? {}
        : {
            context: service.context,
            contexts: Object.fromEntries(Object.entries(service.contexts).map(([name, value]) => [name, value.kind === 'service' ? `target:${value.service}` : value.kind === 'image' ? `docker-image://${value.image}` : value.value])),
            copyFrom: service.bases.filter((base) => base.instruction !== 'FROM').map((base) => base.image),
            tags: [...service.tags],
          }),
    }));
}

/** `--dry-run --json`: the plan without the rendered Dockerfiles or the absolute root. */
export function planToJson(plan: BuildPlan): { version: number; command: string; steps: Record<string, unknown>[] } {
  return { version: plan.version, command: plan.command, steps: plan.steps.map(stepToJson) };
}

export function stepToJson(step: PlanStep): Record<string, unknown> {
  const tail = { id: step.id, needs: [...step.needs] };
  switch (step.kind) {
    case 'pull':
      return { action: 'pull', image: formatImageRef(step.image), policy: step.policy, ...(step.optional ? { optional: true } : {}), ...tail };
    case 'build':
      return {
        action: 'build',
        service: step.service,
        tag: formatImageRef(step.tag),
        flavor: step.flavor,
        dockerfile: step.dockerfile,
        // A context of its own (a directory of the checkout); absent: the checkout root.
        ...((step.context ?? '.') !== '.' ? { context: step.context } : {}),
        from: step.from.map(formatImageRef),
        buildArgs: { ...step.buildArgs },
        noCache: step.noCache,
        labels: { ...step.labels },
        ...(step.cacheFrom.length > 0 ? { cacheFrom: step.cacheFrom.map(formatImageRef) } : {}),
        ...(step.overrides ? { overrides: { ...step.overrides } } : {}),
        ...(step.inputs ? { inputs: step.inputs.digest } : {}),
        ...(step.key ? { key: step.key } : {}),
        ...(step.keyRef ? { keyRef: formatImageRef(step.keyRef) } : {}),
        reuse: step.reuse,
        ...(step.fetch.length > 0 ? { fetch: step.fetch.map(formatImageRef) } : {}),
        ...tail,
      };
    case 'tag':
      return { action: 'tag', source: formatImageRef(step.source), target: formatImageRef(step.target), ...tail };
    case 'push':
      return {
        action: 'push',
        image: formatImageRef(step.image),
        service: step.service,
        ...(step.source ? { from: formatImageRef(step.source) } : {}),
        mutable: step.mutable,
        ...(step.follows ? { follows: `highest ${step.follows.range === 'all' ? 'release' : `${step.follows.version.major}${step.follows.range === 'minor' ? `.${step.follows.version.minor}` : ''}.x release`}` } : {}),
        ...tail,
      };
  }
}

function resultToJson(result: StepResult): Record<string, unknown> {
  return {
    step: result.step.id,
    status: result.status,
    durationMs: Math.round(result.durationMs),
    ...(result.imageId ? { imageId: result.imageId } : {}),
    ...(result.digest ? { digest: result.digest } : {}),
    ...(result.inputHash ? { inputHash: result.inputHash } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
  };
}

/** One line of `--json` progress (the `event` key names the kind). */
export function eventToJson(event: RunEvent): Record<string, unknown> {
  switch (event.kind) {
    case 'run-start':
      return { event: 'run-start', command: event.plan.command, engine: event.engine, steps: event.plan.steps.length, jobs: event.jobs };
    case 'builder':
      return { event: 'builder', builder: event.builder, reason: event.reason };
    case 'context':
      return { event: 'context', files: event.files, bytes: event.bytes, large: event.large, ...(event.dockerignore === undefined ? {} : { dockerignore: event.dockerignore }) };
    case 'step-start':
      return { event: 'step-start', step: event.step.id, index: event.index + 1, total: event.total };
    case 'step-output':
      return { event: 'step-output', step: event.step.id, line: event.line };
    case 'step-retry':
      return { event: 'step-retry', step: event.step.id, attempt: event.attempt, of: event.of, delayMs: event.delayMs, reason: event.reason };
    case 'step-end':
      return { event: 'step-end', ...resultToJson(event.result), ...(event.output.length ? { output: event.output } : {}) };
    case 'run-end':
      return { event: 'summary', ...summarize(event.results), ok: event.ok, interrupted: event.interrupted, durationMs: Math.round(event.durationMs) };
  }
}

export interface Summary {
  built: string[];
  upToDate: string[];
  /** Services whose build the registry already held under its key: nothing built. */
  reused: string[];
  failed: string[];
  skipped: string[];
  pulled: string[];
  pushed: string[];
  /** push: refs the plan would push that did not reach the registry. */
  notPushed: string[];
  /** Floating release refs (`1`, `latest`) kept where they were: a higher release holds them. */
  kept: string[];
  /** The build key refs in the registry after the run (pushed, or there already). */
  keys: string[];
}

/** Service names by what happened to their build, and the images pulled and pushed. */
export function summarize(results: readonly StepResult[]): Summary {
  const summary: Summary = { built: [], upToDate: [], reused: [], failed: [], skipped: [], pulled: [], pushed: [], notPushed: [], kept: [], keys: [] };
  for (const { step, status } of results) {
    if (step.kind === 'build') {
      if (status === 'done') summary.built.push(step.service);
      else if (status === 'up-to-date' || status === 'present') summary.upToDate.push(step.service);
      else if (status === 'reused') summary.reused.push(step.service);
      else if (status === 'failed') summary.failed.push(step.service);
      else summary.skipped.push(step.service);
    } else if (step.kind === 'pull' && status === 'done') {
      summary.pulled.push(formatImageRef(step.image));
    } else if (step.kind === 'push' && step.source === null) {
      if (status === 'done' || status === 'reused') summary.keys.push(formatImageRef(step.image));
      else if (status === 'failed' && !summary.failed.includes(step.service)) summary.failed.push(step.service);
    } else if (step.kind === 'push' && status === 'done') {
      summary.pushed.push(formatImageRef(step.image));
    } else if (step.kind === 'push' && status === 'kept') {
      summary.kept.push(formatImageRef(step.image));
    } else if (step.kind === 'push') {
      summary.notPushed.push(formatImageRef(step.image));
      if (status === 'failed' && !summary.failed.includes(step.service)) summary.failed.push(step.service);
    } else if (status === 'failed') {
      summary.failed.push(step.id);
    }
  }
  return summary;
}
