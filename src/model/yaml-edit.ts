// Sets string values in a YAML file and changes nothing else: the value's own token is rewritten
// through the `yaml` package's CST (comments, key order, anchors and the value's quoting style
// stay as written), and a missing key, when creating is allowed, is added as one new line at the
// end of its mapping. Every edit is checked by parsing the result again: the file must mean what
// it meant before, with only the edited value changed. Pure: text in, text out.

import type { CST, Document, LineCounter, Node as YamlNode, YAMLMap } from 'yaml';
import { ConfigError } from '../errors.js';
import { isAlias, isMap, isScalar, isSeq, yaml } from './yaml-lib.js';

export interface YamlEdit {
  /** The key path: `images.openedx` is `['images', 'openedx']`. */
  readonly path: readonly string[];
  readonly value: string;
}

export interface YamlChange {
  readonly path: readonly string[];
  /** The value before, as YAML read it (null when the key was missing or empty). */
  readonly before: string | null;
  readonly after: string;
  /** 1-based line of the value in the edited text. */
  readonly line: number;
  readonly created: boolean;
}

export interface YamlEditResult {
  readonly text: string;
  readonly changes: readonly YamlChange[];
}

export interface YamlEditOptions {
  /** Add keys that do not exist (with their parent mappings) instead of refusing. */
  readonly create: boolean;
}

/** `images.openedx` → `['images', 'openedx']`; `\.` stands for a dot inside a key. */
export function parseKeyPath(key: string): string[] {
  const parts: string[] = [''];
  for (let i = 0; i < key.length; i++) {
    const char = key[i] as string;
    if (char === '\\' && key[i + 1] === '.') {
      parts[parts.length - 1] += '.';
      i++;
    } else if (char === '.') {
      parts.push('');
    } else {
      parts[parts.length - 1] += char;
    }
  }
  if (parts.some((part) => part === '')) {
    throw new ConfigError(`"${key}" is not a key path`, { hint: 'name a key, nested keys joined by dots: DOCKER_IMAGE_OPENEDX or images.openedx' });
  }
  return parts;
}

export function formatKeyPath(path: readonly string[]): string {
  return path.map((part) => part.replace(/\./g, '\\.')).join('.');
}

/** Applies the edits one after another; throws a ConfigError naming file:line when one cannot be made. */
export function editYaml(text: string, file: string, edits: readonly YamlEdit[], options: YamlEditOptions): YamlEditResult {
  let current = text;
  const changes: YamlChange[] = [];
  for (const edit of edits) {
    const { text: next, change } = editOne(current, file, edit, options);
    current = next;
    changes.push(change);
  }
  return { text: current, changes };
}

