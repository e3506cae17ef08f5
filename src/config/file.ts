// dockmk.yml: read and checked line by line, so that every error names file:line. What it
// sets is merged with the environment and flags in config.ts.

import { readFileSync } from 'node:fs';
import type { LineCounter, Node as YamlNode, Scalar } from 'yaml';
import { ConfigError, fsReason } from '../errors.js';
import { parseWriteBack, type WriteBackTarget } from '../model/write-back.js';
import { isMap, isScalar, isSeq, yaml } from '../model/yaml-lib.js';
import { isLabelKey } from '../plan/labels.js';
import type { Paths } from './config.js';
import { parseServices, type ServicesSetting } from './services.js';

/** Which builder runs the builds: auto picks BuildKit where the engine offers it (execute/builder.ts). */
export type BuilderSetting = 'auto' | 'buildkit' | 'classic';

export const BUILDERS: readonly BuilderSetting[] = Object.freeze(['auto', 'buildkit', 'classic']);

/** What dockmk.yml sets, checked at its lines. */
export interface FileConfig {
  namespace?: string;
  fromNamespace?: string;
  registry?: string;
  buildArgs?: Record<string, string>;
  pull?: string;
  builder?: string;
  paths?: Partial<Paths>;
  weights?: Record<string, number>;
  externalBases?: string[];
  labels?: Record<string, string>;
  cacheFrom?: string[];
  publish?: Record<string, string>;
  writeBack?: WriteBackTarget[];
  services?: ServicesSetting;
  /** A bake file whose targets are the services, relative to the root. */
  bake?: string;
}

/** The text of dockmk.yml, or null when there is none. */
export function readConfigText(path: string, name: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') {
      throw new ConfigError(`${name} is a directory, not a file`, {
        hint: `dockmk reads its settings from the file ${name} at the checkout root: rename or remove the directory ${path}`,
      });
    }
    throw new ConfigError(`${name} cannot be read (${fsReason(error)})`, {
      hint: `make ${path} readable, or remove it to use the defaults`,
    });
  }
}

const KEYS = new Set(['namespace', 'fromNamespace', 'registry', 'buildArgs', 'pull', 'builder', 'paths', 'weights', 'externalBases', 'labels', 'cacheFrom', 'publish', 'writeBack', 'services', 'bake']);
const PATH_KEYS: ReadonlySet<string> = new Set<keyof Paths>(['build', 'plays', 'roles', 'playbooks']);
export const PUBLISH_VALUES: Readonly<Record<string, RegExp>> = {
  tags: /^(latest|auto)$/,
  latest: /^(default-branch|always|never)$/,
  longSha: /^(true|false)$/,
  defaultBranch: /^\S+$/,
  retries: /^([0-9]|10)$/,
};
const PUBLISH_KEYS = new Set(Object.keys(PUBLISH_VALUES));
export const PUBLISH_HINTS: Readonly<Record<string, string>> = {
  tags: 'latest or auto',
  latest: 'default-branch, always or never',
  longSha: 'true or false',
  defaultBranch: 'a branch name',
  retries: 'a whole number from 0 to 10',
};

export const PUBLISH_EXAMPLES: Readonly<Record<string, string>> = { tags: 'auto', latest: 'never', longSha: 'true', defaultBranch: 'main', retries: '3' };

function checkPublishValue(name: string, value: string, where: string): void {
  if (PUBLISH_VALUES[name]?.test(value) === false) {
    throw new ConfigError(`${where}: publish.${name} "${value}" is not valid`, { hint: `use ${PUBLISH_HINTS[name]}` });
  }
}

export function checkLabels(labels: Record<string, string>, where: string): Record<string, string> {
  for (const key of Object.keys(labels)) {
    if (!isLabelKey(key)) throw new ConfigError(`${where}: "${key}" is not a valid label key`, { hint: 'use letters, digits, ".", "-", "_" and "/", e.g. com.example.team' });
    if (key.startsWith('org.dockmk.')) throw new ConfigError(`${where}: label "${key}" is dockmk's own`, { hint: 'choose a key under your own domain' });
  }
  return labels;
}

