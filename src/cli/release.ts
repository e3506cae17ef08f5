// What build, push, promote and matrix share for a release across runners: the registry as the
// cache (--reuse), staging (--stage), and the digests of the images from elsewhere, resolved
// from their registries when --pull always asks for fresh ones, so that a new base gives new
// build keys on every runner alike.

import type { Argv } from 'yargs';
import type { Config } from '../config/config.js';
import { ConfigError, EngineError } from '../errors.js';
import type { Registry } from '../execute/registry.js';
import { formatImageRef } from '../model/image-ref.js';
import { computeTags, DEFAULT_TAG_RULES, isImmutable, type Revision, type Tag } from '../plan/tags.js';
import type { BuildPlan, ReuseFrom } from '../plan/types.js';
import type { Io } from './session.js';

export interface ReleaseArgs {
  reuse?: string;
  stage?: boolean;
}

export function releaseOptions<T>(yargs: Argv<T>): Argv<T & ReleaseArgs> {
  return yargs
    .option('reuse', {
      type: 'string',
      choices: ['local', 'registry'],
      describe: 'Where a build may already be: local (an image here with the same inputs) or registry (also its key-<hex> ref in the registry; the default for push)',
    })
    .option('stage', {
      type: 'boolean',
      default: false,
      describe: 'push: publish only the immutable refs (the build key and sha-<7>); `dockmk promote` moves branch, version and latest refs later',
    }) as Argv<T & ReleaseArgs>;
}

export function reuseFrom(args: ReleaseArgs): ReuseFrom | undefined {
  if (args.reuse === undefined) return undefined;
  if (args.reuse !== 'local' && args.reuse !== 'registry') throw new ConfigError(`--reuse ${args.reuse} is not known`, { hint: 'use local or registry' });
  return args.reuse;
}

/** --stage: the immutable refs of the tag rules: sha-<7> (and the long sha with --long-sha). */
export function stageTags(config: Config, revision: Revision): readonly Tag[] {
  return computeTags(revision, { ...DEFAULT_TAG_RULES, longSha: config.publish.longSha, latest: 'never' }).filter(isImmutable);
}

/** The registry API with the run's credentials. */
/** The registry client, its code (and Node's https and tls) loaded only now: a dry run never needs it. */
export async function registryFor(config: Config, io: Io): Promise<Registry> {
  const [{ loadCredentials }, { connectRegistry }] = await Promise.all([import('../execute/credentials.js'), import('../execute/registry.js')]);
  return connectRegistry({ credentials: loadCredentials(config.dockerConfigDir, io.env, config.registry), env: io.env });
}

/**
 * --pull always: the registry digest of every image the plan pulls each time (the images from
 * elsewhere, and the published parents of `build`), by reference as written. They join the
 * build keys, and the builds are pinned to them.
 */
export async function resolveBaseDigests(plan: BuildPlan, config: Config, io: Io): Promise<ReadonlyMap<string, string>> {
  const refs = plan.steps.flatMap((step) => (step.kind === 'pull' && step.policy === 'always' && !step.optional && step.image.digest === null ? [step.image] : []));
  if (refs.length === 0) return new Map();
  const registry = await registryFor(config, io);
  const digests = new Map<string, string>();
  for (const ref of refs) {
    let digest: string | null;
    try {
      digest = await registry.digest(ref, io.signal);
    } catch (error) {
      throw new EngineError(`--pull always: could not ask the registry for the digest of ${formatImageRef(ref)}: ${(error as Error).message}`, {
        hint: (error as EngineError).hint ?? 'is its registry reachable from here, with credentials if it needs them?',
      });
    }
    if (digest === null) {
      throw new EngineError(`--pull always: ${formatImageRef(ref)} is not in its registry`, { hint: 'check the FROM line (and its build args)' });
    }
    digests.set(formatImageRef(ref), digest);
  }
  return digests;
}
