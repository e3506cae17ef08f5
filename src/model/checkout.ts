// The checkout as a set of services and the FROM graph between them. Pure: it takes the raw
// files discover/ read and the settings that decide what a parent is.

import { posix } from 'node:path';
import type { RawCheckout, SourceFile } from './raw-checkout.js';
import { DiscoveryError } from '../errors.js';
import { externalBases, parseDockerfile, type BaseImage, type Dockerfile } from './dockerfile.js';
import { isPathComponent, parseImageRef, type ImageRef } from './image-ref.js';
import type { ContextValue, ServiceSpec } from './layout.js';
import type { ParseMemo } from './memo.js';

export interface Service {
  readonly name: string;
  readonly dockerfile: Dockerfile;
  readonly overrides: SourceFile | null;
  /** The docker play the Dockerfile runs (from its ansible-playbook line), else `<plays>/<svc>.yml`. */
  readonly play: string | null;
  /** Every image it reads from outside itself (FROM bases, COPY --from sources), in file order. */
  readonly bases: readonly ServiceBase[];
  /** Services of this checkout it builds on, sorted. */
  readonly parents: readonly string[];
  /** Its build context, relative to the root: '.' (the checkout, as in the legacy layout) or a directory. */
  readonly context: string;
  /** Its own build args (a bake target's `args`); --build-arg and dockmk.yml's buildArgs win over them. */
  readonly args: Readonly<Record<string, string>>;
  /** Named contexts its bases resolve through (bake `contexts`). */
  readonly contexts: Readonly<Record<string, ContextValue>>;
  /** A bake target's tags (shown; publishing names images by namespace). */
  readonly tags: readonly string[];
  /** Where it is declared (`dockmk.yml:12`, a bake target); null: found in the legacy layout. */
  readonly origin: string | null;
}

/** A base image, and the service of this checkout it names, if any. */
export interface ServiceBase extends BaseImage {
  readonly parent: string | null;
  /** The named context (bake `contexts`) it resolved through, if any. */
  readonly via: string | null;
}

export interface Warning {
  readonly file: string;
  readonly message: string;
}

export interface Checkout {
  readonly root: string;
  /** Sorted by name. */
  readonly services: ReadonlyMap<string, Service>;
  /** Directories under the build dir that are not services, and why (for messages). */
  readonly notServices: ReadonlyMap<string, string>;
  readonly warnings: readonly Warning[];
  /** Group name → services (a bake file's groups); names a selection may use. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** Where the services come from. */
  readonly layout: 'legacy' | 'services' | 'bake';
}

export interface ModelOptions {
  readonly namespace: string;
  /**
   * The namespace the Dockerfiles name this checkout's images by, when it is not `namespace`
   * (the images are published elsewhere): `FROM edxops/X` stays a parent with --namespace my-org.
   */
  readonly fromNamespace?: string;
  readonly registry: string | null;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly playsDir: string;
  /** Dockerfiles parsed in earlier runs (it is told what this one parses). */
  readonly memo?: ParseMemo<DockerfileMemo>;
  /** Dockerfiles parsed already in this run with these build args, by path (lint parses each first). */
  readonly parsed?: ReadonlyMap<string, Dockerfile>;
}

/**
 * A parsed Dockerfile as the parse cache keeps it: without its text (the cache has that), and
 * with the --build-arg value each of its global ARGs had (null: none), which the parse depends on.
 */
export interface DockerfileMemo {
  readonly buildArgs: Readonly<Record<string, string | null>>;
  readonly dockerfile: Omit<Dockerfile, 'text'>;
}

export function buildCheckout(raw: RawCheckout, options: ModelOptions): Checkout {
  const warnings: Warning[] = [...(raw.layout?.warnings ?? [])];
  const parsed: { name: string; dockerfile: Dockerfile; overrides: SourceFile | null; spec: ServiceSpec | null }[] = [];
  const notServices = new Map<string, string>();
  for (const service of raw.services) {
    if (service.dockerfile === null) {
      notServices.set(service.name, 'it has no file named exactly Dockerfile');
      continue;
    }
    if (!isPathComponent(service.name)) {
      const message = `"${service.name}" is not a valid image name, so it is not a service (use lowercase letters, digits, ".", "_" or "-")`;
      warnings.push({ file: service.dockerfile.path, message });
      notServices.set(service.name, 'its name is not a valid image name (lowercase letters, digits, ".", "_", "-")');
      continue;
    }
    const spec = service.spec ?? null;
    const dockerfile = parseMemoized(service.dockerfile, spec === null ? options : { ...options, buildArgs: { ...spec.args, ...options.buildArgs } });
    parsed.push({ name: service.name, dockerfile, overrides: service.overrides, spec });
  }
  const names = new Set(parsed.map((service) => service.name));
  const plays = new Set(raw.plays);
  const services = new Map<string, Service>();
  for (const { name, dockerfile, overrides, spec } of parsed) {
    const bases = externalBases(dockerfile).map((base) => resolveParent(base, spec, names, options));
    const parents = new Set(bases.flatMap((base) => (base.parent === null ? [] : [base.parent])));
    services.set(name, {
      name,
      dockerfile,
      overrides,
      play: findPlay(name, dockerfile, plays, options.playsDir),
      bases,
      parents: [...parents].sort(),
      context: spec?.context ?? '.',
      args: spec?.args ?? {},
      contexts: spec?.contexts ?? {},
      tags: spec?.tags ?? [],
      origin: spec?.origin ?? null,
    });
  }
  return { root: raw.root, services, notServices, warnings, groups: raw.layout?.groups ?? {}, layout: raw.layout?.kind ?? 'legacy' };
}

