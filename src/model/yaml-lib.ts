// yaml and js-yaml, loaded the first time something is parsed: a run whose parse caches answer
// parses no YAML, and the two are ~350 kB, a third of what every command compiled and ran at
// its start. In the bundle they are a CommonJS file of their own (dist/yaml.cjs, made by
// scripts/build.mjs), which a require reads synchronously where a parse needs them; run from
// the sources (tests, tsx), they come from node_modules.

import { createRequire } from 'node:module';
import type * as JsYaml from 'js-yaml';
import type * as Yaml from 'yaml';

/** Set by scripts/build.mjs: the bundle of both, beside the chunks. */
declare const DOCKMK_YAML_BUNDLE: string | undefined;

interface Libraries {
  readonly yaml: typeof Yaml;
  readonly jsYaml: typeof JsYaml;
}

let loaded: Libraries | undefined;

function libraries(): Libraries {
  if (loaded === undefined) {
    const load = createRequire(import.meta.url);
    loaded = typeof DOCKMK_YAML_BUNDLE === 'string' ? (load(DOCKMK_YAML_BUNDLE) as Libraries) : { yaml: load('yaml') as typeof Yaml, jsYaml: load('js-yaml') as typeof JsYaml };
  }
  return loaded;
}

/** The `yaml` package (dockmk.yml, overrides, edits that keep comments). */
export function yaml(): typeof Yaml {
  return libraries().yaml;
}

/** js-yaml (Ansible's files: ~15× faster than `yaml` on a valid file). */
export function jsYaml(): typeof JsYaml {
  return libraries().jsYaml;
}

// The node tests of `yaml`, for modules that walk its documents (a document made means it is loaded).
export function isMap<K = unknown, V = unknown>(node: unknown): node is Yaml.YAMLMap<K, V> {
  return yaml().isMap(node);
}

export function isSeq<T = unknown>(node: unknown): node is Yaml.YAMLSeq<T> {
  return yaml().isSeq(node);
}

export function isScalar<T = unknown>(node: unknown): node is Yaml.Scalar<T> {
  return yaml().isScalar(node);
}

export function isAlias(node: unknown): node is Yaml.Alias {
  return yaml().isAlias(node);
}