interface Parsed {
  readonly tokens: CST.Token[];
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

function parseText(text: string, file: string): Parsed {
  const { Composer, LineCounter, Parser } = yaml();
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const docs = [...new Composer({ keepSourceTokens: true }).compose(tokens)];
  if (docs.length > 1) throw new ConfigError(`${file}: holds ${docs.length} YAML documents`, { hint: 'write-back edits a file of one document' });
  const doc = docs[0];
  if (doc === undefined) {
    // An empty file: compose an empty document so that creating a key can start it.
    const empty = [...new Composer({ keepSourceTokens: true }).compose([...new Parser().parse('{}')])][0] as Document.Parsed;
    empty.contents = null;
    return { tokens, doc: empty, lines };
  }
  const error = doc.errors[0];
  if (error) throw new ConfigError(`${file}:${lines.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`, { hint: 'fix the YAML first' });
  return { tokens, doc, lines };
}

function editOne(text: string, file: string, edit: YamlEdit, options: YamlEditOptions): { text: string; change: YamlChange } {
  const { tokens, doc, lines } = parseText(text, file);
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  const key = formatKeyPath(edit.path);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    if (!options.create) throw missingKey(file, 1, key, edit.path[0] as string, []);
    const newline = lineBreak(text);
    const prefix = text === '' || text.endsWith('\n') ? text : `${text}${newline}`;
    const next = `${prefix}${blockLines(edit.path, edit.value, '', newline)}${newline}`;
    return checked(text, next, file, edit, null, true);
  }
  if (!isMap(root)) {
    throw new ConfigError(`${file}:${lineOf(root.range?.[0] ?? 0)}: the file is a ${kindOf(root)}, not a mapping, so it has no key ${key}`, {
      hint: 'write-back sets a key of a YAML mapping (KEY: value)',
    });
  }
  let map: YAMLMap = root;
  for (let depth = 0; depth < edit.path.length; depth++) {
    const name = edit.path[depth] as string;
    const pair = map.items.find((item) => isScalar(item.key) && String(item.key.value) === name);
    const where = (node: YamlNode | null | undefined): number => lineOf(node?.range?.[0] ?? map.range?.[0] ?? 0);
    if (pair === undefined) {
      const known = map.items.map((item) => (isScalar(item.key) ? String(item.key.value) : '?'));
      if (!options.create) throw missingKey(file, where(map), key, name, known, edit.path.slice(0, depth));
      return checked(text, insertKey(text, map, edit.path.slice(depth), edit.value), file, edit, null, true);
    }
    const value = pair.value as YamlNode | null;
    const last = depth === edit.path.length - 1;
    if (isAlias(value)) {
      throw new ConfigError(`${file}:${where(value)}: ${formatKeyPath(edit.path.slice(0, depth + 1))} is an alias (*${value.source}) of a value written elsewhere`, {
        hint: `write back to the key that holds &${value.source}, so every alias of it follows`,
      });
    }
    if (!last) {
      if (isMap(value)) {
        map = value;
        continue;
      }
      throw new ConfigError(`${file}:${where(value ?? (pair.key as YamlNode))}: ${formatKeyPath(edit.path.slice(0, depth + 1))} is a ${kindOf(value)}, not a mapping, so it has no key ${edit.path[depth + 1]}`, {
        hint: 'check the key path: nested keys are joined by dots',
      });
    }
    if (value !== null && !isScalar(value)) {
      throw new ConfigError(`${file}:${where(value)}: ${key} holds a ${kindOf(value)}, not a single value`, { hint: 'write-back replaces a string value such as an image reference' });
    }
    const before = value === null || value.value === null ? null : String(value.value);
    if (value !== null && value.srcToken !== undefined) {
      const { CST, Scalar } = yaml();
      const inFlow = map.flow === true;
      const block = value.type === Scalar.BLOCK_FOLDED || value.type === Scalar.BLOCK_LITERAL;
      const token = value.srcToken;
      CST.setScalarValue(token, edit.value, { inFlow, ...(block ? { type: Scalar.QUOTE_DOUBLE } : {}) });
      const next = tokens.map((t) => CST.stringify(t)).join('');
      try {
        return checked(text, next, file, edit, before, false);
      } catch {
        // A plain scalar that would read back as something else (a number, a flow indicator): quote it.
        CST.setScalarValue(token, edit.value, { inFlow, type: Scalar.QUOTE_DOUBLE });
        return checked(text, tokens.map((t) => CST.stringify(t)).join(''), file, edit, before, false);
      }
    }
    // `KEY:` with nothing after it: the value goes right after the colon.
    const colon = valueIndicatorEnd(pair.srcToken ?? findItem(map, name));
    if (colon === null) throw new Error(`no ':' found for ${key} in ${file}`);
    return checked(text, `${text.slice(0, colon)} ${scalarSource(edit.value, map.flow === true)}${text.slice(colon)}`, file, edit, before, false);
  }
  throw new Error('unreachable: an empty key path');
}

function missingKey(file: string, line: number, key: string, name: string, known: readonly string[], parent: readonly string[] = []): ConfigError {
  const where = parent.length === 0 ? 'the file' : formatKeyPath(parent);
  const has = known.length === 0 ? `${where} has no keys` : `${where} has ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''}`;
  return new ConfigError(`${file}:${line}: no key ${key} (${name} is missing; ${has})`, {
    hint: 'check the key, or add --write-back-create to add it',
  });
}

function kindOf(node: YamlNode | null | undefined): string {
  if (node === null || node === undefined) return 'empty value';
  if (isMap(node)) return 'mapping';
  if (isSeq(node)) return 'list';
  if (isScalar(node)) return node.value === null ? 'empty value' : `${typeof node.value === 'string' ? 'string' : typeof node.value} value`;
  return 'value';
}

function findItem(map: YAMLMap, name: string): CST.CollectionItem | undefined {
  const token = map.srcToken;
  if (token === undefined || !('items' in token)) return undefined;
  return token.items.find((item) => item.key !== undefined && item.key !== null && 'source' in item.key && item.key.source === name);
}

