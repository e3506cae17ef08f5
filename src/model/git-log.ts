// `git log` output as data: each commit with its author, date, subject and the paths it
// touched (status letter, and the old path of a rename). Pure: the text comes from the caller.

/** The --format to ask git for: a record separator, then fields split by unit separators. */
export const GIT_LOG_FORMAT = '%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s';

export interface CommitFile {
  /** A, M, D, R, C, T… (the first letter of git's status). */
  readonly status: string;
  readonly path: string;
  readonly previous?: string;
}

export interface Commit {
  readonly sha: string;
  readonly author: string;
  readonly email: string;
  /** ISO 8601, with the author's offset. */
  readonly date: string;
  readonly subject: string;
  readonly files: readonly CommitFile[];
}

/** Parses `git log --name-status --format=GIT_LOG_FORMAT` (newest first, as git prints it). */
export function parseGitLog(output: string): Commit[] {
  const commits: Commit[] = [];
  for (const record of output.split('\x1e')) {
    if (record.trim() === '') continue;
    const [header = '', ...rest] = record.split('\n');
    const [sha = '', author = '', email = '', date = '', subject = ''] = header.split('\x1f');
    if (!/^[0-9a-f]{40,64}$/.test(sha)) continue;
    const files: CommitFile[] = [];
    for (const line of rest) {
      if (line.trim() === '') continue;
      const [code = '', first = '', second] = line.split('\t');
      const status = code.charAt(0);
      if (status === '' || first === '') continue;
      files.push(second !== undefined && (status === 'R' || status === 'C') ? { status, path: second, previous: first } : { status, path: first });
    }
    commits.push({ sha, author, email, date, subject, files });
  }
  return commits;
}

/** `git status --porcelain -z` → the paths that differ from HEAD (both sides of a rename). */
export function parsePorcelain(output: string): string[] {
  const paths: string[] = [];
  const fields = output.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    if (field.length < 4) continue;
    paths.push(field.slice(3));
    // A rename or copy is followed by the path it came from.
    if (field[0] === 'R' || field[0] === 'C') {
      const from = fields[i + 1];
      if (from) paths.push(from);
      i++;
    }
  }
  return paths;
}
