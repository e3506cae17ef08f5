// Configuration: defaults, then `dockmk.yml` at the checkout root, then DOCKMK_* environment
// variables, then flags. The result is one frozen object passed to every stage.

import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import { isDomain, isRepositoryPath } from '../model/image-ref.js';
import type { WriteBackTarget } from '../model/write-back.js';
import type { ServicesSetting } from './services.js';
import { BUILDERS, checkLabels, parseConfigFile, PUBLISH_EXAMPLES, PUBLISH_HINTS, PUBLISH_VALUES, readConfigText, type BuilderSetting, type FileConfig } from './file.js';

export { BUILDERS, type BuilderSetting } from './file.js';
export type { ServiceEntry, ServicesSetting } from './services.js';

export type PullPolicy = 'auto' | 'always' | 'missing' | 'never';

export interface Paths {
  /** Service directories: `<build>/<svc>/Dockerfile`. */
  readonly build: string;
  /** Docker plays: `<plays>/<svc>.yml`. */
  readonly plays: string;
  readonly roles: string;
  readonly playbooks: string;
}

export interface Config {
  /** Absolute path of the checkout. */
  readonly root: string;
  /** Namespace of this checkout's images, in FROM lines and when published (`edxops`). */
  readonly namespace: string;
  /**
   * The namespace FROM lines name this checkout's images by, if not `namespace` (`fromNamespace:`;
   * default edxops). Empty: by bare name (`FROM base` is the service base).
   */
  readonly fromNamespace: string;
  /** `services:`: the Dockerfiles that are services, when not the legacy layout; null: `<build>/<svc>/Dockerfile`. */
  readonly services: ServicesSetting | null;
  /** `bake:` or --bake: the bake file whose targets are the services (relative to the root); null: none. */
  readonly bake: string | null;
  /** Registry host the images are published to; null is Docker Hub. */
  readonly registry: string | null;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  readonly pull: PullPolicy;
  /** `builder:`, DOCKMK_BUILDER, --builder. */
  readonly builder: BuilderSetting;
  /** Directory holding Docker's client config.json (credentials). */
  readonly dockerConfigDir: string;
  /** dockmk's own state: history, logs, caches (`<root>/.dockmk`, or $DOCKMK_STATE_DIR). */
  readonly stateDir: string;
  readonly paths: Paths;
  /** Minutes each service takes to build, for --shard (`weights:` in dockmk.yml). */
  readonly weights: Readonly<Record<string, number>>;
  /**
   * Images from outside the checkout a service may build FROM (`externalBases:` in dockmk.yml),
   * as `repository[:tag]` patterns where `*` matches anything (`debian:*`, `ubuntu:*`).
   */
  readonly externalBases: readonly string[];
  /** Labels every image gets besides the OCI ones (`labels:`, `--label K=V`); part of the input hash. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Images the classic builder may take layers from (`cacheFrom:`, `--cache-from`), pulled first
   * when they can be; `{service}` stands for the service's name.
   */
  readonly cacheFrom: readonly string[];
  readonly publish: PublishConfig;
  /** push: YAML keys set to the pushed refs once the whole push succeeded (`writeBack:`; files relative to the root). */
  readonly writeBack: readonly WriteBackTarget[];
}

/** push: which tags to publish (src/plan/tags.ts) and how transfers retry. */
export interface PublishConfig {
  /** `latest`: the legacy tag only; `auto`: sha, branch, git tag, semver parts, latest. */
  readonly tags: 'latest' | 'auto';
  /** With `auto`: when `latest` moves. */
  readonly latest: 'default-branch' | 'always' | 'never';
  /** With `auto`: also `sha-<40 hex>`. */
  readonly longSha: boolean;
  /** The branch `latest` follows; null: origin's HEAD, else `main`. */
  readonly defaultBranch: string | null;
  /** Retries of a push or pull after a transient registry error. */
  readonly retries: number;
}

