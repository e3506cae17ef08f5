// The checkout as a set of services and the FROM graph between them. Pure: it takes the raw
// files discover/ read and the settings that decide what a parent is.

import { posix } from 'node:path';
import type { RawCheckout, SourceFile } from '../discover/checkout.js';
import { externalBases, parseDockerfile, type BaseImage, type Dockerfile } from './dockerfile.js';
import { isPathComponent, type ImageRef } from './image-ref.js';
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
}

/** A base image, and the service of this checkout it names, if any. */
export interface ServiceBase extends BaseImage {
  readonly parent: string | null;
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
  const warnings: Warning[] = [];
  const parsed: { name: string; dockerfile: Dockerfile; overrides: SourceFile | null }[] = [];
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
    const dockerfile = parseMemoized(service.dockerfile, options);
    parsed.push({ name: service.name, dockerfile, overrides: service.overrides });
  }
  const names = new Set(parsed.map((service) => service.name));
  const plays = new Set(raw.plays);
  const services = new Map<string, Service>();
  for (const { name, dockerfile, overrides } of parsed) {
    const bases = externalBases(dockerfile).map((base) => ({ ...base, parent: checkoutParent(base, names, options) }));
    const parents = new Set(bases.flatMap((base) => (base.parent === null ? [] : [base.parent])));
    services.set(name, {
      name,
      dockerfile,
      overrides,
      play: findPlay(name, dockerfile, plays, options.playsDir),
      bases,
      parents: [...parents].sort(),
    });
  }
  return { root: raw.root, services, notServices, warnings };
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
  const dockerfile = parseDockerfile(source.path, source.text, buildArgs);
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
  for (const namespace of new Set([options.namespace, options.fromNamespace ?? options.namespace])) {
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
