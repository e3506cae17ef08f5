// The publishing part of a push plan, and of a promote plan. Every build's image goes to the
// registry once, under its key ref (the engine pushes its layers); every other ref a service
// is published under is then written registry-side from that key ref (a manifest copy: no
// layer moves). All or nothing, in three steps:
//   1. immutable refs (the key, sha-<7>) as soon as their own build is in;
//   2. mutable versioned refs (branch, git tag, semver) once every immutable ref of every
//      selected service is in: a failed build moves none of them;
//   3. `latest` last, once every versioned ref is in.

import { formatImageRef, imageRef, type ImageRef } from '../model/image-ref.js';
import { flavorSuffix, type Flavor } from './flavor.js';
import { isImmutable, type ReleaseRange, type Tag } from './tags.js';
import { PLAN_VERSION, type BuildPlan, type BuildStep, type PushStep, type TagStep } from './types.js';

export interface PublishOptions {
  readonly namespace: string;
  readonly registry: string | null;
  readonly flavor: Flavor;
  /** The tags each selected image is published under; default `latest` only. */
  readonly tags: readonly Tag[];
  /** Only the immutable refs (`push --stage`); mutable ones wait for `promote`. */
  readonly stage: boolean;
}

export const LATEST_ONLY: readonly Tag[] = Object.freeze([{ tag: 'latest', kind: 'latest' as const }]);

/** Where a service is published: `[<registry>/]<namespace>/<svc>:<tag>`. */
export function publishedRef(options: Pick<PublishOptions, 'namespace' | 'registry'>, service: string, tag = 'latest'): ImageRef {
  return imageRef(`${options.namespace}/${service}`, tag, options.registry);
}

/** A build's image into the registry under its key ref: tagged so, then pushed by the engine. */
export function keySteps(build: BuildStep): [TagStep, PushStep] {
  if (build.keyRef === null) throw new Error(`push plan without a build key for ${build.service}: plan it with input digests`);
  const tag: TagStep = { kind: 'tag', id: `tag ${formatImageRef(build.keyRef)}`, needs: [build.id], source: build.tag, target: build.keyRef };
  const push: PushStep = { kind: 'push', id: `push ${formatImageRef(build.keyRef)}`, needs: [tag.id], service: build.service, image: build.keyRef, source: null, follows: null, mutable: false };
  return [tag, push];
}

/** The selected services' refs, written from their key refs once those are pushed. */
export function publishSteps(builds: readonly BuildStep[], selected: readonly string[], options: PublishOptions): PushStep[] {
  const sources = new Map(builds.flatMap((build) => (build.keyRef === null ? [] : [[build.service, build.keyRef] as const])));
  return refSteps(refEntries([...selected].sort(), sources, options), (service) => [`push ${formatImageRef(sources.get(service) as ImageRef)}`]);
}

/** One ref to write from a service's key ref. */
export interface RefEntry {
  readonly service: string;
  readonly image: ImageRef;
  readonly source: ImageRef;
  readonly mutable: boolean;
  readonly latest: boolean;
  readonly follows: ReleaseRange | null;
}

/** The refs each service is published under (only the immutable ones when staging). */
export function refEntries(services: readonly string[], sources: ReadonlyMap<string, ImageRef>, options: PublishOptions): RefEntry[] {
  const tags = options.stage ? options.tags.filter(isImmutable) : options.tags;
  return services.flatMap((service) => {
    const source = sources.get(service);
    if (source === undefined) throw new Error(`no key ref for ${service}`);
    // The flavors never share a published tag either: latest, latest-devstack.
    return tags.map((tag) => ({
      service,
      image: publishedRef(options, service, `${tag.tag}${flavorSuffix(options.flavor)}`),
      source,
      mutable: !isImmutable(tag),
      latest: tag.kind === 'latest',
      follows: tag.follows ?? null,
    }));
  });
}

/**
 * The push steps writing `entries` registry-side. `after` names the steps a service's refs wait
 * for (its key push; none when promoting what is already there). Mutable refs wait for every
 * immutable one of every service (so for every build), latest for every versioned one.
 */
export function refSteps(entries: readonly RefEntry[], after: (service: string) => readonly string[]): PushStep[] {
  const step = (entry: RefEntry, needs: readonly string[]): PushStep => ({
    kind: 'push',
    id: `push ${formatImageRef(entry.image)}`,
    needs: [...new Set(needs)],
    service: entry.service,
    image: entry.image,
    source: entry.source,
    follows: entry.follows,
    mutable: entry.mutable,
  });
  const allAfter = [...new Set(entries.flatMap((entry) => after(entry.service)))];
  const immutable = entries.filter((entry) => !entry.mutable).map((entry) => step(entry, after(entry.service)));
  const immutableIds = immutable.map((s) => s.id);
  const versioned = entries.filter((entry) => entry.mutable && !entry.latest).map((entry) => step(entry, [...after(entry.service), ...allAfter, ...immutableIds]));
  const versionedIds = versioned.map((s) => s.id);
  const latest = entries.filter((entry) => entry.latest).map((entry) => step(entry, [...after(entry.service), ...allAfter, ...immutableIds, ...versionedIds]));
  // One repository's refs are written one after another: docker-registry answers concurrent
  // writes to one repository with errors now and then (HTTP 500), and each is one small request.
  const previous = new Map<string, string>();
  return [...immutable, ...versioned, ...latest].map((write) => {
    const before = previous.get(write.service);
    previous.set(write.service, write.id);
    return before === undefined || write.needs.includes(before) ? write : { ...write, needs: [...write.needs, before] };
  });
}

/** promote: the selected services' refs written from their key refs, which must all be there. */
export function planPromote(root: string, services: readonly string[], sources: ReadonlyMap<string, ImageRef>, options: PublishOptions): BuildPlan {
  return { version: PLAN_VERSION, command: 'promote', root, steps: refSteps(refEntries([...services].sort(), sources, options), () => []) };
}

/** promote --resume: the refs an earlier push or promote did not write, from the key refs it recorded. */
export function planResume(root: string, pending: readonly RefEntry[]): BuildPlan {
  return { version: PLAN_VERSION, command: 'promote', root, steps: refSteps(pending, () => []) };
}