export const DEFAULT_PUBLISH: PublishConfig = Object.freeze({ tags: 'latest', latest: 'default-branch', longSha: false, defaultBranch: null, retries: 3 });

export const CONFIG_FILE = 'dockmk.yml';

/** The external bases `dockmk lint` accepts when dockmk.yml names none. */
export const DEFAULT_EXTERNAL_BASES: readonly string[] = Object.freeze(['debian:*', 'ubuntu:*']);

export const DEFAULT_PATHS: Paths = Object.freeze({
  build: 'docker/build',
  plays: 'docker/plays',
  roles: 'playbooks/roles',
  playbooks: 'playbooks',
});

/** What flags set; undefined leaves the value to the file, the environment or the default. */
export interface ConfigOverrides {
  root?: string | undefined;
  namespace?: string | undefined;
  registry?: string | undefined;
  buildArgs?: readonly string[] | undefined;
  noCache?: boolean | undefined;
  pull?: string | undefined;
  builder?: string | undefined;
  labels?: readonly string[] | undefined;
  cacheFrom?: readonly string[] | undefined;
  tags?: string | undefined;
  latest?: string | undefined;
  longSha?: boolean | undefined;
  retries?: number | undefined;
  bake?: string | undefined;
}

export function loadConfig(
  flags: ConfigOverrides,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): Config {
  const root = resolve(cwd, flags.root ?? '.');
  const text = readConfigText(join(root, CONFIG_FILE), CONFIG_FILE);
  const file = text === null ? {} : parseConfigFile(text, CONFIG_FILE);
  return resolveConfig(root, file, flags.bake === undefined ? flags : { ...flags, bake: resolve(cwd, flags.bake) }, env);
}

export function resolveConfig(
  root: string,
  file: FileConfig,
  flags: ConfigOverrides,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const namespace = flags.namespace ?? env.DOCKMK_NAMESPACE ?? file.namespace ?? 'edxops';
  if (namespace === '' || !isRepositoryPath(namespace)) {
    throw new ConfigError(`namespace "${namespace}" is not a valid repository path`, {
      hint: 'use lowercase letters, digits, ".", "_", "-" and "/" between parts, e.g. edxops or my-org/images',
    });
  }
  const fromNamespace = file.fromNamespace ?? 'edxops';
  if (fromNamespace !== '' && !isRepositoryPath(fromNamespace)) throw new ConfigError(`fromNamespace "${fromNamespace}" is not a valid repository path`, { hint: 'e.g. edxops, or "" for bare names (FROM base)' });
  const registryText = flags.registry ?? env.DOCKMK_REGISTRY ?? file.registry ?? '';
  const registry = normalizeRegistry(registryText);
  const pull = flags.pull ?? file.pull ?? 'auto';
  if (!['auto', 'always', 'missing', 'never'].includes(pull)) {
    throw new ConfigError(`pull policy "${pull}" is not known`, { hint: 'use auto, always, missing or never' });
  }
  // An empty DOCKMK_BUILDER is unset.
  const fromEnv = env.DOCKMK_BUILDER === '' ? undefined : env.DOCKMK_BUILDER;
  const builder = flags.builder ?? fromEnv ?? file.builder ?? 'auto';
  if (!(BUILDERS as readonly string[]).includes(builder)) {
    const where = flags.builder !== undefined ? '--builder' : fromEnv !== undefined ? 'DOCKMK_BUILDER' : 'dockmk.yml builder';
    throw new ConfigError(`${where} "${builder}" is not known`, { hint: 'use auto, buildkit or classic' });
  }
  const buildArgs = { ...file.buildArgs, ...parseBuildArgs(flags.buildArgs ?? [], env) };
  const labels = { ...file.labels, ...parseLabels(flags.labels ?? []) };
  const dockerConfigDir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  return Object.freeze({
    root,
    namespace,
    fromNamespace,
    registry,
    buildArgs: Object.freeze(buildArgs),
    noCache: flags.noCache ?? false,
    pull: pull as PullPolicy,
    builder: builder as BuilderSetting,
    dockerConfigDir,
    stateDir: resolve(root, env.DOCKMK_STATE_DIR ?? '.dockmk'),
    paths: Object.freeze({ ...DEFAULT_PATHS, ...file.paths }),
    weights: Object.freeze({ ...file.weights }),
    externalBases: Object.freeze([...(file.externalBases ?? DEFAULT_EXTERNAL_BASES)]),
    labels: Object.freeze(labels),
    cacheFrom: Object.freeze([...(flags.cacheFrom ?? file.cacheFrom ?? [])]),
    publish: resolvePublish(file.publish ?? {}, flags),
    writeBack: Object.freeze([...(file.writeBack ?? [])]),
    // --bake replaces what dockmk.yml declares.
    services: flags.bake !== undefined ? null : (file.services ?? null),
    bake: flags.bake !== undefined ? relativeBake(root, flags.bake) : (file.bake ?? null),
  });
}

