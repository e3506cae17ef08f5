// The images a `RUN --mount=from=<image>` reads (BuildKit): each --mount flag is a list of
// comma-separated key=value pairs, of which `from` names a stage, a stage index or an image.

import { splitWords, unquote as shellUnquote } from './dockerfile-lex.js';

/** One `from=` of a RUN's --mount flags: the value as written and the flag's word index. */
export interface MountFrom {
  readonly word: number;
  readonly value: string;
}

/** The `from=` values of a RUN's leading --mount flags (none for the JSON form's words). */
export function mountFroms(args: string, escape: string): MountFrom[] {
  const out: MountFrom[] = [];
  const words = splitWords(args, escape);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith('--')) break;
    const match = /^--mount=(.*)$/.exec(word);
    if (!match) continue;
    // The shell's quotes go first (`--mount="from=x,target=/y"`), then the CSV fields split.
    for (const field of splitFields(shellUnquote(match[1] as string))) {
      const eq = field.indexOf('=');
      if (eq !== -1 && field.slice(0, eq).trim().toLowerCase() === 'from') out.push({ word: i, value: unquote(field.slice(eq + 1).trim()) });
    }
  }
  return out;
}

/**
 * True when a RUN's --mount flags bind the build context itself (`type=bind` — the default type —
 * without `from=`): the step can read any file of the context, as a whole-context COPY does.
 */
export function mountsContext(args: string, escape: string): boolean {
  for (const word of splitWords(args, escape)) {
    if (!word.startsWith('--')) break;
    const match = /^--mount=(.*)$/.exec(word);
    if (!match) continue;
    const fields = splitFields(shellUnquote(match[1] as string)).map((field) => field.trim().toLowerCase());
    const type = fields.find((field) => field.startsWith('type='))?.slice('type='.length) ?? 'bind';
    if (type === 'bind' && !fields.some((field) => field.startsWith('from='))) return true;
  }
  return false;
}

/** The --mount word with its `from=` set to `image`, every other field as written. */
export function replaceMountFrom(word: string, image: string): string {
  const [flag, ...rest] = word.split('=');
  const fields = splitFields(shellUnquote(rest.join('=')));
  return `${flag}=${fields.map((field) => (/^\s*from\s*=/i.test(field) ? `from=${image}` : field)).join(',')}`;
}

/** CSV fields as BuildKit reads them: commas inside double quotes do not split. */
function splitFields(text: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}
