// dockmk show <svc>: parents, play, roles, tags and effective overrides of one service.

import type { Argv } from 'yargs';
import { listContext } from '../discover/context.js';
import type { Service } from '../model/checkout.js';
import { parseOverrides } from '../model/overrides.js';
import { playsOfService, rolesRun } from '../model/service-plays.js';
import { selectServices } from '../plan/select.js';
import { formatServiceDetails, serviceDetails } from '../report/show.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { ansibleModel, openSession, ownState, type Io } from './session.js';

interface ShowArgs extends GlobalArgs, FlavorArgs {
  services?: string[];
}

export function showCommand(io: Io) {
  return {
    builder: (yargs: Argv) => flavorOptions(globalOptions(yargs)).positional('services', { type: 'string', array: true }),
    handler: async (args: ShowArgs): Promise<void> => {
      const { flavor, overrides: layers } = flavorPlanOptions(args, io);
      const { config, checkout } = await openSession(args, io);
      const names = selectServices(checkout, args.services ?? [], config.paths.build);
      const { graph, owners } = ansibleModel(config, checkout, await listContext(config.root, ownState(config)), io);
      const plays = playsOfService(owners);
      const roles = rolesRun(graph, owners);
      const details = names.map((name) => {
        const service = checkout.services.get(name) as Service;
        const all = roles(name);
        const direct = (plays.get(name) ?? []).flatMap((play) => graph.playFiles.get(play)?.roles.map((reference) => reference.role) ?? []);
        return serviceDetails(service, {
          checkout,
          flavor,
          layers,
          own: service.overrides ? parseOverrides(service.overrides) : null,
          roles: all ? { direct, all } : null,
        });
      });
      io.stdout.write(args.json ? `${JSON.stringify(details, null, 2)}\n` : details.map(formatServiceDetails).join('\n'));
    },
  };
}
