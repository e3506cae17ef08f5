// dockmk build|test|pkg|push [services..]: the legacy docker.mk targets.

import type { Argv } from 'yargs';
import { ConfigError } from '../errors.js';
import type { Config } from '../config/config.js';
import type { ContextListing } from '../discover/context.js';
import { readRevision, type RevisionInfo } from '../discover/revision.js';
import { modelSources, type ParsedSources } from '../plan/parsed-sources.js';
import type { BuildCommand } from '../plan/plan.js';
import type { BuildPlan } from '../plan/types.js';
import { flavorOptions, flavorPlanOptions, type FlavorArgs } from './flavor.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { imageOptions, publishOptions, publishTags, runOptions, runOrPrint, type ImageArgs, type PublishArgs, type RunArgs } from './run.js';
import { releaseOptions, resolveBaseDigests, reuseFrom, stageTags, type ReleaseArgs } from './release.js';
import { planSelection } from './selection.js';
import { openSession, planOptions, readInputs, type Io } from './session.js';

export interface BuildArgs extends GlobalArgs, RunArgs, SelectionArgs, FlavorArgs, PublishArgs, ImageArgs, ReleaseArgs {
  services?: string[];
}

export function buildCommand(command: BuildCommand, io: Io) {
  return {
    builder: (yargs: Argv) =>
      releaseOptions(buildOptions(yargs)).positional('services', {
        type: 'string',
        array: true,
        describe: 'Services to act on (default: every service)',
      }),
    handler: async (args: BuildArgs): Promise<void> => {
      const planned = await planCommand(command, args, io);
      if (planned !== null) await runOrPrint(planned.plan, planned.config, args, io, planned.listing, planned.parsed);
    },
  };
}

/** The options of every command that plans builds (push, and promote, which plans its keys). */
export function buildOptions(yargs: Argv) {
  return publishOptions(imageOptions(flavorOptions(selectionOptions(runOptions(globalOptions(yargs))))));
}

/** discover → model → plan for a build command; null when nothing is selected (and not --dry-run). */
export async function planCommand(command: BuildCommand, args: BuildArgs, io: Io): Promise<{ plan: BuildPlan; config: Config; listing: ContextListing; parsed: ParsedSources } | null> {
  const flavored = flavorPlanOptions(args, io);
  // git answers while the checkout is read and hashed: started first, since reading never yields.
  let reading: Promise<RevisionInfo> | undefined;
  const session = await openSession(args, io, (config) => (reading = readRevision(config.root, io.env, config.publish.defaultBranch)));
  const { config, checkout } = session;
  const { listing, inputs } = await readInputs(config, checkout, io);
  const revision = await (reading as Promise<RevisionInfo>);
  if (args.stage && command !== 'push') throw new ConfigError(`--stage is an option of push, not of ${command}`, { hint: 'stage with `dockmk push --stage`, then `dockmk promote`' });
  const tags = command !== 'push' ? undefined : args.stage ? stageTags(config, revision) : publishTags(config, revision);
  const reuse = reuseFrom(args);
  const options = {
    ...planOptions(config),
    ...flavored,
    inputs,
    revision,
    ...(tags ? { publishTags: tags } : {}),
    ...(args.parents ? { parents: args.parents } : {}),
    ...(reuse ? { reuse } : {}),
    stage: args.stage ?? false,
    ...(session.overridesChecked ? { overridesChecked: session.overridesChecked } : {}),
  };
  const plan = await planSelection(command, args, session, options, io, async (first) => {
    // --pull always: fresh digests of the images from elsewhere join the keys (a new base, new keys).
    if (config.pull !== 'always') return null;
    const baseDigests = await resolveBaseDigests(first, config, io);
    return baseDigests.size > 0 ? { ...options, baseDigests } : null;
  });
  session.saveCaches?.();
  return plan === null ? null : { plan, config, listing, parsed: modelSources(checkout, config.buildArgs) };
}
