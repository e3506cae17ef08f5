// The Dockerfile lexer: logical lines (directives, comments, continuations) and the word
// expansion Docker applies to FROM and ARG ($VAR, ${VAR:-word}, quotes, escapes).

export interface LogicalLine {
  /** Upper-cased instruction keyword. */
  readonly keyword: string;
  /** The text after the keyword, continuation lines joined, comment lines dropped. */
  readonly args: string;
  /** 1-based first and last physical line. */
  readonly line: number;
  readonly endLine: number;
}

export interface Lexed {
  readonly escape: string;
  readonly lines: readonly LogicalLine[];
  /** An `# escape=` directive whose value Docker refuses (only ` and \\ are allowed). */
  readonly badEscape?: { readonly line: number; readonly value: string };
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

/**
 * Splits Dockerfile text into instructions the way Docker's parser does: a UTF-8 byte order
 * mark before the first line is dropped (directives after it still count), CRLF line ends are
 * line ends, parser directives are read until the first line that is not one.
 */
export function lexDockerfile(text: string): Lexed {
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let badEscape: Lexed['badEscape'];
  let index = 0;
  const seen = new Set<string>();
  for (; index < physical.length; index++) {
    const match = DIRECTIVE.exec(physical[index] ?? '');
    if (!match) break;
    const name = (match[1] ?? '').toLowerCase();
    if (seen.has(name)) break;
    seen.add(name);
    if (name !== 'escape') continue;
    if (match[2] === '`' || match[2] === '\\') escape = match[2];
    else badEscape = { line: index + 1, value: match[2] ?? '' };
  }
  const lines: LogicalLine[] = [];
  let pending: { parts: string[]; line: number } | null = null;
  for (; index < physical.length; index++) {
    const raw = physical[index] ?? '';
    const trimmed = raw.trimStart();
    if (trimmed.startsWith('#')) continue;
    if (trimmed === '') continue;
    const cut = continuationAt(raw, escape);
    const continues = cut !== -1;
    const part = continues ? raw.slice(0, cut) : raw;
    if (pending === null) pending = { parts: [], line: index + 1 };
    pending.parts.push(pending.parts.length === 0 ? part.trimStart() : part);
    if (!continues) {
      lines.push(toLogical(pending.parts.join(''), pending.line, index + 1));
      pending = null;
    }
  }
  if (pending !== null) lines.push(toLogical(pending.parts.join(''), pending.line, physical.length));
  return badEscape ? { escape, lines, badEscape } : { escape, lines };
}

/** Where a line ends in the escape character followed by spaces and tabs only (a continuation), else -1. */
function continuationAt(line: string, escape: string): number {
  let end = line.length - 1;
  while (end >= 0 && (line[end] === ' ' || line[end] === '\t')) end--;
  return end >= 0 && line[end] === escape ? end : -1;
}

function toLogical(joined: string, line: number, endLine: number): LogicalLine {
  const text = joined.trim();
  const space = text.search(/\s/);
  const keyword = (space === -1 ? text : text.slice(0, space)).toUpperCase();
  const args = space === -1 ? '' : text.slice(space).trim();
  return { keyword, args, line, endLine };
}

/** Splits instruction arguments into words; quotes and escapes are kept for later expansion. */
export function splitWords(args: string, escape: string): string[] {
  // Each word is a slice of args (quotes and escapes kept as written): found by char codes, not
  // a regular expression and a string built a character at a time, since every Dockerfile of a
  // checkout of thousands goes through here on each cold run.
  const words: string[] = [];
  const escapeCode = escape.charCodeAt(0);
  let start = -1; // where the current word starts; -1 between words
  let quote = 0; // the char code of the open quote; 0 outside quotes
  for (let i = 0; i < args.length; i++) {
    const code = args.charCodeAt(i);
    if (quote === 0 && isSpace(code, args, i)) {
      if (start !== -1) words.push(args.slice(start, i));
      start = -1;
      continue;
    }
    if (start === -1) start = i;
    if (code === escapeCode && quote !== SINGLE_QUOTE && i + 1 < args.length) i++;
    else if (quote === 0 && (code === DOUBLE_QUOTE || code === SINGLE_QUOTE)) quote = code;
    else if (code === quote) quote = 0;
  }
  if (start !== -1) words.push(args.slice(start));
  return words;
}

const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;

/** What `/\s/` matches: ASCII whitespace by code, the rest of Unicode's by the expression. */
function isSpace(code: number, text: string, index: number): boolean {
  if (code === 32 || (code >= 9 && code <= 13)) return true;
  return code >= 128 && /\s/.test(text[index] as string);
}

/** Variables visible to an expansion; an absent key is unset, '' is set and empty. */
export type Env = ReadonlyMap<string, string>;

export interface Expansion {
  readonly value: string;
  /** Variables the word used that had no value. */
  readonly unset: readonly string[];
}

/** Expands one word as Docker's shell lexer does for FROM and ARG values. */
export function expandWord(word: string, env: Env, escape: string): Expansion {
  const unset: string[] = [];
  const value = new Expander(word, env, escape, unset).run('');
  return { value, unset };
}

class Expander {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly env: Env,
    private readonly escape: string,
    private readonly unset: string[],
  ) {}

