// The COPY and ADD sources the model parsed, handed to execute/ for its check of the context
// (execute/context.ts), so that a run does not parse each rendered Dockerfile again.

import type { ContextSource } from '../model/dockerfile.js';
import type { Checkout } from '../model/checkout.js';
import type { BuildStep, PlanStep } from './types.js';

/**
 * The COPY and ADD sources of a step's Dockerfile as the model parsed them, when it parsed them
 * with the step's build args (rendering edits only FROM lines and ansible-playbook commands);
 * undefined: parsed again from the step's content.
 */
export type ParsedSources = (step: BuildStep) => readonly ContextSource[] | undefined;

/** The sources of each build's Dockerfile as the model parsed them (with `buildArgs`), for the step that builds with the same args. */
export function modelSources(checkout: Checkout, buildArgs: Readonly<Record<string, string>>): ParsedSources {
  return (step) => {
    const dockerfile = checkout.services.get(step.service)?.dockerfile;
    if (dockerfile?.path !== step.dockerfile || !sameRecord(step.buildArgs, buildArgs)) return undefined;
    return dockerfile.contextSources;
  };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** The sources of each build step by its id, as a plan memo keeps them beside the plan (JSON). */
export type KeptSources = Readonly<Record<string, readonly ContextSource[]>>;

/** What `parsed` says of each build step of `steps` (the steps it has no parse of left out). */
export function keepSources(steps: readonly PlanStep[], parsed: ParsedSources): KeptSources {
  const kept: Record<string, readonly ContextSource[]> = {};
  for (const step of steps) {
    const sources = step.kind === 'build' ? parsed(step) : undefined;
    if (sources !== undefined) kept[step.id] = sources;
  }
  return kept;
}

/** The kept sources handed out again, by step id. */
export function keptSources(kept: KeptSources): ParsedSources {
  return (step) => (Object.hasOwn(kept, step.id) ? kept[step.id] : undefined);
}
