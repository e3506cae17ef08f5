// `dockmk matrix`: the shards as a GitHub Actions matrix, `{"include":[{"shard":"1/4",
// "services":"a b"}]}`. Each entry names its services: a shard job builds exactly those, so a
// runner whose history weighs services differently cannot shift a service to another shard.
// Empty shards are left out (a job with no service would build every service).
//
// With waves, the services are first split by depth in the FROM graph of the selection (a
// service's affected parents are all in earlier waves), then each wave is sharded: a workflow
// runs wave after wave and hands images over through a registry.

import type { Checkout } from '../model/checkout.js';
import { buildWaves } from '../model/graph.js';
import { balanceShards, type Weight } from './shards.js';

export interface MatrixEntry {
  /** `K/N`, within its wave when there are waves. */
  readonly shard: string;
  /** Space-separated, sorted. */
  readonly services: string;
  /** Minutes, rounded to a hundredth. */
  readonly weight: number;
  readonly wave?: number;
}

export interface GithubMatrix {
  readonly include: readonly MatrixEntry[];
}

export interface MatrixOptions {
  readonly shards: number;
  readonly waves: boolean;
}

export function githubMatrix(checkout: Checkout, weights: ReadonlyMap<string, Weight>, options: MatrixOptions): GithubMatrix {
  const groups = options.waves ? buildWaves(checkout, new Set(weights.keys())) : [[...weights.keys()]];
  const include: MatrixEntry[] = [];
  groups.forEach((names, i) => {
    const wave = new Map(names.map((name) => [name, weights.get(name) as Weight]));
    for (const shard of balanceShards(wave, options.shards)) {
      if (shard.services.length === 0) continue;
      const entry = { shard: `${shard.index}/${shard.count}`, services: shard.services.join(' '), weight: Math.round(shard.weight * 100) / 100 };
      include.push(options.waves ? { ...entry, wave: i + 1 } : entry);
    }
  });
  return { include };
}
