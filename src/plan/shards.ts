// --shard K/N: split services over N CI workers, every service in exactly one shard, balanced
// by weight with the longest-processing-time-first rule the legacy balancecontainers.py used:
// heaviest first, each to the lightest shard so far. Unlike the legacy script, a service without
// a weight is not dropped: it weighs what history says, else 1 minute.

import { UsageError } from '../errors.js';

/** GitHub Actions runs at most 256 jobs from one matrix. */
export const MAX_SHARDS = 256;

export interface ShardSpec {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): ShardSpec {
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(text);
  const hint = 'write --shard K/N with 1 <= K <= N, e.g. --shard 2/4 for the second of four shards';
  if (!match) throw new UsageError(`--shard "${text}" is not of the form K/N`, { hint });
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count > MAX_SHARDS) throw new UsageError(`--shard ${text}: at most ${MAX_SHARDS} shards`, { hint });
  if (index > count) throw new UsageError(`--shard ${text}: shard ${index} of ${count} does not exist`, { hint });
  return { index, count };
}

export function parseShardCount(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SHARDS) {
    throw new UsageError(`--shards ${value} is not a number of shards`, { hint: `give a whole number from 1 to ${MAX_SHARDS}` });
  }
  return value;
}

export type WeightSource = 'config' | 'legacy-config' | 'history' | 'default';

export interface Weight {
  /** Minutes. */
  readonly minutes: number;
  readonly source: WeightSource;
}

export interface WeightSources {
  /** dockmk.yml `weights:`. */
  readonly config: Readonly<Record<string, number>>;
  /** util/parsefiles_config.yml `weights:`. */
  readonly legacy: Readonly<Record<string, number>>;
  /** Recent build durations in ms (discover/history.ts). */
  readonly history: ReadonlyMap<string, readonly number[]>;
}

/** Configuration first (dockmk.yml, then the legacy file), then the median recent build, else 1. */
export function weighServices(names: Iterable<string>, sources: WeightSources): Map<string, Weight> {
  const weights = new Map<string, Weight>();
  for (const name of names) {
    const durations = sources.history.get(name) ?? [];
    if (Object.hasOwn(sources.config, name)) weights.set(name, { minutes: sources.config[name] as number, source: 'config' });
    else if (Object.hasOwn(sources.legacy, name)) weights.set(name, { minutes: sources.legacy[name] as number, source: 'legacy-config' });
    else if (durations.length > 0) weights.set(name, { minutes: median(durations) / 60_000, source: 'history' });
    else weights.set(name, { minutes: 1, source: 'default' });
  }
  return weights;
}

export interface Shard extends ShardSpec {
  /** Sorted by name. */
  readonly services: readonly string[];
  /** Minutes. */
  readonly weight: number;
}

/** All `count` shards (some may be empty when there are fewer services than shards). */
export function balanceShards(weights: ReadonlyMap<string, Weight>, count: number): Shard[] {
  const shards = Array.from({ length: count }, () => ({ services: [] as string[], weight: 0 }));
  const heaviestFirst = [...weights].sort(([a, wa], [b, wb]) => wb.minutes - wa.minutes || (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, weight] of heaviestFirst) {
    let lightest = shards[0] as (typeof shards)[number];
    for (const shard of shards) if (shard.weight < lightest.weight) lightest = shard;
    lightest.services.push(name);
    lightest.weight += weight.minutes;
  }
  return shards.map((shard, i) => ({ index: i + 1, count, services: shard.services.sort(), weight: shard.weight }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
