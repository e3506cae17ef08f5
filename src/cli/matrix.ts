// dockmk matrix: the selected services (every service, or those a change affects) split into
// weighted shards, printed as a GitHub Actions matrix on one line, for $GITHUB_OUTPUT.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { githubMatrix } from '../plan/matrix.js';
import { parseShardCount } from '../plan/shards.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { select } from './selection.js';
import { openSession, type Io } from './session.js';

interface MatrixArgs extends GlobalArgs, SelectionArgs {
  services?: string[];
  shards: number;
  waves: boolean;
}

export function matrixCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      selectionOptions(globalOptions(yargs))
        .positional('services', { type: 'string', array: true, describe: 'Services to shard (default: every service, or every affected one)' })
        .option('shards', { type: 'number', default: 4, describe: 'Number of shards (jobs); empty shards are left out' })
        .option('waves', {
          type: 'boolean',
          default: false,
          describe: 'Split by depth in the FROM graph first (a "wave" field; parents in earlier waves), then shard each wave',
        }),
    handler: async (args: MatrixArgs): Promise<void> => {
      if (args.shard !== undefined) throw new UsageError('matrix prints every shard: --shard does not apply', { hint: 'give the number of shards with --shards N' });
      const shards = parseShardCount(args.shards);
      const session = await openSession(args, io);
      const { weights } = await select(args, session, io, { weigh: true });
      io.stdout.write(`${JSON.stringify(githubMatrix(session.checkout, weights ?? new Map(), { shards, waves: args.waves }))}\n`);
    },
  };
}
