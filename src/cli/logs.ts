// dockmk logs <service> [--build N]: the full log of a build kept in the state directory.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { loadConfig } from '../config/config.js';
import { readHistory } from '../discover/runs.js';
import { UsageError } from '../errors.js';
import { configOverrides, globalOptions, type GlobalArgs } from './options.js';
import type { Io } from './session.js';

interface LogsArgs extends GlobalArgs {
  service: string;
  build?: number;
}

export function logsCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      globalOptions(yargs)
        .positional('service', { type: 'string', demandOption: true })
        .option('build', { type: 'number', describe: 'Which build: 1 is the oldest kept, -1 the last (default)' }),
    handler: async (args: LogsArgs): Promise<void> => {
      const config = loadConfig(configOverrides(args), io.env, io.cwd);
      const builds = readHistory(config.stateDir, (message) => io.stderr.write(`warning: ${message}\n`)).filter((record) => record.service === args.service && record.log !== undefined);
      if (builds.length === 0) {
        throw new UsageError(`no build of "${args.service}" is recorded in ${join(config.stateDir, 'history.jsonl')}`, {
          hint: `logs are kept for builds run by dockmk in this checkout (\`dockmk test ${args.service}\`)`,
        });
      }
      const n = args.build ?? -1;
      const record = Number.isInteger(n) && n !== 0 ? builds.at(n > 0 ? n - 1 : n) : undefined;
      if (record === undefined) {
        throw new UsageError(`there is no build ${n} of "${args.service}"`, { hint: `builds 1 to ${builds.length} are recorded (-1 is the last)` });
      }
      io.stdout.write(
        `# ${record.service}: build ${builds.indexOf(record) + 1} of ${builds.length}, ${record.command} ${record.tag}, ${record.status}, started ${record.startedAt}\n`,
      );
      try {
        io.stdout.write(readFileSync(join(config.stateDir, record.log as string), 'utf8'));
      } catch {
        throw new UsageError(`the log of that build (${record.log}) is no longer in ${config.stateDir}`);
      }
    },
  };
}
