// The part of GitHub Actions' expression language `.github/workflows/images.yml` uses, so a test
// can run the workflow's jobs as GitHub would decide them: literals (strings, numbers, true,
// false, null), contexts (github, inputs, vars, secrets, needs, matrix, strategy, steps, env),
// property and index access, `!`, `==`, `!=`, `&&`, `||`, parentheses, fromJSON() and the status
// functions. Anything else is an error naming it: when the workflow starts using more, this
// evaluator must learn it, rather than guess. Semantics as GitHub documents them: loose `==`
// (numbers when the types differ, strings compared case-insensitively), `&&`/`||` give an
// operand, a missing property is null, `${{ }}` inside other text is that text with the values.

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'context'; name: string }
  | { kind: 'property'; of: Node; name: string }
  | { kind: 'index'; of: Node; index: Node }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: '==' | '!=' | '&&' | '||'; left: Node; right: Node }
  | { kind: 'call'; name: string; args: Node[] };

type Token = { kind: 'ident' | 'number' | 'string' | 'punct'; text: string; at: number };

export const CONTEXTS = ['github', 'inputs', 'vars', 'secrets', 'needs', 'matrix', 'strategy', 'steps', 'env'] as const;
export const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always'] as const;

/** The values an expression may read (absent: not available where it is evaluated) and the status functions. */
export interface Scope {
  readonly contexts: Partial<Record<(typeof CONTEXTS)[number], Value>>;
  readonly status?: Partial<Record<(typeof STATUS_FUNCTIONS)[number], () => boolean>>;
}

export class ExpressionError extends Error {}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const match =
      /^(==|!=|&&|\|\||[!.()[\],])/.exec(rest) ??
      /^(<=|>=|<|>|\*)/.exec(rest) ??
      /^(0x[0-9a-fA-F]+|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(rest) ??
      /^('(?:[^']|'')*')/.exec(rest) ??
      /^([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    if (!match) throw new ExpressionError(`cannot read "${rest.slice(0, 20)}" at ${i} of \`${source}\``);
    const text = match[1] as string;
    const kind = text.startsWith("'") ? 'string' : /^[-\d]/.test(text) ? 'number' : /^[A-Za-z_]/.test(text) ? 'ident' : 'punct';
    if (kind === 'punct' && /^(<=|>=|<|>|\*)$/.test(text)) {
      throw new ExpressionError(`operator "${text}" in \`${source}\` is not in the subset this simulator evaluates; teach test/it/sim/expressions.ts`);
    }
    tokens.push({ kind, text, at: i });
    i += text.length;
  }
  return tokens;
}

/** Parses one expression (the text inside `${{ }}`, or a bare `if:`). */
export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const fail = (what: string): never => {
    throw new ExpressionError(`${what} at ${peek()?.at ?? source.length} of \`${source}\``);
  };
  const eat = (text: string): boolean => {
    if (peek()?.kind === 'punct' && peek()?.text === text) {
      position += 1;
      return true;
    }
    return false;
  };
  const expect = (text: string): void => {
    if (!eat(text)) fail(`expected "${text}"`);
  };

  const binary = (next: () => Node, ops: readonly ('==' | '!=' | '&&' | '||')[]): (() => Node) => () => {
    let left = next();
    for (;;) {
      const op = ops.find((candidate) => peek()?.kind === 'punct' && peek()?.text === candidate);
      if (op === undefined) return left;
      position += 1;
      left = { kind: 'binary', op, left, right: next() };
    }
  };
  const unary = (): Node => (eat('!') ? { kind: 'not', operand: unary() } : postfix());
  const equality = binary(unary, ['==', '!=']);
  const and = binary(equality, ['&&']);
  const or = binary(and, ['||']);

  function postfix(): Node {
    let node = primary();
    for (;;) {
      if (eat('.')) {
        const name = peek();
        if (name?.kind !== 'ident') fail('expected a property name after "."');
        position += 1;
        node = { kind: 'property', of: node, name: (name as Token).text };
      } else if (eat('[')) {
        const index = or();
        expect(']');
        node = { kind: 'index', of: node, index };
      } else {
        return node;
      }
    }
  }

  function primary(): Node {
    const token = peek();
    if (token === undefined) return fail('unexpected end');
    if (eat('(')) {
      const inner = or();
      expect(')');
      return inner;
    }
    position += 1;
    if (token.kind === 'number') return { kind: 'literal', value: Number(token.text) };
    if (token.kind === 'string') return { kind: 'literal', value: token.text.slice(1, -1).replaceAll("''", "'") };
    if (token.kind !== 'ident') return fail(`unexpected "${token.text}"`);
    if (token.text === 'true' || token.text === 'false') return { kind: 'literal', value: token.text === 'true' };
    if (token.text === 'null') return { kind: 'literal', value: null };
    if (eat('(')) {
      const args: Node[] = [];
      if (!eat(')')) {
        do args.push(or());
        while (eat(','));
        expect(')');
      }
      if (token.text !== 'fromJSON' && !(STATUS_FUNCTIONS as readonly string[]).includes(token.text)) {
        throw new ExpressionError(`function ${token.text}() in \`${source}\` is not in the subset this simulator evaluates; teach test/it/sim/expressions.ts`);
      }
      const arity = token.text === 'fromJSON' ? 1 : 0;
      if (args.length !== arity) throw new ExpressionError(`${token.text}() takes ${arity} argument(s), \`${source}\` gives ${args.length}`);
      return { kind: 'call', name: token.text, args };
    }
    if (!(CONTEXTS as readonly string[]).includes(token.text)) {
      throw new ExpressionError(`context "${token.text}" in \`${source}\` is not one this simulator knows (${CONTEXTS.join(', ')})`);
    }
    return { kind: 'context', name: token.text };
  }

  const node = or();
  if (position < tokens.length) fail(`unexpected "${peek()?.text}"`);
  return node;
}

