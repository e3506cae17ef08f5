// Options shared by the commands, and their mapping onto configuration.

import type { Argv } from 'yargs';
import type { ConfigOverrides } from '../config/config.js';

export interface GlobalArgs {
  root?: string;
  json: boolean;
  namespace?: string;
  registry?: string;
  'build-arg'?: string[];
  cache: boolean;
  pull?: string;
  engine?: string;
  bake?: string;
}

export function globalOptions<T>(yargs: Argv<T>): Argv<T & GlobalArgs> {
  return yargs
    .option('root', { type: 'string', describe: 'The checkout to work on (default: the current directory)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON' })
    .option('namespace', { type: 'string', describe: "Namespace of this checkout's images (default: edxops)" })
    .option('registry', { type: 'string', describe: 'Registry host to publish to and pull from (default: Docker Hub)' })
    .option('build-arg', { type: 'string', array: true, describe: 'Set a build ARG, NAME=value (repeatable)' })
    .option('cache', { type: 'boolean', default: true, describe: 'Use the build cache (--no-cache to rebuild every layer)' })
    .option('pull', {
      type: 'string',
      choices: ['auto', 'always', 'missing', 'never'],
      describe: 'When to pull base images (auto: published parents always in build, others when missing)',
    })
    .option('engine', { type: 'string', describe: 'Docker engine address (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' })
    .option('bake', { type: 'string', requiresArg: true, describe: 'Take the services from this bake file (docker-bake.hcl or .json): its targets, contexts and groups' }) as Argv<T & GlobalArgs>;
}

/** Flags of the build commands that configuration can also set (cli/run.ts defines them). */
interface ConfigurableArgs {
  label?: string[];
  'cache-from'?: string[];
  builder?: string;
  tags?: string;
  latest?: string;
  'long-sha'?: boolean;
  retries?: number;
}

export function configOverrides(args: GlobalArgs & ConfigurableArgs): ConfigOverrides {
  return {
    labels: args.label,
    cacheFrom: args['cache-from'],
    builder: args.builder,
    tags: args.tags,
    latest: args.latest,
    longSha: args['long-sha'],
    retries: args.retries,
    root: args.root,
    namespace: args.namespace,
    registry: args.registry,
    buildArgs: args['build-arg'],
    noCache: !args.cache,
    pull: args.pull,
    bake: args.bake,
  };
}

/** What narrows the services a command acts on (cli/selection.ts). */
export interface SelectionArgs {
  since?: string;
  range?: string;
  files?: string;
  shard?: string;
  'with-children': boolean;
}

export function selectionOptions<T>(yargs: Argv<T>): Argv<T & SelectionArgs> {
  return yargs
    .option('since', { type: 'string', requiresArg: true, describe: 'Only services affected since REF (its merge base with HEAD, to the working tree)' })
    .option('range', { type: 'string', requiresArg: true, describe: 'Only services affected by the commits A..B' })
    .option('files', { type: 'string', requiresArg: true, describe: 'Only services affected by the paths listed in FILE (- for stdin), one per line' })
    .option('with-children', { type: 'boolean', default: false, describe: 'Add every descendant image of an affected service' })
    .option('shard', { type: 'string', requiresArg: true, describe: 'Only shard K of N (K/N), balanced by weight' })
    .conflicts('since', ['range', 'files'])
    .conflicts('range', 'files') as Argv<T & SelectionArgs>;
}
