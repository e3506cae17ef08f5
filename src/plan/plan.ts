// Plans build, test, pkg, push and pull: which images to pull, which services to build from
// which rewritten Dockerfile under which tag, and what to tag and push. Pure and deterministic.

import type { Tag } from './tags.js';
import type { PullPolicy as ConfigPullPolicy } from '../config/config.js';
import { ConfigError, DiscoveryError, UsageError } from '../errors.js';
import type { Checkout, Service, ServiceBase } from '../model/checkout.js';
import type { ParseMemo } from '../model/memo.js';
import { buildWaves, withAncestors } from '../model/graph.js';
import { formatImageRef, imageRef, parseImageRef, type ImageRef } from '../model/image-ref.js';
import { checkOverrides, layerOverrides, parseOverrides, renderOverrides, type OverrideLayer, type Overrides } from '../model/overrides.js';
import { applyFlavor, flavorSuffix, type Flavor } from './flavor.js';
import { indexInputs, serviceInputs, type InputSources } from './inputs.js';
import { buildKey, keyRefOf, type KeyBase } from './keys.js';
import { ociLabels, type LabelRevision } from './labels.js';
import { keySteps, LATEST_ONLY, publishedRef, publishSteps } from './publish.js';
import { renderDockerfile, type BaseEdit } from './render.js';
import { selectServices } from './select.js';
import {
  PLAN_VERSION,
  type BuildPlan,
  type BuildStep,
  type PlanStep,
  type PullPolicy,
  type PullStep,
  type ReuseFrom,
} from './types.js';

export { publishedRef } from './publish.js';

export type BuildCommand = 'build' | 'test' | 'pkg' | 'push';

export interface PlanOptions {
  readonly namespace: string;
  readonly registry: string | null;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  readonly pull: ConfigPullPolicy;
  /** Where services live, for messages. */
  readonly buildDir?: string;
  /** File digests and layout: with them each build step carries the digest of its inputs. */
  readonly inputs?: InputSources;
  /** plain (default): without the `devstack:install` tasks; devstack: with them. */
  readonly flavor?: Flavor;
  /** Values layered over the selected services' ansible_overrides.yml, for this run only. */
  readonly overrides?: readonly OverrideLayer[];
  /** push: the tags each image is published under (src/plan/tags.ts); default `latest` only. */
  readonly publishTags?: readonly Tag[];
  /** The user's labels (`--label`, dockmk.yml); they join the input hash. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The commit the images are built from, for the OCI labels; absent: the title only. */
  readonly revision?: LabelRevision;
  /** Cache sources; `{service}` stands for the service's name. */
  readonly cacheFrom?: readonly string[];
  /**
   * push: `local` (default, as the legacy): build this checkout's parents first, as pkg does;
   * `published`: build on the published parents, as build does (a CI wave whose parents an
   * earlier wave pushed), and publish the `<svc>:build` images.
   */
  readonly parents?: 'local' | 'published';
  /** push: publish only the immutable refs (key, sha); `promote` moves the others. */
  readonly stage?: boolean;
  /** Where a build may be found already built; default `registry` for push, else `local`. */
  readonly reuse?: ReuseFrom;
  /**
   * Registry digests of images from elsewhere, resolved before planning (`--pull always`), by
   * reference as written: they join the build keys, and the Dockerfile is pinned to them.
   */
  readonly baseDigests?: ReadonlyMap<string, string>;
  /**
   * Which overrides files are known valid (an earlier run checked them and they are unchanged),
   * by path; planning checks the others and tells it which passed.
   */
  readonly overridesChecked?: ParseMemo<true>;
}

/** The local tag each command gives a service's image: `nginx:test`, `nginx:test-devstack`. */
export function localTag(command: BuildCommand, service: string, flavor: Flavor = 'plain'): ImageRef {
  return imageRef(service, `${command === 'build' ? 'build' : command === 'test' ? 'test' : 'latest'}${flavorSuffix(flavor)}`);
}