/**
 * The service a base builds on. A named context of the service's (bake `contexts`) comes first,
 * as buildx resolves it: `target:x` is the service x, `docker-image://ref` that image. Else
 * `<namespace>/<svc>`, or with `fromNamespace: ""` the bare name. A stage of the same Dockerfile
 * never gets here: the parser resolved it to the stage, as Docker does.
 */
function resolveParent(base: BaseImage, spec: ServiceSpec | null, names: ReadonlySet<string>, options: ModelOptions): ServiceBase {
  const context = spec !== null && Object.hasOwn(spec.contexts, base.image) ? (spec.contexts[base.image] as ContextValue) : null;
  if (context?.kind === 'service') {
    if (!names.has(context.service)) {
      throw new DiscoveryError(spec?.origin ?? base.image, undefined, `context ${base.image} of ${spec?.name} names "${context.service}", which is not a service`, { hint: 'name a service that `dockmk list` shows' });
    }
    return { ...base, parent: context.service, via: base.image };
  }
  if (context?.kind === 'image') {
    const parsed = parseImageRef(context.image);
    if (!parsed.ok) throw new DiscoveryError(spec?.origin ?? base.image, undefined, `context ${base.image} of ${spec?.name}: "${context.image}" ${parsed.reason}`);
    return { ...base, source: { kind: 'image', ref: parsed.ref }, parent: null, via: base.image };
  }
  return { ...base, parent: checkoutParent(base, names, options), via: null };
}

/** parseDockerfile, or what it gave in an earlier run for the same text and the same ARG values. */
function parseMemoized(source: SourceFile, options: ModelOptions): Dockerfile {
  const { buildArgs, memo } = options;
  const given = (name: string): string | null => (Object.hasOwn(buildArgs, name) ? (buildArgs[name] as string) : null);
  const known = memo?.get(source.path);
  if (known !== undefined && Object.entries(known.buildArgs).every(([name, value]) => given(name) === value)) {
    const { path, ...rest } = known.dockerfile;
    return { path, text: source.text, ...rest };
  }
  const ready = options.parsed?.get(source.path);
  const dockerfile = ready !== undefined && ready.text === source.text ? ready : parseDockerfile(source.path, source.text, buildArgs);
  if (memo !== undefined) {
    const { text: _text, ...rest } = dockerfile;
    memo.set(source.path, { buildArgs: Object.fromEntries(dockerfile.args.map((arg) => [arg.name, given(arg.name)])), dockerfile: rest });
  }
  return dockerfile;
}

/** The service a base names when it is `<namespace>/<svc>` (on Docker Hub or the configured registry). */
export function checkoutParent(
  base: BaseImage,
  names: ReadonlySet<string>,
  options: Pick<ModelOptions, 'namespace' | 'registry' | 'fromNamespace'>,
): string | null {
  const ref: ImageRef | null =
    base.source.kind === 'image' ? base.source.ref : base.source.kind === 'unresolved' ? base.source.repository : null;
  if (ref === null) return null;
  const hub = ref.domain === null || ref.domain === 'docker.io' || ref.domain === 'index.docker.io';
  if (!hub && ref.domain !== options.registry) return null;
  // fromNamespace "": `FROM base` names the service base (written without a registry).
  if (options.fromNamespace === '' && ref.domain === null && names.has(ref.path)) return ref.path;
  for (const namespace of new Set([options.namespace, options.fromNamespace || options.namespace])) {
    const name = ref.path.startsWith(`${namespace}/`) ? ref.path.slice(namespace.length + 1) : null;
    if (name !== null && names.has(name)) return name;
  }
  return null;
}

function findPlay(name: string, dockerfile: Dockerfile, plays: ReadonlySet<string>, playsDir: string): string | null {
  for (const run of dockerfile.playbookRuns) {
    const candidate = posix.join(playsDir, posix.basename(run.playbook));
    if (plays.has(candidate)) return candidate;
  }
  for (const extension of ['yml', 'yaml']) {
    const candidate = posix.join(playsDir, `${name}.${extension}`);
    if (plays.has(candidate)) return candidate;
  }
  return null;
}
