// A service's ansible_overrides.yml: extra vars for its play. Must be a YAML mapping (or empty).

import { DiscoveryError, UsageError } from '../errors.js';
import type { SourceFile } from './raw-checkout.js';
import { jsYaml, yaml } from './yaml-lib.js';

export type Overrides = Readonly<Record<string, unknown>>;

export function parseOverrides(file: SourceFile): Overrides {
  const { isMap, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    throw new DiscoveryError(file.path, lineCounter.linePos(error.pos[0]).line, `invalid YAML: ${error.message.split('\n')[0]}`, {
      hint: 'fix the YAML; ansible-playbook reads this file with --extra-vars=@',
    });
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    const line = lineCounter.linePos(doc.contents.range?.[0] ?? 0).line;
    throw new DiscoveryError(file.path, line, 'overrides must be a mapping of variable names to values', {
      hint: 'write one `NAME: value` per line',
    });
  }
  return doc.toJS() as Overrides;
}

/**
 * Refuses a malformed overrides file as parseOverrides does, without building its document:
 * js-yaml reads a valid file ~15× faster than `yaml`, and only a file it finds wrong is read again
 * by parseOverrides for the message with file:line. Planning checks every selected service's file.
 */
export function checkOverrides(file: SourceFile): void {
  try {
    const value: unknown = jsYaml().load(file.text);
    if (value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value))) return;
  } catch {
    // parseOverrides says what is wrong, and where
  }
  parseOverrides(file);
}

/** Values layered over a service's overrides for one run: `--overrides FILE`, `--override K=V`. */
export interface OverrideLayer {
  /** Where the values come from, for people: a file path or `--override`. */
  readonly source: string;
  readonly values: Overrides;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `--override NAME=VALUE`: VALUE is read as YAML, as it would be written in the overrides file
 * (`true`, `3`, `[a, b]`, `{k: v}`; anything else is a string).
 */
export function parseOverrideAssignment(text: string): Overrides {
  const at = text.indexOf('=');
  const name = at === -1 ? text : text.slice(0, at);
  if (at === -1 || !VARIABLE.test(name)) {
    throw new UsageError(`--override "${text}" is not NAME=VALUE with an Ansible variable name`, {
      hint: 'write e.g. --override NGINX_PORT=8080 (letters, digits and _ in the name)',
    });
  }
  const raw = text.slice(at + 1);
  const doc = yaml().parseDocument(raw, { prettyErrors: false });
  return { [name]: doc.errors.length > 0 ? raw : (doc.toJS() as unknown) ?? (raw === '' ? '' : null) };
}

/** Top-level keys of later layers replace earlier ones, as Ansible's extra vars do. */
export function layerOverrides(base: Overrides, layers: readonly OverrideLayer[]): Overrides {
  return Object.assign({}, base, ...layers.map((layer) => layer.values)) as Overrides;
}

/** The file dockmk streams in place of the service's own ansible_overrides.yml. */
export function renderOverrides(path: string, values: Overrides, layers: readonly OverrideLayer[]): string {
  const sources = [path, ...layers.map((layer) => layer.source)].join(', ');
  return `# written by dockmk for this build only: ${sources}\n${yaml().stringify(values)}`;
}
