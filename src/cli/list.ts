// dockmk list [services..]: the services of the checkout, their FROM lines and parents.

import type { Argv } from 'yargs';
import { servicesToJson } from '../report/json.js';
import { formatServicesText } from '../report/text.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { selectServicesFor } from './selection.js';
import { openSession, type Io } from './session.js';

interface ListArgs extends GlobalArgs, SelectionArgs {
  services?: string[];
}

export function listCommand(io: Io) {
  return {
    builder: (yargs: Argv) => selectionOptions(globalOptions(yargs)).positional('services', { type: 'string', array: true }),
    handler: async (args: ListArgs): Promise<void> => {
      const { config, checkout } = await openSession(args, io);
      const names = new Set(await selectServicesFor(args, { config, checkout }, io));
      const shown = { ...checkout, services: new Map([...checkout.services].filter(([name]) => names.has(name))) };
      io.stdout.write(args.json ? `${JSON.stringify(servicesToJson(shown), null, 2)}\n` : formatServicesText(shown));
    },
  };
}
