// A bake file (docker buildx bake, HCL read to JSON by discover/, or a JSON bake file) as
// services: each target one service named by it, with its context and Dockerfile resolved
// against the bake file's directory, its `contexts`, `args` and `tags`; `group` blocks select.
// Attributes dockmk does not use are listed in one warning, never dropped silently. Pure: the
// file's text and JSON in (discover/layout.ts reads them), the model's ServiceLayout out.

import { posix } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ContextValue, LayoutWarning, ServiceLayout, ServiceSpec } from '../model/layout.js';

const USED = new Set(['context', 'dockerfile', 'contexts', 'args', 'tags', 'inherits']);

type Json = Record<string, unknown>;

export interface BakeSource {
  /** The bake file, relative to the checkout root. */
  readonly path: string;
  readonly text: string;
  /** The file as JSON: a JSON bake file as it is, an HCL one as hcl2json gives it (blocks in arrays). */
  readonly json: unknown;
}

export function bakeLayout(source: BakeSource, env: Readonly<Record<string, string | undefined>> = {}): ServiceLayout {
  const { path, text } = source;
  const fail = (message: string, needle: string | null, hint?: string): never => {
    throw new ConfigError(`${path}${lineOf(text, needle)}: ${message}`, hint === undefined ? {} : { hint });
  };
  if (!isObject(source.json)) fail('a bake file holds target, group and variable blocks', null);
  const json = source.json as Json;
  const variables = new Map<string, string>();
  for (const [name, block] of Object.entries(blocks(json.variable))) {
    const fallback = block.default;
    variables.set(name, env[name] ?? (fallback === undefined || fallback === null ? '' : String(fallback)));
  }
  const expand = (value: string, target: string): string =>
    value.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      if (variables.has(name.trim())) return variables.get(name.trim()) as string;
      return fail(`target "${target}": ${whole} is not a variable of this file`, whole, 'dockmk reads variables with a default; other HCL expressions and functions it does not evaluate');
    });
  const targets = blocks(json.target);
  if (Object.keys(targets).length === 0) fail('no target block', null, 'write target "<name>" { context = "..." } for each image');
  const dir = posix.dirname(path);
  const unused = new Map<string, string[]>();
  const resolved = new Map<string, Json>();
  const resolve = (name: string, seen: readonly string[]): Json => {
    const known = resolved.get(name);
    if (known !== undefined) return known;
    const own = targets[name];
    if (own === undefined) return fail(`target "${seen.at(-1)}" inherits "${name}", which is not a target`, `"${name}"`);
    if (seen.includes(name)) return fail(`targets inherit in a loop: ${[...seen, name].join(' → ')}`, `target "${name}"`);
    let merged: Json = {};
    for (const parent of list(own.inherits)) merged = { ...merged, ...resolve(parent, [...seen, name]) };
    merged = { ...merged, ...own, inherits: undefined };
    resolved.set(name, merged);
    return merged;
  };
  const specs: ServiceSpec[] = [];
  for (const name of Object.keys(targets).sort()) {
    const target = resolve(name, []);
    for (const key of Object.keys(targets[name] as Json)) if (!USED.has(key)) unused.set(key, [...(unused.get(key) ?? []), name]);
    const context = posix.normalize(posix.join(dir, expand(stringOf(target.context, '.'), name))).replace(/(.)\/+$/, '$1');
    if (context === '..' || context.startsWith('../') || posix.isAbsolute(context)) {
      fail(`target "${name}": context "${String(target.context)}" lies outside the checkout`, `target "${name}"`);
    }
    const dockerfile = posix.normalize(posix.join(context, expand(stringOf(target.dockerfile, 'Dockerfile'), name)));
    const contexts: Record<string, ContextValue> = {};
    for (const [key, value] of Object.entries(mapOf(target.contexts))) contexts[key] = parseContextValue(expand(String(value), name));
    const args: Record<string, string> = {};
    for (const [key, value] of Object.entries(mapOf(target.args))) if (value !== null) args[key] = expand(String(value), name);
    specs.push({ name, dockerfile, context, args, contexts, tags: list(target.tags).map((tag) => expand(tag, name)), origin: `${path}: target "${name}"` });
  }
  const warnings: LayoutWarning[] = [];
  if (unused.size > 0) {
    const what = [...unused].map(([key, names]) => `${key} (${names.join(', ')})`).join(', ');
    warnings.push({ file: path, message: `bake attributes dockmk does not use, left out of its builds: ${what}` });
  }
  for (const spec of specs) {
    for (const [key, value] of Object.entries(spec.contexts)) {
      if (value.kind === 'service' && !targets[value.service]) fail(`target "${spec.name}": context ${key} = "target:${value.service}" names no target`, `target:${value.service}`);
      if (value.kind === 'other') warnings.push({ file: path, message: `target "${spec.name}": context ${key} = "${value.value}" is a directory or URL context, which dockmk does not send; a FROM or COPY --from of ${key} names an image instead` });
    }
  }
  return { kind: 'bake', file: path, specs, groups: groupsOf(blocks(json.group), targets, fail), warnings };
}

function groupsOf(groups: Record<string, Json>, targets: Record<string, Json>, fail: (message: string, needle: string | null) => never): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const expand = (name: string, seen: readonly string[]): string[] => {
    if (seen.includes(name)) return fail(`groups include each other in a loop: ${[...seen, name].join(' → ')}`, `group "${name}"`);
    const group = groups[name] as Json;
    return list(group.targets).flatMap((member) => {
      if (targets[member]) return [member];
      if (groups[member]) return expand(member, [...seen, name]);
      return fail(`group "${name}" names "${member}", which is neither a target nor a group`, `"${member}"`);
    });
  };
  for (const name of Object.keys(groups)) out[name] = [...new Set(expand(name, []))];
  return out;
}

/** `target "x" {…}` as hcl2json gives it (`{x: [{…}, …]}`, blocks merged in order) or as JSON bake writes it (`{x: {…}}`). */
function blocks(value: unknown): Record<string, Json> {
  if (!isObject(value)) return {};
  const out: Record<string, Json> = {};
  for (const [name, body] of Object.entries(value)) {
    const parts = Array.isArray(body) ? body.filter(isObject) : isObject(body) ? [body] : [];
    out[name] = Object.assign({}, ...parts) as Json;
  }
  return out;
}

function mapOf(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
}

function stringOf(value: unknown, fallback: string): string {
  return value === undefined || value === null ? fallback : String(value);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `:<line>` of the first line holding `needle` (hcl2json keeps no positions), or nothing. */
function lineOf(text: string, needle: string | null): string {
  if (needle === null) return '';
  // A JSON bake file writes a block's name as a key: `"base": {`.
  const block = /^(?:target|group) ("[^"]*")$/.exec(needle);
  const found = text.indexOf(needle);
  const index = found === -1 && block ? text.search(new RegExp(`${(block[1] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`)) : found;
  return index === -1 ? '' : `:${text.slice(0, index).split('\n').length}`;
}

/** A context value as bake writes it: `target:x`, `docker-image://ref`, else a path or URL. */
export function parseContextValue(text: string): ContextValue {
  if (text.startsWith('target:')) return { kind: 'service', service: text.slice('target:'.length) };
  if (text.startsWith('docker-image://')) return { kind: 'image', image: text.slice('docker-image://'.length) };
  return { kind: 'other', value: text };
}