function lookup(object: Value, key: Value): Value {
  if (object === null || typeof object !== 'object') return null;
  if (Array.isArray(object)) return typeof key === 'number' && Number.isInteger(key) ? (object[key] ?? null) : null;
  if (typeof key !== 'string') return null;
  if (key in object) return object[key] ?? null;
  // Context property names are case-insensitive on GitHub.
  const found = Object.keys(object).find((name) => name.toLowerCase() === key.toLowerCase());
  return found === undefined ? null : (object[found] ?? null);
}

export function truthy(value: Value): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '';
  return true;
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value.trim() === '') return 0;
    if (/^0x[0-9a-f]+$/i.test(value.trim())) return Number(value.trim());
    try {
      const parsed: unknown = JSON.parse(value);
      return typeof parsed === 'number' ? parsed : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }
  return Number.NaN;
}

function looseEquals(a: Value, b: Value): boolean {
  const type = (v: Value): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (type(a) === type(b)) {
    if (typeof a === 'string') return a.toLowerCase() === (b as string).toLowerCase();
    if (typeof a === 'number') return a === b;
    return a === b;
  }
  const x = toNumber(a);
  const y = toNumber(b);
  return !Number.isNaN(x) && x === y;
}

export function evaluate(node: Node, scope: Scope): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'context': {
      const value = scope.contexts[node.name as (typeof CONTEXTS)[number]];
      if (value === undefined) throw new ExpressionError(`context ${node.name} is not available here`);
      return value;
    }
    case 'property':
      return lookup(evaluate(node.of, scope), node.name);
    case 'index':
      return lookup(evaluate(node.of, scope), evaluate(node.index, scope));
    case 'not':
      return !truthy(evaluate(node.operand, scope));
    case 'binary': {
      const left = evaluate(node.left, scope);
      if (node.op === '&&') return truthy(left) ? evaluate(node.right, scope) : left;
      if (node.op === '||') return truthy(left) ? left : evaluate(node.right, scope);
      const equal = looseEquals(left, evaluate(node.right, scope));
      return node.op === '==' ? equal : !equal;
    }
    case 'call': {
      if (node.name === 'fromJSON') {
        const text = evaluate(node.args[0] as Node, scope);
        if (typeof text !== 'string') throw new ExpressionError(`fromJSON() of a ${text === null ? 'null' : typeof text}, not a string`);
        try {
          return JSON.parse(text) as Value;
        } catch (error) {
          throw new ExpressionError(`fromJSON(${JSON.stringify(text.slice(0, 80))}): ${(error as Error).message}`);
        }
      }
      const status = scope.status?.[node.name as (typeof STATUS_FUNCTIONS)[number]];
      if (status === undefined) throw new ExpressionError(`${node.name}() is not available here`);
      return status();
    }
  }
}

/** Whether an expression calls a status function (else GitHub adds `success() &&` to an `if:`). */
export function callsStatus(node: Node): boolean {
  switch (node.kind) {
    case 'call':
      return (STATUS_FUNCTIONS as readonly string[]).includes(node.name) || node.args.some(callsStatus);
    case 'property':
      return callsStatus(node.of);
    case 'index':
      return callsStatus(node.of) || callsStatus(node.index);
    case 'not':
      return callsStatus(node.operand);
    case 'binary':
      return callsStatus(node.left) || callsStatus(node.right);
    default:
      return false;
  }
}

const WHOLE = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/;
const PART = /\$\{\{([\s\S]*?)\}\}/g;

export function asText(value: Value, where: string): string {
  if (value === null) return '';
  if (typeof value === 'object') throw new ExpressionError(`${where}: an ${Array.isArray(value) ? 'array' : 'object'} where text is expected`);
  return String(value);
}

/**
 * A workflow value with its `${{ }}` evaluated: a value that is one expression keeps its type
 * (`matrix: ${{ fromJSON(…) }}`), one with text around is text. Objects and arrays are walked.
 */
export function interpolate(value: unknown, scope: Scope, where: string): Value {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && !whole[1]?.includes('}}')) return evaluate(parseExpression(whole[1] as string), scope);
    return value.replace(PART, (_, source: string) => asText(evaluate(parseExpression(source), scope), where));
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, scope, `${where}[${i}]`));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, interpolate(item, scope, `${where}.${key}`)]));
  }
  throw new ExpressionError(`${where}: a ${typeof value} is no workflow value`);
}

/**
 * An `if:` as GitHub decides it: `${{ expr }}` or a bare expression; without a status function
 * it means `success() && (expr)`. Text around a `${{ }}` would make it a non-empty string, always
 * true: refused, as that is a bug in a workflow.
 */
export function condition(text: unknown, scope: Scope, where: string): boolean {
  const source = text === undefined ? 'success()' : typeof text === 'boolean' ? String(text) : String(text);
  const whole = WHOLE.exec(source);
  if (!whole && source.includes('${{')) throw new ExpressionError(`${where}: "${source}" has text around \${{ }}, so GitHub reads it as a string, always true`);
  const node = parseExpression(whole ? (whole[1] as string) : source);
  if (!callsStatus(node)) {
    const success = scope.status?.success;
    if (success === undefined) throw new ExpressionError(`${where}: success() is not available here`);
    // `success() && (expr)`: expr is not evaluated when success() is false.
    if (!success()) return false;
  }
  return truthy(evaluate(node, scope));
}