/** Parses `dockmk.yml`; every error names file:line. */
export function parseConfigFile(text: string, file: string): FileConfig {
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (node: YamlNode | null | undefined, offset?: number): number =>
    lineCounter.linePos(offset ?? node?.range?.[0] ?? 0).line;
  if (text.trim() === '') {
    // More likely a write that went wrong than a wish for the defaults: a lost `registry:` would push to Docker Hub.
    throw new ConfigError(`${file}:1: the file is empty`, {
      hint: `write the settings you want (a file of comments only means every default), or remove ${file} to use the defaults`,
    });
  }
  const error = doc.errors[0];
  if (error?.code === 'DUPLICATE_KEY') throw duplicateKey(text, file, lineCounter) ?? new ConfigError(`${file}:${lineOf(null, error.pos[0])}: a key is set twice`);
  if (error) throw new ConfigError(`${file}:${lineOf(null, error.pos[0])}: ${error.message.split('\n')[0]}`);
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) throw new ConfigError(`${file}:${lineOf(doc.contents)}: expected a mapping of settings`);
  const out: FileConfig = {};
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const where = `${file}:${lineOf(pair.key as YamlNode)}`;
    if (!KEYS.has(key)) {
      throw new ConfigError(`${where}: unknown setting "${key}"`, { hint: `known settings: ${[...KEYS].join(', ')}` });
    }
    const value = pair.value as YamlNode | null;
    if (key === 'writeBack') {
      // `- FILE:KEY=SERVICE`, as --write-back takes it.
      if (!isSeq(value) || value.items.some((item) => !isScalar(item))) {
        throw new ConfigError(`${where}: writeBack must be a list of FILE:KEY=SERVICE`, { hint: 'e.g. writeBack: ["deploy/config.yml:DOCKER_IMAGE_OPENEDX=edxapp"]' });
      }
      out.writeBack = value.items.map((item) => parseWriteBack(String((item as { value: unknown }).value), `${file}:${lineOf(item as YamlNode)}: writeBack`));
    } else if (key === 'services') {
      if (out.bake !== undefined) throw new ConfigError(`${where}: bake and services are both set`, { hint: 'the bake file declares the services: keep one of the two' });
      out.services = parseServices(value, (node) => `${file}:${lineOf(node ?? pair.key as YamlNode)}`);
    } else if (key === 'bake') {
      out.bake = scalarText(value, where, key, false);
      if (out.services) throw new ConfigError(`${where}: bake and services are both set`, { hint: 'the bake file declares the services: keep one of the two' });
    } else if (key === 'weights') {
      out.weights = parseWeights(value, (node) => `${file}:${lineOf(node)}`);
    } else if (key === 'externalBases' || key === 'cacheFrom') {
      if (!isSeq(value) || value.items.some((item) => !isScalar(item) || String(item.value).trim() === '')) {
        throw new ConfigError(`${where}: ${key} must be a list of image ${key === 'cacheFrom' ? 'references' : 'patterns'}`, {
          hint: key === 'cacheFrom' ? 'e.g. cacheFrom: ["ghcr.io/my-org/{service}:latest"]' : 'e.g. externalBases: ["debian:*", "ubuntu:focal"]',
        });
      }
      out[key] = value.items.map((item) => String((item as { value: unknown }).value).trim());
    } else if (key === 'buildArgs' || key === 'paths' || key === 'labels' || key === 'publish') {
      if (!isMap(value)) throw new ConfigError(`${where}: ${key} must be a mapping`);
      const entries: Record<string, string> = {};
      for (const item of value.items) {
        const name = isScalar(item.key) ? String(item.key.value) : '';
        const known = key === 'paths' ? PATH_KEYS : key === 'publish' ? PUBLISH_KEYS : null;
        if (known !== null && !known.has(name)) {
          throw new ConfigError(`${file}:${lineOf(item.key as YamlNode)}: unknown ${key === 'paths' ? 'path' : 'publish setting'} "${name}"`, {
            hint: `known: ${[...known].join(', ')}`,
          });
        }
        const text = scalarText(item.value as YamlNode | null, `${file}:${lineOf(item.key as YamlNode)}`, `${key}.${name}`, key !== 'paths');
        if (key === 'labels') checkLabels({ [name]: '' }, `${file}:${lineOf(item.key as YamlNode)}: labels`);
        if (key === 'publish') checkPublishValue(name, text, `${file}:${lineOf(item.value as YamlNode)}`);
        entries[name] = text;
      }
      out[key] = entries;
    } else {
      const text = scalarText(value, where, key, false);
      if (key === 'builder' && !(BUILDERS as readonly string[]).includes(text)) {
        throw new ConfigError(`${file}:${lineOf(value)}: builder "${text}" is not known`, { hint: 'use auto, buildkit or classic' });
      }
      out[key as 'namespace' | 'fromNamespace' | 'registry' | 'pull' | 'builder'] = text;
    }
  }
  return out;
}

