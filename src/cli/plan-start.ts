// What planning starts from before the checkout is read: the walk of the build context, and the
// options the configuration gives. Apart from session.ts, so that a dry run answered by the
// plan memo loads none of the model's and the planner's code.

import { isAbsolute, join, relative, sep } from 'node:path';
import type { Config } from '../config/config.js';
import { listContext, type ContextListing } from '../discover/context.js';
import { DirCache } from '../discover/dir-cache.js';
import type { PlanOptions } from '../plan/plan.js';
import type { Io } from './session.js';

export function planOptions(config: Config): PlanOptions {
  return {
    namespace: config.namespace,
    registry: config.registry,
    buildArgs: config.buildArgs,
    noCache: config.noCache,
    pull: config.pull,
    buildDir: config.paths.build,
    labels: config.labels,
    cacheFrom: config.cacheFrom,
  };
}

/** The build context of the checkout (the walk, through the directory cache). */
export async function listCheckout(config: Config, io?: Pick<Io, 'stderr'>): Promise<ContextListing> {
  const dirs = new DirCache(join(config.stateDir, 'cache', 'dirs.json'), config.root);
  const listing = await listContext(config.root, ownState(config), dirs);
  const problem = dirs.save();
  if (problem !== null) io?.stderr.write(`warning: ${dirs.file}: ${problem}\n`);
  return listing;
}

/** dockmk's state directory, relative to the checkout, when it lies inside it. */
export function ownState(config: Config): string[] {
  const inside = relative(config.root, config.stateDir);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? [inside.split(sep).join('/')] : [];
}
