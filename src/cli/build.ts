// dockmk build|test|pkg|push [services..]: the legacy docker.mk targets.

import type { Argv } from 'yargs';
import type { BuildCommand } from '../plan/plan.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { imageOptions, publishOptions, publishTags, runOptions, runOrPrint, type ImageArgs, type PublishArgs, type RunArgs } from './run.js';
import { planSelection } from './selection.js';
import { openSession, planOptions, readInputs, type Io } from './session.js';

interface BuildArgs extends GlobalArgs, RunArgs, SelectionArgs, FlavorArgs, PublishArgs, ImageArgs {
  services?: string[];
}

export function buildCommand(command: BuildCommand, io: Io) {
  return {
    builder: (yargs: Argv) =>
      publishOptions(imageOptions(flavorOptions(selectionOptions(runOptions(globalOptions(yargs)))))).positional('services', {
        type: 'string',
        array: true,
        describe: 'Services to act on (default: every service)',
      }),
    handler: async (args: BuildArgs): Promise<void> => {
      const flavored = flavorPlanOptions(args, io);
      const { config, checkout } = await openSession(args, io);
      // git answers while the checkout is hashed.
      const reading = import('../discover/revision.js').then(({ readRevision }) => readRevision(config.root, io.env, config.publish.defaultBranch));
      const { listing, inputs } = await readInputs(config, checkout, io);
      const revision = await reading;
      const tags = command === 'push' ? publishTags(config, revision) : undefined;
      const options = { ...planOptions(config), ...flavored, inputs, revision, ...(tags ? { publishTags: tags } : {}), ...(args.parents ? { parents: args.parents } : {}) };
      const plan = await planSelection(command, args, { config, checkout }, options, io);
      if (plan === null) return;
      await runOrPrint(plan, config, args, io, listing);
    },
  };
}
