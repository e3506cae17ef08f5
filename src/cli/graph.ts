// dockmk graph [--format mermaid|dot|json] [--roles]: the service graph (parent → child, external
// bases as their own nodes), or with --roles the play → role → role graph.

import type { Argv } from 'yargs';
import { discoverAnsible } from '../discover/ansible.js';
import { buildRoleGraph } from '../model/roles.js';
import { playOwners, playsOfService } from '../model/service-plays.js';
import { renderGraph, roleGraph, serviceGraph, type GraphFormat } from '../report/graph.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { ansibleSetup } from './selection.js';
import { openSession, type Io } from './session.js';

interface GraphArgs extends GlobalArgs {
  format: string;
  roles: boolean;
}

export function graphCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      globalOptions(yargs)
        .option('format', { type: 'string', choices: ['mermaid', 'dot', 'json'], default: 'mermaid', describe: 'Mermaid flowchart, Graphviz DOT or JSON (--json is --format json)' })
        .option('roles', { type: 'boolean', default: false, describe: 'The docker plays, the roles they use and the roles those pull in (meta, include_role)' }),
    handler: async (args: GraphArgs): Promise<void> => {
      const { config, checkout } = await openSession(args, io);
      const format = (args.json ? 'json' : args.format) as GraphFormat; // yargs checked the choices
      if (!args.roles) {
        io.stdout.write(renderGraph(serviceGraph(checkout), format));
        return;
      }
      const { dirs } = ansibleSetup(config);
      const roles = buildRoleGraph(discoverAnsible(config.root, dirs));
      const existing = new Set(roles.playFiles.keys());
      const run = [...playsOfService(playOwners(checkout, dirs, existing)).values()].flat();
      const docker = [...roles.playFiles.values()].filter((file) => file.kind === 'docker').map((file) => file.path);
      io.stdout.write(renderGraph(roleGraph(roles, [...new Set([...docker, ...run])].sort()), format));
    },
  };
}