export function planBuild(checkout: Checkout, command: BuildCommand, requested: readonly string[], options: PlanOptions): BuildPlan {
  const selected = selectServices(checkout, requested, options.buildDir);
  // build (and push --parents published) uses the published parents; test, pkg and push
  // build this checkout's parents first.
  const onPublished = command === 'build' || (command === 'push' && options.parents === 'published');
  const builtAs: BuildCommand = onPublished ? 'build' : command;
  const order = onPublished ? [...selected].sort() : buildWaves(checkout, withAncestors(checkout, selected)).flat();
  const pulls = new Map<string, PullStep>();
  const builds = new Map<string, BuildStep>();
  // A push: each build's key tag and push right after it.
  const pushing: PlanStep[] = [];
  const index = options.inputs ? indexInputs(checkout, options.inputs) : null;
  const flavor = options.flavor ?? 'plain';
  const reuse = options.reuse ?? (command === 'push' ? 'registry' : 'local');
  for (const name of order) {
    const service = checkout.services.get(name) as Service;
    const needs: string[] = [];
    const edits: BaseEdit[] = [];
    const keyBases: KeyBase[] = [];
    const fetch: ImageRef[] = [];
    for (const base of service.bases) {
      const instruction = base.instruction === 'FROM' ? 'FROM' : 'COPY';
      const parent = base.parent !== null && !onPublished ? builds.get(base.parent) : undefined;
      if (parent !== undefined) {
        keyBases.push({ instruction, kind: 'service', service: parent.service, key: parent.key ?? '' });
        // A push builds on the parent's key ref, never on a tag someone may be moving: this
        // run's build of it, or the registry's when it was built before (pulled if missing).
        if (command === 'push' && parent.keyRef !== null) {
          edits.push({ base, ref: parent.keyRef });
          if (!fetch.some((ref) => formatImageRef(ref) === formatImageRef(parent.keyRef as ImageRef))) fetch.push(parent.keyRef);
          needs.push(`tag ${formatImageRef(parent.keyRef)}`);
        } else {
          edits.push({ base, ref: parent.tag });
          needs.push(parent.id);
        }
        continue;
      }
      const written = resolvedRef(service, base);
      // build: a parent is the published image, wherever this run publishes to.
      const named = base.parent !== null ? { ...publishedRef(options, base.parent), tag: written.tag, digest: written.digest } : written;
      const resolved = named.digest === null ? options.baseDigests?.get(formatImageRef(named)) : undefined;
      const ref = resolved === undefined ? named : { ...named, digest: resolved };
      keyBases.push({ instruction, kind: 'image', image: formatImageRef(ref) });
      // A named context's image (bake `docker-image://`) is written in place of the name.
      if (base.via !== null || formatImageRef(ref) !== formatImageRef(written)) edits.push({ base, ref });
      const policy = pullPolicy(options.pull, builtAs, base);
      if (policy !== null) {
        const pull = addPull(pulls, ref, policy);
        needs.push(pull.id);
      }
    }
    // Layered over the services asked for, not over the parents a test or pkg builds first.
    const layers = selected.includes(name) ? (options.overrides ?? []) : [];
    if (service.overrides !== null && layers.length === 0 && options.overridesChecked?.get(service.overrides.path) !== true) {
      checkOverrides(service.overrides);
      options.overridesChecked?.set(service.overrides.path, true);
    }
    const overrides = layered(service, service.overrides !== null && layers.length > 0 ? parseOverrides(service.overrides) : null, layers);
    const bases = service.bases.map((base) => edits.find((edit) => edit.base === base)?.ref ?? resolvedRef(service, base));
    const from = bases.filter((_, i) => service.bases[i]?.instruction === 'FROM');
    const content = applyFlavor(service.dockerfile, renderDockerfile(service.dockerfile, edits), flavor);
    const userLabels = options.labels ?? {};
    const cacheFrom = cacheSources(options.cacheFrom ?? [], name);
    for (const ref of cacheFrom) needs.push(addPull(pulls, ref, 'always', true).id);
    const buildArgs = Object.keys(service.args).length === 0 ? options.buildArgs : { ...service.args, ...options.buildArgs };
    const inputs = index ? serviceInputs(index, service, content, { buildArgs, flavor, labels: userLabels, files: overrides?.files ?? {} }) : null;
    const key = inputs ? buildKey(inputs, applyFlavor(service.dockerfile, service.dockerfile.text, flavor), keyBases) : null;
    const step: BuildStep = {
      kind: 'build',
      id: buildId(name),
      needs: unique(needs),
      service: name,
      tag: localTag(builtAs, name, flavor),
      flavor,
      dockerfile: service.dockerfile.path,
      context: service.context,
      from,
      content,
      bases,
      buildArgs,
      noCache: options.noCache,
      files: overrides?.files ?? {},
      labels: { ...ociLabels(name, options.revision ?? {}), ...userLabels },
      cacheFrom,
      overrides: overrides?.values ?? null,
      inputs,
      key,
      keyRef: key === null ? null : keyRefOf(options, name, key),
      reuse,
      fetch,
    };
    builds.set(name, step);
    if (command === 'push') pushing.push(step, ...keySteps(step));
  }
  if (command !== 'push') return { version: PLAN_VERSION, command, root: checkout.root, steps: [...pulls.values(), ...builds.values()] };
  const publish = { namespace: options.namespace, registry: options.registry, flavor, tags: options.publishTags ?? LATEST_ONLY, stage: options.stage ?? false };
  const steps: PlanStep[] = [...pulls.values(), ...pushing, ...publishSteps([...builds.values()], selected, publish)];
  return { version: PLAN_VERSION, command, root: checkout.root, steps };
}

