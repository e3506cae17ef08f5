// The paths a change touches, from git: `--range A..B` compares two commits, `--since REF`
// compares the merge base of REF and HEAD with the working tree (committed, staged and unstaged
// changes, and untracked files), so it answers "what does my branch touch" before a commit too.
// Renames and deletions are kept: a renamed file counts at both its old and its new path.
// Paths are relative to the root (`git diff --relative`), which may be a subdirectory of the
// repository.

import { UsageError } from '../errors.js';
import type { ChangedPath, ChangeStatus } from '../plan/changed-path.js';

export type { ChangedPath, ChangeStatus } from '../plan/changed-path.js';

const STATUS: Record<string, ChangeStatus> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed', C: 'copied', T: 'modified', U: 'modified' };

/** Parses `git diff --name-status -z` output. */
export function parseNameStatus(output: string): ChangedPath[] {
  const fields = output.split('\0');
  const changes: ChangedPath[] = [];
  for (let i = 0; i < fields.length; ) {
    const code = fields[i++] ?? '';
    if (code === '') continue;
    const status = STATUS[code[0] as string] ?? 'modified';
    if (status === 'renamed' || status === 'copied') {
      const previous = fields[i++] ?? '';
      changes.push({ path: fields[i++] ?? '', status, previous });
    } else {
      changes.push({ path: fields[i++] ?? '', status });
    }
  }
  return changes;
}

/** Paths one per line (a --files list): blank lines and `#` comments skipped, `./` dropped. */
export function parsePathList(text: string): ChangedPath[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const path = line.trim().replace(/^\.\//, '');
    if (path !== '' && !path.startsWith('#')) seen.add(path);
  }
  return [...seen].map((path) => ({ path, status: 'changed' }));
}

export async function changedInRange(root: string, range: string): Promise<ChangedPath[]> {
  const [, from = '', dots, to = ''] = /^(.*?)(\.{2,3})(.*)$/.exec(range) ?? [];
  if (dots === undefined || /\s/.test(range) || from.startsWith('-') || to.startsWith('-') || to.startsWith('.') || (from === '' && to === '')) {
    throw new UsageError(`--range "${range}" is not a commit range`, {
      hint: 'write A..B (changes from A to B), A...B (from their merge base to B) or A.. (A to HEAD); for one reference use --since REF',
    });
  }
  return parseNameStatus(await git(root, ['diff', '--name-status', '-z', '-M', '--relative', range, '--']));
}

export async function changedSince(root: string, ref: string): Promise<ChangedPath[]> {
  if (ref.startsWith('-') || ref.includes('..') || /\s/.test(ref) || ref === '') {
    throw new UsageError(`--since "${ref}" is not a git reference`, { hint: 'name a branch, tag or commit, e.g. --since origin/main; for a range use --range A..B' });
  }
  const base = (await git(root, ['merge-base', ref, 'HEAD'])).trim();
  const [diff, untracked] = await Promise.all([
    git(root, ['diff', '--name-status', '-z', '-M', '--relative', base, '--']),
    git(root, ['ls-files', '--others', '--exclude-standard', '-z', '--', '.']),
  ]);
  const changes = parseNameStatus(diff);
  const known = new Set(changes.map((change) => change.path));
  for (const path of untracked.split('\0')) if (path !== '' && !known.has(path)) changes.push({ path, status: 'added' });
  return changes;
}

async function git(root: string, args: readonly string[]): Promise<string> {
  const { $ } = await import('zx');
  const result = await $({ cwd: root, quiet: true, nothrow: true })`git ${args}`;
  if (result.exitCode === 0) return result.stdout;
  if (args[0] === 'merge-base' && result.exitCode === 1 && result.stderr.trim() === '') {
    throw new UsageError(`${args[1]} and HEAD have no common ancestor in ${root}`, { hint: 'a shallow clone needs more history (actions/checkout with fetch-depth: 0); or use --range A..B' });
  }
  const message = result.stderr.trim().split('\n').find((line) => line.startsWith('fatal:') || line.startsWith('error:')) ?? result.stderr.trim();
  throw new UsageError(`git ${args[0]} failed in ${root}: ${message || `exit code ${result.exitCode}`}`, { hint: gitHint(message) });
}

function gitHint(message: string): string {
  if (/not a git repository/.test(message)) return 'run dockmk inside a git checkout, or list the changed paths with --files FILE (or --files - for stdin)';
  if (/no merge base|unknown revision|bad revision|ambiguous argument|Not a valid object/i.test(message)) {
    return 'check the reference exists here (`git fetch` it); a shallow clone needs more history (actions/checkout with fetch-depth: 0)';
  }
  if (/ENOENT|command not found/.test(message)) return 'install git, or list the changed paths with --files FILE';
  return 'run the same git command yourself to see why';
}
