// Loads the YAML of Ansible files (roles, plays) as Ansible would, and remembers where each
// collection and each sequence item starts, so the role graph can cite file:line.
//
// js-yaml rather than `yaml` (which dockmk.yml and overrides use): a checkout holds thousands of
// these files, and js-yaml loads one in ~10 µs where `yaml` takes ~150 µs here.

import type { Schema } from 'js-yaml';
import type { SourceFile } from './raw-checkout.js';
import { DiscoveryError } from '../errors.js';
import { jsYaml } from './yaml-lib.js';

export interface YamlFile {
  readonly path: string;
  readonly value: unknown;
  /** 1-based line where a mapping or sequence starts (a mapping value: the line of its key). */
  lineOf(node: object): number | undefined;
  /** 1-based line of each item of a sequence. */
  itemLines(sequence: readonly unknown[]): readonly number[] | undefined;
}

let schema: Schema | undefined;

/** Ansible's own tags: `!unsafe` (no templating) and `!vault` (an encrypted string) are strings. */
function ansibleSchema(): Schema {
  const { DEFAULT_SCHEMA, Type } = jsYaml();
  schema ??= DEFAULT_SCHEMA.extend(
    ['!unsafe', '!vault', '!vault-encrypted'].map((tag) => new Type(tag, { kind: 'scalar', construct: (data: unknown) => String(data ?? '') })),
  );
  return schema;
}

/** Parses one file; a syntax error is a DiscoveryError naming file:line, as Ansible would refuse it. */
export function loadAnsibleYaml(source: SourceFile): YamlFile {
  // One entry per open node: its first line, and the first lines of its children so far.
  const starts: number[] = [];
  const children: (number[] | undefined)[] = [];
  const lines = new WeakMap<object, number>();
  const items = new WeakMap<object, number[]>();
  let value: unknown;
  const { load, YAMLException } = jsYaml();
  try {
    value = load(source.text, {
      filename: source.path,
      schema: ansibleSchema(),
      // PyYAML, which Ansible uses, lets a later duplicate key win instead of failing.
      json: true,
      listener(event, state) {
        if (event === 'open') {
          starts.push(state.line + 1);
          children.push(undefined);
          return;
        }
        const line = starts.pop() as number;
        const kids = children.pop();
        const result: unknown = state.result;
        if (result !== null && typeof result === 'object') {
          if (!lines.has(result)) lines.set(result, line);
          if (Array.isArray(result) && (kids?.length ?? 0) === result.length) items.set(result, kids ?? []);
        }
        if (children.length > 0) (children[children.length - 1] ??= []).push(line);
      },
    });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    throw new DiscoveryError(source.path, error.mark ? error.mark.line + 1 : undefined, `invalid YAML: ${error.reason}`, {
      hint: 'Ansible cannot load this file either; fix its syntax',
    });
  }
  return {
    path: source.path,
    value,
    lineOf: (node) => lines.get(node),
    itemLines: (sequence) => items.get(sequence),
  };
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
