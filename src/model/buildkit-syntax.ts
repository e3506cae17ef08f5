// The Dockerfile syntax only BuildKit understands, found before anything is built: the classic
// builder would stop at it halfway through a run ("Unknown flag: mount"), or, for a `# syntax=`
// directive, silently build with its own parser instead of the frontend the file asks for.
// Pure: text in, findings out.

import { lexDockerfile, splitWords, type LogicalLine } from './dockerfile-lex.js';

export interface BuildkitFeature {
  /** 1-based line of the Dockerfile that uses it. */
  readonly line: number;
  /** What it is, as a user would name it: `RUN --mount`, `a heredoc (<<EOF)`, `the # syntax= directive`. */
  readonly feature: string;
}

/** Flags the classic builder refuses ("Unknown flag"), by instruction. */
const BUILDKIT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  RUN: ['mount', 'network', 'security', 'device'],
  COPY: ['link', 'parents', 'exclude', 'chmod'],
  ADD: ['link', 'parents', 'exclude', 'chmod', 'keep-git-dir', 'checksum'],
};

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

/** `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` (not the here-string `<<<`). */
const HEREDOC = /(?<!<)<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2(?!<)/g;

/** Every use of BuildKit-only syntax, in file order. */
export function buildkitOnlySyntax(text: string): BuildkitFeature[] {
  const found: BuildkitFeature[] = [];
  const physical = text.split(/\r?\n/);
  const seen = new Set<string>();
  for (const [index, raw] of physical.entries()) {
    const match = DIRECTIVE.exec(raw);
    if (!match) break;
    const name = (match[1] ?? '').toLowerCase();
    if (seen.has(name)) break;
    seen.add(name);
    if (name === 'syntax') found.push({ line: index + 1, feature: `the # syntax= directive (${match[2]})` });
  }
  const { escape, lines } = lexDockerfile(text);
  const bodies = heredocBodies(lines, physical);
  for (const line of lines) {
    if (bodies.has(line.line)) continue;
    const flags = BUILDKIT_FLAGS[line.keyword];
    if (flags === undefined) continue;
    for (const word of splitWords(line.args, escape)) {
      if (!word.startsWith('--')) break;
      const flag = /^--([a-z-]+)/.exec(word)?.[1] ?? '';
      if (flags.includes(flag)) found.push({ line: line.line, feature: `${line.keyword} --${flag}` });
    }
    const heredocs = heredocsOf(line, physical);
    if (heredocs.length > 0) found.push({ line: line.line, feature: `a heredoc in ${line.keyword} (<<${heredocs[0]})` });
  }
  return found.sort((a, b) => a.line - b.line);
}

/**
 * The first physical lines of the logical lines that are heredoc bodies (and terminators), not
 * instructions: BuildKit reads `RUN <<EOF` up to a line `EOF`.
 */
export function heredocBodies(lines: readonly LogicalLine[], physical: readonly string[]): ReadonlySet<number> {
  const bodies = new Set<number>();
  for (const line of lines) {
    if (bodies.has(line.line)) continue;
    let at = line.endLine;
    for (const word of heredocsOf(line, physical)) {
      const end = terminatorAfter(physical, at, word);
      if (end === null) break;
      for (const other of lines) if (other.line > at && other.line <= end) bodies.add(other.line);
      at = end;
    }
  }
  return bodies;
}

/** The terminator words of the heredocs a RUN, COPY or ADD opens, when their terminator line follows. */
function heredocsOf(line: LogicalLine, physical: readonly string[]): string[] {
  if (!['RUN', 'COPY', 'ADD'].includes(line.keyword)) return [];
  const words: string[] = [];
  let at = line.endLine;
  for (const match of line.args.matchAll(HEREDOC)) {
    const word = match[3] as string;
    const end = terminatorAfter(physical, at, word);
    if (end === null) break;
    words.push(word);
    at = end;
  }
  return words;
}

/** The 1-based line after `after` that holds only `word` (leading tabs allowed, as for <<-), or null. */
function terminatorAfter(physical: readonly string[], after: number, word: string): number | null {
  for (let index = after; index < physical.length; index++) {
    if ((physical[index] ?? '').replace(/^\t+/, '').trimEnd() === word) return index + 1;
  }
  return null;
}