/** The offset just after the `:` of a pair whose value is empty. */
function valueIndicatorEnd(item: unknown): number | null {
  const sep = (item as CST.CollectionItem | undefined)?.sep ?? [];
  const colon = sep.find((token) => token.type === 'map-value-ind');
  return colon === undefined ? null : colon.offset + colon.source.length;
}

/** A new key (and the mappings it needs) added at the end of `map`, at the indentation of its keys. */
function insertKey(text: string, map: YAMLMap, path: readonly string[], value: string): string {
  const [start = 0, valueEnd = text.length] = map.range ?? [];
  if (map.flow === true) {
    const close = text.lastIndexOf('}', valueEnd);
    const entry = flowEntry(path, value);
    const head = text.slice(0, close);
    const space = /\s*$/.exec(head)?.[0] ?? '';
    const inner = text.slice(start + 1, close).trim();
    return `${head.slice(0, head.length - space.length)}${inner === '' ? '' : ', '}${entry}${space}${text.slice(close)}`;
  }
  const firstKey = map.items[0]?.key as YamlNode | undefined;
  const keyOffset = firstKey?.range?.[0] ?? start;
  const indent = text.slice(text.lastIndexOf('\n', keyOffset - 1) + 1, keyOffset).replace(/[^ \t]/g, '');
  const newline = lineBreak(text);
  // After the line the mapping's last value ends on (its trailing comment stays on that line).
  const lastEnd = Math.max(start, valueEnd - 1);
  const eol = text.indexOf('\n', lastEnd);
  const at = eol === -1 ? text.length : text[eol - 1] === '\r' ? eol - 1 : eol;
  return `${text.slice(0, at)}${newline}${blockLines(path, value, indent, newline)}${text.slice(at)}`;
}

function blockLines(path: readonly string[], value: string, indent: string, newline: string): string {
  return path
    .map((name, depth) => `${indent}${'  '.repeat(depth)}${keySource(name)}:${depth === path.length - 1 ? ` ${scalarSource(value, false)}` : ''}`)
    .join(newline);
}

/** The file's own line break: CRLF when it uses them, else LF. */
function lineBreak(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function flowEntry(path: readonly string[], value: string): string {
  const [name, ...rest] = path as [string, ...string[]];
  return `${keySource(name)}: ${rest.length === 0 ? scalarSource(value, true) : `{${flowEntry(rest, value)}}`}`;
}

function keySource(name: string): string {
  return isPlainSafe(name, true) ? name : JSON.stringify(name);
}

function scalarSource(value: string, inFlow: boolean): string {
  return isPlainSafe(value, inFlow) ? value : JSON.stringify(value);
}

/** True when `value` written plain reads back as the same string. */
function isPlainSafe(value: string, inFlow: boolean): boolean {
  if (value === '' || /^\s|\s$|[\n\r\t#]|: /.test(value) || (inFlow && /[,[\]{}]/.test(value))) return false;
  try {
    return (yaml().parse(`k: ${value}`) as Record<string, unknown> | null)?.k === value;
  } catch {
    return false;
  }
}

/** Parses the edited text and checks that it means the old text with only `edit` applied. */
function checked(before: string, after: string, file: string, edit: YamlEdit, was: string | null, created: boolean): { text: string; change: YamlChange } {
  const { doc, lines } = parseText(after, file);
  // What the edit means, made on the document model: an anchored value changes its aliases too.
  const expected: Document = yaml().parseDocument(before);
  const node = expected.getIn(edit.path, true);
  if (isScalar(node)) node.value = edit.value;
  else if (expected.contents === null || (isScalar(expected.contents) && expected.contents.value === null)) expected.contents = expected.createNode(nested(edit.path, edit.value));
  else expected.setIn(edit.path, edit.value);
  if (JSON.stringify(doc.toJS()) !== JSON.stringify(expected.toJS())) {
    throw new Error(`editing ${formatKeyPath(edit.path)} in ${file} would change more than that value`);
  }
  const written = doc.getIn(edit.path, true) as YamlNode | undefined;
  return { text: after, change: { path: edit.path, before: was, after: edit.value, line: lines.linePos(written?.range?.[0] ?? 0).line, created } };
}

function nested(path: readonly string[], value: string): unknown {
  return path.reduceRight<unknown>((inner, name) => ({ [name]: inner }), value);
}
