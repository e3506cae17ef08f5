// The `ansible-playbook <play>` commands of a RUN (shell or JSON form): where they are, which
// play, and the --tags and --skip-tags they pass (the devstack flavor and lint read these).

import { jsonForm, splitWords, unquote, type LogicalLine } from './dockerfile-lex.js';

export interface PlaybookRun {
  readonly line: number;
  /** The last physical line of the RUN instruction (continuations). */
  readonly endLine: number;
  /** Exec (JSON) form: `RUN ["ansible-playbook", …]`. */
  readonly execForm: boolean;
  /** The playbook argument as written (`forum.yml`, `./docker/plays/x.yml`). */
  readonly playbook: string;
  readonly sudo: boolean;
  readonly tags: readonly string[];
  readonly skipTags: readonly string[];
}

const VALUE_OPTIONS = new Set([
  '-i', '--inventory', '--inventory-file', '-t', '--tags', '--skip-tags', '-e', '--extra-vars',
  '-c', '--connection', '-u', '--user', '-l', '--limit', '-f', '--forks', '-M', '--module-path',
  '--vault-id', '--vault-password-file', '--private-key', '--key-file', '-T', '--timeout',
  '--become-user', '--become-method', '--start-at-task', '--ssh-common-args', '--ssh-extra-args',
]);
const SEPARATORS = new Set(['&&', '||', ';', '|']);

/** Finds `ansible-playbook <play>` commands in a RUN (shell or JSON form). */
export function findPlaybookRuns(line: LogicalLine, escape: string): PlaybookRun[] {
  const words = runWords(line.args, escape);
  const runs: PlaybookRun[] = [];
  let segmentStart = 0;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (SEPARATORS.has(word)) {
      segmentStart = i + 1;
      continue;
    }
    if (word !== 'ansible-playbook' && !word.endsWith('/ansible-playbook')) continue;
    // Only as the command itself (`ln -s /usr/bin/ansible-playbook …` runs no play).
    if (!commandPrefix(words.slice(segmentStart, i))) continue;
    const sudo = words.slice(segmentStart, i).includes('sudo');
    const tags: string[] = [];
    const skipTags: string[] = [];
    let playbook: string | null = null;
    let j = i + 1;
    for (; j < words.length && !SEPARATORS.has(words[j] as string); j++) {
      const current = words[j] as string;
      const [option, inline] = current.startsWith('--') ? splitOnce(current, '=') : [current, null];
      if (option.startsWith('-')) {
        let value = inline;
        if (value === null && VALUE_OPTIONS.has(option)) value = words[++j] ?? '';
        if (value === null && /^-[tie]./.test(option)) value = option.slice(2);
        if (option === '-t' || option === '--tags' || option.startsWith('-t')) tags.push(...splitList(value));
        if (option === '--skip-tags') skipTags.push(...splitList(value));
      } else if (playbook === null) {
        playbook = current;
      }
    }
    if (playbook !== null) runs.push({ line: line.line, endLine: line.endLine, execForm: jsonForm(line.args) !== null, playbook, sudo, tags, skipTags });
    i = j - 1;
  }
  return runs;
}

/** Words that may come before a command: `sudo [-u user] [-E]`, `env`, `exec`, `NAME=value`. */
function commandPrefix(words: readonly string[]): boolean {
  return words.every((word, i) => {
    if (['sudo', 'env', 'exec'].includes(word) || /^-/.test(word) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) return true;
    return ['-u', '-g', '-H', '--user', '--group'].includes(words[i - 1] ?? '') && words.includes('sudo');
  });
}

function runWords(args: string, escape: string): string[] {
  // Not JSON: Docker runs it through the shell, and so do we.
  return jsonForm(args) ?? splitWords(args.replace(/(&&|\|\||;)/g, ' $1 '), escape).map(unquote);
}

function splitOnce(text: string, separator: string): [string, string | null] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, null] : [text.slice(0, index), text.slice(index + 1)];
}

function splitList(value: string | null): string[] {
  return (value ?? '').split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
}
