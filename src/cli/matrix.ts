// dockmk matrix: the selected services (every service, or those a change affects) split into
// weighted shards, printed as a GitHub Actions matrix on one line, for $GITHUB_OUTPUT.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { githubMatrix } from '../plan/matrix.js';
import { planBuild } from '../plan/plan.js';
import type { Weight } from '../plan/shards.js';
import { parseShardCount } from '../plan/shards.js';
import type { BuildStep } from '../plan/types.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { registryFor, resolveBaseDigests } from './release.js';
import { imageOptions, type ImageArgs } from './run.js';
import { select } from './selection.js';
import { openSession, planOptions, readInputs, type Io, type Session } from './session.js';

interface MatrixArgs extends GlobalArgs, SelectionArgs, FlavorArgs, ImageArgs {
  services?: string[];
  shards: number;
  waves: boolean;
  reuse?: string;
}

export function matrixCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      imageOptions(flavorOptions(selectionOptions(globalOptions(yargs))))
        .positional('services', { type: 'string', array: true, describe: 'Services to shard (default: every service, or every affected one)' })
        .option('shards', { type: 'number', default: 4, describe: 'Number of shards (jobs); empty shards are left out' })
        .option('waves', {
          type: 'boolean',
          default: false,
          describe: 'Split by depth in the FROM graph first (a "wave" field; parents in earlier waves), then shard each wave',
        })
        .option('reuse', {
          type: 'string',
          choices: ['local', 'registry'],
          describe: 'registry: leave out the services whose build the registry already holds under its key (as `push` would find them); the same build options as the push give the same keys',
        }),
    handler: async (args: MatrixArgs): Promise<void> => {
      if (args.shard !== undefined) throw new UsageError('matrix prints every shard: --shard does not apply', { hint: 'give the number of shards with --shards N' });
      const shards = parseShardCount(args.shards);
      const session = await openSession(args, io);
      const { weights } = await select(args, session, io, { weigh: true });
      const toBuild = args.reuse === 'registry' ? await withoutStored(weights ?? new Map(), args, session, io) : (weights ?? new Map());
      io.stdout.write(`${JSON.stringify(githubMatrix(session.checkout, toBuild, { shards, waves: args.waves }))}\n`);
    },
  };
}

/** The services whose build key ref the registry lacks: only those need a runner. */
async function withoutStored(weights: ReadonlyMap<string, Weight>, args: MatrixArgs, session: Session, io: Io): Promise<ReadonlyMap<string, Weight>> {
  if (weights.size === 0) return weights;
  const { config, checkout } = session;
  const { inputs } = await readInputs(config, checkout, io);
  const options = { ...planOptions(config), ...flavorPlanOptions(args, io), inputs };
  let plan = planBuild(checkout, 'push', [...weights.keys()], options);
  if (config.pull === 'always') {
    const baseDigests = await resolveBaseDigests(plan, config, io);
    if (baseDigests.size > 0) plan = planBuild(checkout, 'push', [...weights.keys()], { ...options, baseDigests });
  }
  const registry = await registryFor(config, io);
  const builds = plan.steps.filter((step): step is BuildStep => step.kind === 'build' && weights.has(step.service));
  const stored = new Set<string>();
  for (let i = 0; i < builds.length; i += 8) {
    await Promise.all(
      builds.slice(i, i + 8).map(async (step) => {
        if (step.keyRef !== null && (await registry.digest(step.keyRef, io.signal)) !== null) stored.add(step.service);
      }),
    );
  }
  io.stderr.write(`dockmk: the registry holds ${stored.size} of ${weights.size} services under their build key; ${weights.size - stored.size} to build\n`);
  return new Map([...weights].filter(([name]) => !stored.has(name)));
}