  /** Reads until one of `stops` (outside quotes) or the end. */
  run(stops: string): string {
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos] as string;
      if (stops.includes(ch)) return out;
      this.pos++;
      if (ch === this.escape) {
        if (this.pos < this.text.length) out += this.text[this.pos++];
      } else if (ch === "'") {
        const end = this.text.indexOf("'", this.pos);
        const stop = end === -1 ? this.text.length : end;
        out += this.text.slice(this.pos, stop);
        this.pos = stop + 1;
      } else if (ch === '"') {
        out += this.doubleQuoted();
      } else if (ch === '$') {
        out += this.variable();
      } else {
        out += ch;
      }
    }
    return out;
  }

  private doubleQuoted(): string {
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++] as string;
      if (ch === '"') return out;
      if (ch === this.escape && this.pos < this.text.length) {
        const next = this.text[this.pos] as string;
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.pos++;
        } else {
          out += ch;
        }
      } else if (ch === '$') {
        out += this.variable();
      } else {
        out += ch;
      }
    }
    return out;
  }

  private variable(): string {
    const rest = this.text.slice(this.pos);
    const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (simple) {
      this.pos += simple[0].length;
      return this.lookup(simple[0]) ?? '';
    }
    if (!rest.startsWith('{')) return '$';
    this.pos++;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))?.[0] ?? '';
    this.pos += name.length;
    if (this.text[this.pos] === '}') {
      this.pos++;
      return this.lookup(name) ?? '';
    }
    const op = /^(:?[-+?])/.exec(this.text.slice(this.pos))?.[0];
    if (name === '' || op === undefined) {
      // Not a form Docker knows: keep the text so the error shows it.
      const end = this.text.indexOf('}', this.pos);
      const stop = end === -1 ? this.text.length : end + 1;
      const raw = '${' + name + this.text.slice(this.pos, stop);
      this.pos = stop;
      return raw;
    }
    this.pos += op.length;
    const word = this.run('}');
    this.pos++;
    const value = this.env.get(name);
    const colon = op.startsWith(':');
    const missing = value === undefined || (colon && value === '');
    switch (op.slice(-1)) {
      case '-':
        return missing ? word : (value as string);
      case '+':
        return missing ? '' : word;
      default:
        if (missing) this.unset.push(name);
        return value ?? '';
    }
  }

  private lookup(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) this.unset.push(name);
    return value;
  }
}

/** The words of an exec-form (JSON array) instruction; null for the shell form. */
export function jsonForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? (parsed as string[]) : null;
  } catch {
    return null;
  }
}

/** A shell word with its quotes taken off (`"a b"` → `a b`), as far as dockmk needs it. */
export function unquote(word: string): string {
  if (!word.includes('"') && !word.includes("'")) return word;
  return word.replace(/(["'])(.*?)\1/g, '$2');
}
