// The services `services:` in dockmk.yml or a bake file declares: their Dockerfiles matched with
// globby (loaded only here, only when patterns are configured) or read from the bake file (HCL
// through @cdktn/hcl2json, loaded only for an HCL file). The legacy layout never comes here.

import { posix } from 'node:path';
import type { Config, ServiceEntry, ServicesSetting } from '../config/config.js';
import { ConfigError, DiscoveryError } from '../errors.js';
import type { ContextValue, ServiceLayout, ServiceSpec } from '../model/layout.js';
import { bakeLayout, parseContextValue } from './bake.js';
import type { CheckoutFiles } from './files.js';

const GLOB = /[*?[\]{}()!]/;

/** The declared layout, or null for the legacy one (docker/build/<svc>/Dockerfile). */
export async function discoverLayout(config: Config, files: CheckoutFiles, env: Readonly<Record<string, string | undefined>> = process.env): Promise<ServiceLayout | null> {
  if (config.bake !== null) return readBake(config.bake, files, env);
  if (config.services !== null) return { kind: 'services', file: 'dockmk.yml', specs: await matchServices(config.services, config.root), groups: {}, warnings: [] };
  return null;
}

async function readBake(path: string, files: CheckoutFiles, env: Readonly<Record<string, string | undefined>>): Promise<ServiceLayout> {
  const found = files.read(path);
  if (found === null || found.kind !== 'file' || found.text === null) {
    throw new ConfigError(`bake file ${path}: ${found === null ? 'no such file' : 'not a file'}`, { hint: 'give the path of a docker-bake.hcl or docker-bake.json inside the checkout' });
  }
  const text = found.text;
  let json: unknown;
  if (path.endsWith('.json')) {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
    }
  } else {
    // The parser is Go compiled to WebAssembly, run once: V8's baseline compiler is enough, and
    // without this the process waits ~0.5 s at exit for the optimizing tier it started in the
    // background (`npm run bench`, start-up). Set before the module is compiled; nothing else
    // dockmk runs is WebAssembly.
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--liftoff-only');
    const { parse } = (await import('@cdktn/hcl2json')) as { parse: (file: string, text: string) => Promise<unknown> };
    try {
      json = await parse(path, text);
    } catch (error) {
      // "parse config: [images/docker-bake.hcl:2,13-3,1: Invalid expression; …]"
      const message = String((error as Error).message ?? error);
      const match = /\[([^\]:]+):(\d+),\d+(?:-\d+(?:,\d+)?)?: ([^\]]*)\]/.exec(message);
      throw new ConfigError(match ? `${path}:${match[2]}: ${(match[3] as string).replace(/;\s*/, ': ')}` : `${path}: ${message.split('\n')[0]}`, { hint: 'fix the HCL; `docker buildx bake --print` reads it the same way' });
    }
  }
  return bakeLayout({ path, text, json }, env);
}

/** Each entry's Dockerfiles, in order (`!` patterns narrow every pattern entry): a later entry of the same name replaces an earlier one. */
async function matchServices(setting: ServicesSetting, root: string): Promise<ServiceSpec[]> {
  const needsGlobby = setting.entries.some((entry) => entry.dockerfile.some((pattern) => GLOB.test(pattern)));
  const globby = needsGlobby ? (await import('globby')).globby : null;
  const specs = new Map<string, ServiceSpec>();
  for (const entry of setting.entries) {
    const exact = entry.dockerfile.every((pattern) => !GLOB.test(pattern));
    // Negations narrow the patterns; a Dockerfile named exactly is meant as it is.
    const matches = exact
        ? entry.dockerfile.map((path) => posix.normalize(path))
        : await (globby as NonNullable<typeof globby>)([...entry.dockerfile, ...setting.negations.map((pattern) => `!${pattern}`)], {
            cwd: root,
            onlyFiles: true,
            dot: false,
            followSymbolicLinks: false,
            ignore: ['**/node_modules/**', '**/.git/**'],
          });
    if (matches.length === 0 && !exact) throw new ConfigError(`${entry.where}: services: ${entry.dockerfile.join(', ')} matches no file`, { hint: 'patterns are relative to the checkout root, e.g. images/*/Dockerfile' });
    if (entry.name !== null && matches.length > 1) {
      throw new ConfigError(`${entry.where}: services: "${entry.name}" is one service, but ${entry.dockerfile.join(', ')} matches ${matches.length} files`, { hint: 'give one Dockerfile, or leave out the name so that each is named by its directory' });
    }
    const made = new Map<string, string>();
    for (const dockerfile of [...matches].sort()) {
      const name = entry.name ?? posix.basename(posix.dirname(dockerfile));
      const twice = made.get(name);
      if (twice !== undefined) {
        throw new ConfigError(`${entry.where}: services: ${twice} and ${dockerfile} would both be the service "${name}"`, { hint: 'name them in entries of their own (name: …), or narrow the pattern' });
      }
      made.set(name, dockerfile);
      specs.delete(name);
      specs.set(name, specOf(entry, name, dockerfile));
    }
  }
  return [...specs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

function specOf(entry: ServiceEntry, name: string, dockerfile: string): ServiceSpec {
  const context = entry.context === null ? '.' : entry.context === '{dir}' ? posix.dirname(dockerfile) : posix.normalize(entry.context.replace(/\/+$/, ''));
  if (context === '..' || context.startsWith('../') || posix.isAbsolute(context)) {
    throw new DiscoveryError(entry.where, undefined, `services: context "${entry.context}" lies outside the checkout`, { hint: 'give a directory relative to the checkout root' });
  }
  const contexts: Record<string, ContextValue> = {};
  for (const [key, value] of Object.entries(entry.contexts)) {
    // dockmk.yml names a service plainly; bake's target: and docker-image:// forms are taken too.
    const parsed = parseContextValue(value);
    contexts[key] = parsed.kind === 'other' ? { kind: 'service', service: value } : parsed;
  }
  return { name, dockerfile, context, args: entry.args, contexts, tags: [], origin: entry.where };
}
