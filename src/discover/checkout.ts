// Reads what the model needs from a checkout: every docker/build/<svc>/ directory with its
// Dockerfile and overrides, and the docker plays that exist. Raw text only; no parsing.
// Synchronous on purpose: thousands of small reads are several times faster than through
// the promise API's thread pool (measured by `npm run bench` on a 2,000-service checkout).
// Through the parse cache (files.ts, parse-cache.ts), a file unchanged since the last run is
// not read again.

import { posix } from 'node:path';
import type { Config } from '../config/config.js';
import { DiscoveryError } from '../errors.js';
import type { ServiceLayout } from '../model/layout.js';
import { diskFiles, type CheckoutFiles } from './files.js';
import { discoverLayout } from './layout.js';
import { ParseCache } from './parse-cache.js';

// The raw checkout is the model's input type: model/raw-checkout.ts owns it.
export type { RawCheckout, RawService, SourceFile } from '../model/raw-checkout.js';
import type { RawCheckout, RawService, SourceFile } from '../model/raw-checkout.js';

/** `files`: where to read (default: the disk under config.root, uncached). */
export async function discoverCheckout(config: Config, files: CheckoutFiles = diskFiles(config.root, new ParseCache(null, config.root))): Promise<RawCheckout> {
  const { root, paths } = config;
  const layout = await discoverLayout(config, files);
  if (layout !== null) return declaredCheckout(config, files, layout);
  if (files.stat(paths.build)?.kind !== 'directory') {
    throw new DiscoveryError(paths.build, undefined, `no such directory in ${root}`, {
      hint: 'run dockmk from the root of a checkout laid out like the configuration repository, or pass --root <dir>',
    });
  }
  const build = posix.join(paths.build, '.');
  const prefix = build === '.' ? '' : `${build}/`;
  const services = files
    .list(paths.build)
    .filter((entry) => entry.kind === 'directory')
    .map((entry): RawService => {
      const dir = `${prefix}${entry.name}`;
      return {
        name: entry.name,
        dockerfile: readOptional(files, `${dir}/Dockerfile`),
        overrides: readOptional(files, `${dir}/ansible_overrides.yml`),
      };
    });
  return { root, services, plays: listPlays(config, files) };
}

function declaredCheckout(config: Config, files: CheckoutFiles, layout: ServiceLayout): RawCheckout {
  const services = layout.specs.map((spec): RawService => {
    const dockerfile = readOptional(files, spec.dockerfile);
    if (dockerfile === null) {
      throw new DiscoveryError(spec.dockerfile, undefined, `no such file (service ${spec.name}, declared at ${spec.origin})`, { hint: 'fix the dockerfile or context of that service' });
    }
    if (files.stat(spec.context)?.kind !== 'directory') {
      throw new DiscoveryError(spec.origin, undefined, `the context of ${spec.name}, ${spec.context}, is not a directory of the checkout`, { hint: 'give a directory relative to the checkout root' });
    }
    return { name: spec.name, dockerfile, overrides: readOptional(files, posix.join(posix.dirname(spec.dockerfile), 'ansible_overrides.yml')), spec };
  });
  return { root: config.root, services, plays: listPlays(config, files), layout };
}

function listPlays(config: Config, files: CheckoutFiles): string[] {
  // `dir/` as posix.join writes it before a name (nothing for the root): joined once, not once a play.
  const prefix = posix.join(config.paths.plays, '_').slice(0, -1);
  return files
    .list(config.paths.plays)
    .filter((entry) => entry.kind === 'file' && /\.ya?ml$/.test(entry.name))
    .map((entry) => `${prefix}${entry.name}`);
}

function readOptional(files: CheckoutFiles, path: string): SourceFile | null {
  const found = files.read(path);
  if (found?.kind === 'directory') throw new DiscoveryError(path, undefined, 'is a directory, not a file');
  return typeof found?.text === 'string' ? { path, text: found.text } : null;
}
