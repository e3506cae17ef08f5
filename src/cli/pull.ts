// dockmk pull [images..]: pull images (make docker.pull/<image>, `@` standing for `:`), or the
// published image of named services; no argument pulls every service's published image.

import type { Argv } from 'yargs';
import { planPull } from '../plan/plan.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { runOptions, runOrPrint, type RunArgs } from './run.js';
import { openSession, planOptions, type Io } from './session.js';

interface PullArgs extends GlobalArgs, RunArgs {
  images?: string[];
}

export function pullCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      runOptions(globalOptions(yargs)).positional('images', { type: 'string', array: true, describe: 'Image references or service names' }),
    handler: async (args: PullArgs): Promise<void> => {
      const { config, checkout } = await openSession(args, io);
      const plan = planPull(checkout, args.images ?? [], planOptions(config));
      await runOrPrint(plan, config, args, io);
    },
  };
}
