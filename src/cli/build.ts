// dockmk build|test|pkg|push [services..]: the legacy docker.mk targets.

import type { Argv } from 'yargs';
import type { BuildCommand } from '../plan/plan.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { publishOptions, publishTags, runOptions, runOrPrint, type PublishArgs, type RunArgs } from './run.js';
import { planSelection } from './selection.js';
import { openSession, planOptions, readInputs, type Io } from './session.js';

interface BuildArgs extends GlobalArgs, RunArgs, SelectionArgs, FlavorArgs, PublishArgs {
  services?: string[];
}

const DESCRIPTIONS: Record<BuildCommand, string> = {
  build: 'Build services on their published parents, as <svc>:build (make docker.build.<svc>)',
  test: "Build services and this checkout's parents first, as <svc>:test (make docker.test.<svc>)",
  pkg: 'Build services on locally packaged parents, as <svc>:latest (make docker.pkg.<svc>)',
  push: 'pkg, then tag and push [<registry>/]<namespace>/<svc>:latest (make docker.push.<svc>)',
};

async function publishTagsFor(command: BuildCommand, args: PublishArgs, root: string, io: Io) {
  const tags = command === 'push' ? await publishTags(args, root, io.env) : undefined;
  return tags ? { publishTags: tags } : {};
}

export function buildCommand(command: BuildCommand, io: Io) {
  return {
    command: `${command} [services..]`,
    describe: DESCRIPTIONS[command],
    builder: (yargs: Argv) =>
      publishOptions(flavorOptions(selectionOptions(runOptions(globalOptions(yargs))))).positional('services', {
        type: 'string',
        array: true,
        describe: 'Services to act on (default: every service)',
      }),
    handler: async (args: BuildArgs): Promise<void> => {
      const flavored = flavorPlanOptions(args, io);
      const { config, checkout } = await openSession(args, io);
      const { listing, inputs } = await readInputs(config, checkout);
      const plan = await planSelection(command, args, { config, checkout }, { ...planOptions(config), ...flavored, inputs, ...(await publishTagsFor(command, args, checkout.root, io)) }, io);
      if (plan === null) return;
      await runOrPrint(plan, config, args, io, listing);
    },
  };
}
