// Plans build, test, pkg, push and pull: which images to pull, which services to build from
// which rewritten Dockerfile under which tag, and what to tag and push. Pure and deterministic.

import type { PullPolicy as ConfigPullPolicy } from '../config/config.js';
import { DiscoveryError, UsageError } from '../errors.js';
import type { Checkout, Service, ServiceBase } from '../model/checkout.js';
import { buildWaves, withAncestors } from '../model/graph.js';
import { formatImageRef, imageRef, parseImageRef, type ImageRef } from '../model/image-ref.js';
import { parseOverrides } from '../model/overrides.js';
import { buildInputs, ownedPaths, type InputSources } from './inputs.js';
import { renderDockerfile, type BaseEdit } from './render.js';
import { selectServices } from './select.js';
import {
  PLAN_VERSION,
  type BuildPlan,
  type BuildStep,
  type PlanStep,
  type PullPolicy,
  type PullStep,
  type PushStep,
  type TagStep,
} from './types.js';

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
}

/** The local tag each command gives a service's image. */
export function localTag(command: BuildCommand, service: string): ImageRef {
  return imageRef(service, command === 'build' ? 'build' : command === 'test' ? 'test' : 'latest');
}

/** Where a service is published: `[<registry>/]<namespace>/<svc>:<tag>`. */
export function publishedRef(options: Pick<PlanOptions, 'namespace' | 'registry'>, service: string, tag = 'latest'): ImageRef {
  return imageRef(`${options.namespace}/${service}`, tag, options.registry);
}

export function planBuild(checkout: Checkout, command: BuildCommand, requested: readonly string[], options: PlanOptions): BuildPlan {
  const selected = selectServices(checkout, requested, options.buildDir);
  // build uses the published parents; test, pkg and push build this checkout's parents first.
  const order =
    command === 'build' ? [...selected].sort() : buildWaves(checkout, withAncestors(checkout, selected)).flat();
  const pulls = new Map<string, PullStep>();
  const builds: BuildStep[] = [];
  const ownerOf = options.inputs ? ownedPaths(checkout, options.inputs.layout) : null;
  for (const name of order) {
    const service = checkout.services.get(name) as Service;
    const needs: string[] = [];
    const edits: BaseEdit[] = [];
    for (const base of service.bases) {
      if (base.parent !== null && command !== 'build') {
        const ref = localTag(command, base.parent);
        edits.push({ base, ref });
        needs.push(buildId(base.parent));
        continue;
      }
      const written = resolvedRef(service, base);
      const ref = base.parent !== null && options.registry !== null ? { ...written, domain: options.registry } : written;
      if (ref !== written) edits.push({ base, ref });
      const policy = pullPolicy(options.pull, command, base);
      if (policy !== null) {
        const pull = addPull(pulls, ref, policy);
        needs.push(pull.id);
      }
    }
    if (service.overrides !== null) parseOverrides(service.overrides);
    const bases = service.bases.map((base) => edits.find((edit) => edit.base === base)?.ref ?? resolvedRef(service, base));
    const from = bases.filter((_, i) => service.bases[i]?.instruction === 'FROM');
    const content = renderDockerfile(service.dockerfile, edits);
    builds.push({
      kind: 'build',
      id: buildId(name),
      needs: unique(needs),
      service: name,
      tag: localTag(command, name),
      dockerfile: service.dockerfile.path,
      from,
      content,
      bases,
      buildArgs: options.buildArgs,
      noCache: options.noCache,
      inputs: options.inputs && ownerOf ? buildInputs(service, content, options.buildArgs, options.inputs, ownerOf) : null,
    });
  }
  const steps: PlanStep[] = [...pulls.values(), ...builds];
  if (command === 'push') steps.push(...publishSteps(selected, options));
  return { version: PLAN_VERSION, command, root: checkout.root, steps };
}

/** push: tag every requested service for the registry, then push; parents are not pushed. */
function publishSteps(selected: readonly string[], options: PlanOptions): PlanStep[] {
  const tags: TagStep[] = [];
  const pushes: PushStep[] = [];
  for (const name of [...selected].sort()) {
    const target = publishedRef(options, name);
    const tag: TagStep = { kind: 'tag', id: `tag ${formatImageRef(target)}`, needs: [buildId(name)], source: localTag('push', name), target };
    tags.push(tag);
    pushes.push({ kind: 'push', id: `push ${formatImageRef(target)}`, needs: [tag.id], service: name, image: target });
  }
  return [...tags, ...pushes];
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

function addPull(pulls: Map<string, PullStep>, image: ImageRef, policy: PullPolicy): PullStep {
  const id = `pull ${formatImageRef(image)}`;
  const known = pulls.get(id);
  const step: PullStep = { kind: 'pull', id, needs: [], image, policy: known?.policy === 'always' ? 'always' : policy };
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