/** --bake FILE, as a path relative to the root (it is given relative to the working directory). */
function relativeBake(root: string, path: string): string {
  const inside = relative(root, resolve(path));
  if (inside.startsWith('..') || isAbsolute(inside)) throw new ConfigError(`--bake ${path} lies outside the checkout ${root}`, { hint: 'give a bake file inside the checkout, or --root the checkout that holds it' });
  return inside.split(sep).join('/');
}

/** File values were checked at their line (checkPublishValue); flags are checked here, against the same table. */
function resolvePublish(file: Record<string, string>, flags: ConfigOverrides): PublishConfig {
  const value = (name: string, flag: string, given: string | number | boolean | undefined): string | undefined => {
    if (given === undefined) return file[name];
    if (PUBLISH_VALUES[name]?.test(String(given)) === false) {
      throw new ConfigError(`--${flag} ${String(given)} is not ${PUBLISH_HINTS[name]}`, { hint: `e.g. --${flag} ${PUBLISH_EXAMPLES[name]}` });
    }
    return String(given);
  };
  return Object.freeze({
    tags: (value('tags', 'tags', flags.tags) ?? DEFAULT_PUBLISH.tags) as PublishConfig['tags'],
    latest: (value('latest', 'latest', flags.latest) ?? DEFAULT_PUBLISH.latest) as PublishConfig['latest'],
    longSha: (value('longSha', 'long-sha', flags.longSha) ?? String(DEFAULT_PUBLISH.longSha)) === 'true',
    defaultBranch: file.defaultBranch ?? DEFAULT_PUBLISH.defaultBranch,
    retries: Number(value('retries', 'retries', flags.retries) ?? DEFAULT_PUBLISH.retries),
  });
}

/** `--label K=V`: every item must have a key Docker accepts and an `=`. */
export function parseLabels(items: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--label "${item}" is not KEY=VALUE`, { hint: 'write --label com.example.team=platform' });
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return checkLabels(labels, '--label');
}

function normalizeRegistry(text: string): string | null {
  const host = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (host === '' || host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return null;
  if (host.includes('/')) {
    throw new ConfigError(`registry "${text}" holds a path`, {
      hint: `give the host as --registry ${host.split('/')[0]} and the path as --namespace ${host.split('/').slice(1).join('/')}`,
    });
  }
  if (!isDomain(host)) throw new ConfigError(`registry "${text}" is not a valid registry host`, { hint: 'e.g. ghcr.io or localhost:5000' });
  return host;
}

/** `K=V` sets K; a bare `K` takes K from the environment, or is dropped when unset (as docker build does). */
export function parseBuildArgs(items: readonly string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq === -1 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigError(`--build-arg "${item}" does not start with a valid name`, { hint: 'write --build-arg NAME=value' });
    }
    const value = eq === -1 ? env[name] : item.slice(eq + 1);
    if (value !== undefined) args[name] = value;
  }
  return args;
}

export { parseConfigFile } from './file.js';
