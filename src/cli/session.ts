// What every command starts with: configuration, then the checkout read and modelled.

import { join } from 'node:path';
import { loadConfig, type BuilderSetting, type Config } from '../config/config.js';
import { discoverCheckout } from '../discover/checkout.js';
import { listContext, type ContextListing } from '../discover/context.js';
import type { CheckoutFiles } from '../discover/files.js';
import { digestContext } from '../discover/digests.js';
import type { ParseMemo } from '../model/memo.js';
import type { RoleGraph } from '../model/roles.js';
import { playOwners, rolesRun, type PlayOwners } from '../model/service-plays.js';
import { buildCheckout, type Checkout, type DockerfileMemo } from '../model/checkout.js';
import type { Engine } from '../execute/engine.js';
import type { InputSources } from '../plan/inputs.js';
import { formatWarnings, type Output } from '../report/text.js';
import { configOverrides, type GlobalArgs } from './options.js';
import { listCheckout } from './plan-start.js';
export { listCheckout, ownState, planOptions } from './plan-start.js';
import { ansibleFiles, cachedFiles, readRoleGraph, saveCaches } from './read.js';
import { ansibleSetup } from './selection.js';

/** The process's surroundings, injected so tests can run commands in-process. */
export interface Io {
  readonly stdout: Output & { readonly isTTY?: boolean; readonly columns?: number };
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly now: () => number;
}

export interface Session {
  readonly config: Config;
  readonly checkout: Checkout;
  /** Where warnings go that are no command's output (a parse cache that could not be written). */
  readonly io?: Pick<Io, 'stderr'>;
  /**
   * Which overrides files an earlier run found valid, for planning to skip checking them again,
   * kept in the checkout's parse cache while the file is unchanged; `saveCaches` writes what
   * planning added.
   */
  readonly overridesChecked?: ParseMemo<true>;
  readonly saveCaches?: () => void;
}

export async function openSession(args: GlobalArgs, io: Io): Promise<Session> {
  return sessionOf(loadConfig(configOverrides(args), io.env, io.cwd), io);
}

/** The session of a configuration loaded already (`loadConfig(configOverrides(args), …)`). */
export async function sessionOf(config: Config, io: Io): Promise<Session> {
  const { checkout, files } = await readCheckout(config);
  saveCaches(io, files);
  if (checkout.warnings.length > 0) io.stderr.write(formatWarnings(checkout.warnings));
  return { config, checkout, io, overridesChecked: files.cache.memos<true>(), saveCaches: () => saveCaches(io, files) };
}

/** discover → model for the configured checkout, through its parse cache. */
export async function loadCheckout(config: Config, io?: Pick<Io, 'stderr'>): Promise<Checkout> {
  const { checkout, files } = await readCheckout(config);
  saveCaches(io, files);
  return checkout;
}

async function readCheckout(config: Config): Promise<{ checkout: Checkout; files: CheckoutFiles }> {
  const files = cachedFiles(config, 'checkout');
  const checkout = buildCheckout(await discoverCheckout(config, files), {
    namespace: config.namespace,
    fromNamespace: config.fromNamespace,
    registry: config.registry,
    buildArgs: config.buildArgs,
    playsDir: config.paths.plays,
    memo: files.cache.memos<DockerfileMemo>(),
  });
  return { checkout, files };
}

/** The build context and the digest of each of its files, for input hashes; `io` hears of a digest cache that could not be written. */
export async function readInputs(config: Config, checkout: Checkout, io?: Pick<Io, 'stderr'>, listed?: ContextListing): Promise<{ listing: ContextListing; inputs: InputSources }> {
  const warn = io === undefined ? undefined : (message: string): void => void io.stderr.write(`warning: ${message}\n`);
  const listing = listed ?? (await listCheckout(config, io));
  const files = await digestContext(listing, join(config.stateDir, 'cache', 'digests.json'), warn);
  const contexts = await contextDigests(config, checkout, warn);
  return { listing, inputs: { files, layout: config.paths, roles: rolesOfServices(config, checkout, listing, io), ...(contexts.size > 0 ? { contexts } : {}) } };
}

/**
 * Each service context that is a directory of the checkout, listed as the engine will get it
 * (with that directory's own .dockerignore, not the root's) and digested, by path from the root.
 */
async function contextDigests(config: Config, checkout: Checkout, warn?: (message: string) => void): Promise<Map<string, ReadonlyMap<string, string>>> {
  const dirs = [...new Set([...checkout.services.values()].map((service) => service.context).filter((dir) => dir !== '.'))].sort();
  const out = new Map<string, ReadonlyMap<string, string>>();
  for (const dir of dirs) {
    const own = await listContext(join(config.root, dir));
    const listing = { ...own, root: config.root, entries: own.entries.map((entry) => ({ ...entry, path: `${dir}/${entry.path}` })) };
    const cache = join(config.stateDir, 'cache', `digests-${dir.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
    out.set(dir, await digestContext(listing, cache, warn));
  }
  return out;
}

/**
 * The roles each service's play runs (its role closure), so that a role no play of a service
 * uses is not an input of that service.
 */
function rolesOfServices(config: Config, checkout: Checkout, listing: ContextListing, io?: Pick<Io, 'stderr'>): (service: string) => ReadonlySet<string> | null {
  const { graph, owners } = ansibleModel(config, checkout, listing, io);
  return rolesRun(graph, owners);
}

/**
 * The role graph and the plays each service runs, read from the files the context holds: the
 * listing serves as the walk of the roles and plays (one walk of the checkout, not two).
 */
export function ansibleModel(config: Config, checkout: Checkout, listing: ContextListing, io?: Pick<Io, 'stderr'>): { graph: RoleGraph; owners: PlayOwners } {
  const { dirs } = ansibleSetup(config);
  const existing = new Set(listing.entries.map((entry) => entry.path));
  const { graph } = readRoleGraph(ansibleFiles(config, listing), dirs, { io });
  return { graph: graph as RoleGraph, owners: playOwners(checkout, dirs, existing) };
}

/** The engine, with dockerode loaded only now: commands that need no engine start faster. */
export async function openEngine(address: string | undefined, io: Io, options: { builder?: BuilderSetting } = {}): Promise<Engine> {
  const { connectEngine } = await import('../execute/docker.js');
  return connectEngine(address, io.env, options);
}