/**
 * The service's overrides with this run's layers on top, as the file streamed in place of its
 * ansible_overrides.yml; null when the run layers nothing.
 */
function layered(
  service: Service,
  own: Overrides | null,
  layers: readonly OverrideLayer[],
): { values: Overrides; files: Readonly<Record<string, string>> } | null {
  if (layers.length === 0) return null;
  if (service.overrides === null || own === null) {
    throw new UsageError(`--override/--overrides: service ${service.name} has no ansible_overrides.yml to layer the values over`, {
      hint: `create docker/build/${service.name}/ansible_overrides.yml, copy it into the image and pass it to the play with --extra-vars=@…`,
    });
  }
  const values = layerOverrides(own, layers);
  return { values, files: { [service.overrides.path]: renderOverrides(service.overrides.path, values, layers) } };
}

/**
 * auto: a published parent (build mode) is pulled every time, as the registry's copy is the
 * point; other images only when missing. `never` leaves pulling to the engine.
 */
function pullPolicy(policy: ConfigPullPolicy, command: BuildCommand, base: ServiceBase): PullPolicy | null {
  if (policy === 'never') return null;
  if (policy === 'always' || policy === 'missing') return policy;
  return command === 'build' && base.parent !== null ? 'always' : 'missing';
}

function resolvedRef(service: Service, base: ServiceBase): ImageRef {
  if (base.source.kind === 'image') return base.source.ref;
  const reason = base.source.kind === 'unresolved' ? base.source.reason : `"${base.image}" is not an image`;
  throw new DiscoveryError(service.dockerfile.path, base.line, reason, {
    hint: 'give the ARG a default or pass --build-arg NAME=value',
  });
}

/** --cache-from: each reference with `{service}` filled in. */
function cacheSources(templates: readonly string[], service: string): ImageRef[] {
  return templates.map((template) => {
    const parsed = parseImageRef(template.replaceAll('{service}', service));
    if (!parsed.ok) {
      throw new ConfigError(`--cache-from "${template}": ${parsed.reason}`, {
        hint: 'give an image reference, where {service} stands for the service, e.g. ghcr.io/my-org/{service}:latest',
      });
    }
    return parsed.ref;
  });
}

function addPull(pulls: Map<string, PullStep>, image: ImageRef, policy: PullPolicy, optional = false): PullStep {
  const id = `pull ${formatImageRef(image)}`;
  const known = pulls.get(id);
  // A base the build cannot do without is never optional, even if it is also a cache source.
  const step: PullStep = {
    kind: 'pull',
    id,
    needs: [],
    image,
    policy: known?.policy === 'always' ? 'always' : policy,
    optional: (known?.optional ?? true) && optional,
  };
  pulls.set(id, step);
  return step;
}

function buildId(service: string): string {
  return `build ${service}`;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * pull: each argument is a service of this checkout (its published image) or an image
 * reference; `@` may stand for `:` as in the legacy `docker.pull/edxops/forum@latest`.
 */
export function planPull(checkout: Checkout, requested: readonly string[], options: PlanOptions): BuildPlan {
  const names = requested.length > 0 ? requested : [...checkout.services.keys()];
  const pulls = new Map<string, PullStep>();
  for (const name of names) {
    const image = checkout.services.has(name) ? publishedRef(options, name) : parsePullArgument(name);
    addPull(pulls, image, 'always');
  }
  return { version: PLAN_VERSION, command: 'pull', root: checkout.root, steps: [...pulls.values()] };
}

function parsePullArgument(text: string): ImageRef {
  const legacy = /@(?![A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$)([^@]+)$/;
  const parsed = parseImageRef(text.replace(legacy, ':$1'));
  if (!parsed.ok) {
    throw new UsageError(`"${text}" is neither a service of this checkout nor an image reference: ${parsed.reason}`, {
      hint: 'name a service (`dockmk list`) or an image such as edxops/forum:latest',
    });
  }
  return parsed.ref;
}
