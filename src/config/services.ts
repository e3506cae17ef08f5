// `services:` in dockmk.yml: which Dockerfiles are services, when they are not the legacy
// docker/build/<svc>/Dockerfile. A list of globby patterns (negations with `!`) and entries,
// or a mapping of service name to its settings, as a bake target has them:
//
//   services: ["images/*/Dockerfile", "!images/old/Dockerfile"]
//   services:
//     - dockerfile: images/*/Dockerfile
//       context: "{dir}"                # the matched Dockerfile's directory
//     - name: docker-nodejs
//       dockerfile: images/docker/Dockerfile
//       context: images/docker
//       contexts: { base: nodejs }      # FROM base builds on the service nodejs
//   services:
//     base: { context: images/base }    # dockerfile: <context>/Dockerfile
//     agent: { dockerfile: images/agent/Dockerfile, args: { NODE: "22" } }

import type { Node as YamlNode } from 'yaml';
import { isMap, isScalar, isSeq } from '../model/yaml-lib.js';
import { ConfigError } from '../errors.js';

/** One entry: a pattern (or exact path) of Dockerfiles and the settings of the services it makes. */
export interface ServiceEntry {
  /** Where it is written: `dockmk.yml:12`. */
  readonly where: string;
  /** The service's name; null: each match is named by its directory. */
  readonly name: string | null;
  /** globby patterns (or exact paths), relative to the root. */
  readonly dockerfile: readonly string[];
  /** The build context: a directory, `{dir}` for the Dockerfile's own; null: the checkout root. */
  readonly context: string | null;
  readonly args: Readonly<Record<string, string>>;
  /** Name → a service, `target:<service>` or `docker-image://<ref>`. */
  readonly contexts: Readonly<Record<string, string>>;
}

export interface ServicesSetting {
  readonly entries: readonly ServiceEntry[];
  /** `!pattern` items: Dockerfiles no entry makes a service of. */
  readonly negations: readonly string[];
}

const ENTRY_KEYS = new Set(['name', 'dockerfile', 'context', 'args', 'contexts']);

export function parseServices(value: YamlNode | null, where: (node: YamlNode | null | undefined) => string): ServicesSetting {
  const entries: ServiceEntry[] = [];
  const negations: string[] = [];
  if (isSeq(value)) {
    for (const item of value.items as YamlNode[]) {
      if (isScalar(item)) {
        const text = String(item.value).trim();
        if (text === '' || text === '!') throw new ConfigError(`${where(item)}: services: an empty pattern`);
        if (text.startsWith('!')) negations.push(text.slice(1));
        else entries.push({ where: where(item), name: null, dockerfile: [text], context: null, args: {}, contexts: {} });
      } else if (isMap(item)) {
        entries.push(entry(item, null, where));
      } else {
        throw new ConfigError(`${where(item)}: services: each item is a pattern or a mapping`, { hint: 'e.g. - images/*/Dockerfile' });
      }
    }
  } else if (isMap(value)) {
    for (const pair of value.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const settings = pair.value as YamlNode | null;
      if (settings !== null && !isMap(settings) && !(isScalar(settings) && settings.value === null)) {
        throw new ConfigError(`${where(pair.key as YamlNode)}: services.${name} must be a mapping of dockerfile, context, args, contexts`);
      }
      entries.push(entry(isMap(settings) ? settings : null, { name, node: pair.key as YamlNode }, where));
    }
  } else {
    throw new ConfigError(`${where(value)}: services must be a list of Dockerfile patterns or a mapping of service to settings`, {
      hint: 'e.g. services: ["images/*/Dockerfile"]',
    });
  }
  if (entries.length === 0) throw new ConfigError(`${where(value)}: services names no Dockerfile`, { hint: 'add a pattern such as images/*/Dockerfile' });
  return { entries, negations };
}

function entry(map: YamlNode | null, named: { name: string; node: YamlNode } | null, where: (node: YamlNode | null | undefined) => string): ServiceEntry {
  const at = where(named?.node ?? map);
  const out: { name: string | null; dockerfile: string[]; context: string | null; args: Record<string, string>; contexts: Record<string, string> } = {
    name: named?.name ?? null,
    dockerfile: [],
    context: null,
    args: {},
    contexts: {},
  };
  for (const pair of isMap(map) ? map.items : []) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const node = pair.value as YamlNode | null;
    const here = where(pair.key as YamlNode);
    if (!ENTRY_KEYS.has(key) || (key === 'name' && named !== null)) {
      throw new ConfigError(`${here}: unknown service setting "${key}"`, { hint: `known: ${[...ENTRY_KEYS].filter((k) => named === null || k !== 'name').join(', ')}` });
    }
    if (key === 'args' || key === 'contexts') {
      if (!isMap(node)) throw new ConfigError(`${here}: ${key} must be a mapping`);
      for (const item of node.items) {
        const name = isScalar(item.key) ? String(item.key.value) : '';
        const text = isScalar(item.value) && item.value.value !== null ? String(item.value.value) : null;
        if (text === null) throw new ConfigError(`${where(item.key as YamlNode)}: ${key}.${name} must be a string`);
        out[key][name] = text;
      }
    } else if (key === 'dockerfile' && isSeq(node)) {
      out.dockerfile = node.items.map((item) => String(isScalar(item) ? item.value : ''));
    } else {
      if (!isScalar(node) || node.value === null || String(node.value).trim() === '') throw new ConfigError(`${here}: ${key} must be a string`);
      if (key === 'dockerfile') out.dockerfile = [String(node.value)];
      else out[key as 'name' | 'context'] = String(node.value);
    }
  }
  if (out.dockerfile.length === 0) {
    if (out.context === null || out.context === '{dir}') {
      throw new ConfigError(`${at}: a service needs a dockerfile, or a context holding its Dockerfile`, { hint: 'e.g. context: images/base, or dockerfile: images/agent/Dockerfile' });
    }
    out.dockerfile = [`${out.context.replace(/\/+$/, '')}/Dockerfile`];
  }
  return { where: at, ...out };
}
