// dockmk new <svc> [--from <parent>]: writes a new service (Dockerfile, overrides, play, role)
// that follows the conventions `dockmk lint` checks. Never overwrites a file.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { readTemplates, writeScaffold } from '../scaffold/files.js';
import { renderScaffold, resolveParent, validateServiceName } from '../scaffold/scaffold.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { openSession, type Io } from './session.js';

interface NewArgs extends GlobalArgs {
  service: string;
  from?: string;
}

export function newCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      globalOptions(yargs)
        .positional('service', { type: 'string', demandOption: true, describe: 'Name: lowercase letters, digits, "-" or "_", starting with a letter' })
        .option('from', { type: 'string', requiresArg: true, describe: "Parent: a service of this checkout or an image (default: the checkout's common base)" }),
    handler: async (args: NewArgs): Promise<void> => {
      const service = String(args.service);
      validateServiceName(service);
      const { config, checkout } = await openSession(args, io);
      const parent = resolveParent(args.from, checkout, config);
      const files = renderScaffold(
        { service, parent, namespace: config.namespace, paths: config.paths, common: existsSync(join(config.root, config.paths.roles, 'common')) },
        readTemplates(),
      );
      writeScaffold(config.root, files);
      if (args.json) {
        io.stdout.write(`${JSON.stringify({ service, parent, files: files.map((file) => file.path) }, null, 2)}\n`);
        return;
      }
      const from = parent.kind === 'service' ? `${config.namespace}/${parent.name}` : parent.image;
      io.stdout.write(`${files.map((file) => `created ${file.path}\n`).join('')}${service}: FROM ${from}; next: npm run docker:lint -- ${service} && npm run docker:test -- ${service}\n`);
    },
  };
}