/**
 * A setting's value as text. A missing value (`key:` alone, YAML null) or a mapping or list is
 * refused at its line; numbers are taken as written; true/false only where a flag or value may
 * be one (`publish.longSha`, build args, labels), not for a path or a name.
 */
function scalarText(node: YamlNode | null, where: string, name: string, booleans: boolean): string {
  if (node === null || (isScalar(node) && node.value === null)) {
    throw new ConfigError(`${where}: ${name} has no value`, { hint: 'give it a value, or remove the line to use the default' });
  }
  if (!isScalar(node)) throw new ConfigError(`${where}: ${name} must be a string, not a ${isMap(node) ? 'mapping' : isSeq(node) ? 'list' : 'YAML node'}`);
  const value = (node as Scalar).value;
  if (typeof value === 'boolean' && !booleans) {
    throw new ConfigError(`${where}: ${name} must be a string, not ${String(value)}`, { hint: `quote it if you mean the word: ${name}: "${String(value)}"` });
  }
  return String(value);
}

/** The first key set twice in one mapping, with both lines. */
function duplicateKey(text: string, file: string, lineCounter: LineCounter): ConfigError | null {
  const doc = yaml().parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  const walk = (node: unknown, path: string): ConfigError | null => {
    if (isSeq(node)) {
      for (const item of node.items) {
        const found = walk(item, path);
        if (found) return found;
      }
    }
    if (!isMap(node)) return null;
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const line = lineCounter.linePos((pair.key as YamlNode | null)?.range?.[0] ?? 0).line;
      const name = path === '' ? key : `${path}.${key}`;
      const first = seen.get(key);
      if (first !== undefined) {
        return new ConfigError(`${file}:${line}: ${name} is set twice (first at line ${first})`, { hint: 'keep one of the two lines' });
      }
      seen.set(key, line);
      const found = walk(pair.value, name);
      if (found) return found;
    }
    return null;
  };
  return walk(doc.contents, '');
}

/** `weights:` as a mapping (`svc: 5`) or as the legacy list of one-key maps (`- svc: 5`), in minutes. */
function parseWeights(value: YamlNode | null, where: (node: YamlNode | null | undefined) => string): Record<string, number> {
  const pairs = isMap(value) ? value.items : isSeq(value) ? value.items.flatMap((item) => (isMap(item) ? item.items : [])) : null;
  if (pairs === null || (isSeq(value) && value.items.some((item) => !isMap(item)))) {
    throw new ConfigError(`${where(value)}: weights must be a mapping of service to minutes (or a list of "- service: minutes")`);
  }
  const weights: Record<string, number> = {};
  for (const item of pairs) {
    const minutes = isScalar(item.value) ? Number(item.value.value) : Number.NaN;
    if (!isScalar(item.key) || !(minutes > 0) || !Number.isFinite(minutes)) {
      throw new ConfigError(`${where(item.key as YamlNode)}: the weight of "${String(isScalar(item.key) ? item.key.value : '')}" must be a positive number of minutes`);
    }
    weights[String(item.key.value)] = minutes;
  }
  return weights;
}
