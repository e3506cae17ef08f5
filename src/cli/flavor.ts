// --devstack, --override and --overrides: what a run builds beyond the checkout as written.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { parseOverrideAssignment, parseOverrides, type OverrideLayer } from '../model/overrides.js';
import type { Flavor } from '../plan/flavor.js';
import type { Io } from './session.js';

export interface FlavorArgs {
  devstack: boolean;
  override?: string[];
  overrides?: string[];
}

export function flavorOptions<T>(yargs: Argv<T>): Argv<T & FlavorArgs> {
  return yargs
    .option('devstack', {
      type: 'boolean',
      default: false,
      describe: 'Build the devstack flavor: include the tasks tagged devstack:install, tag <svc>:<tag>-devstack',
    })
    .option('override', {
      type: 'string',
      array: true,
      requiresArg: true,
      describe: "Layer NAME=VALUE (VALUE read as YAML) over each service's ansible_overrides.yml, for this run only (repeatable)",
    })
    .option('overrides', {
      type: 'string',
      array: true,
      requiresArg: true,
      describe: "Layer the variables of a YAML FILE over each service's ansible_overrides.yml, for this run only",
    }) as Argv<T & FlavorArgs>;
}

/** The flavor and the override layers, files first, then --override in order. */
export function flavorPlanOptions(args: FlavorArgs, io: Io): { flavor: Flavor; overrides: OverrideLayer[] } {
  const layers: OverrideLayer[] = [];
  for (const file of args.overrides ?? []) {
    const path = resolve(io.cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--overrides ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
        hint: 'give the path of a YAML file of NAME: value lines',
      });
    }
    layers.push({ source: file, values: parseOverrides({ path: file, text }) });
  }
  const assigned = (args.override ?? []).map(parseOverrideAssignment);
  if (assigned.length > 0) layers.push({ source: '--override', values: Object.assign({}, ...assigned) as Record<string, unknown> });
  return { flavor: args.devstack ? 'devstack' : 'plain', overrides: layers };
}
