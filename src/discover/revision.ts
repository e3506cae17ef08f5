// What the checkout is at, for tag rules and OCI labels: sha, branch, tag, default branch,
// source URL and commit time. Read from git; CI variables (GITHUB_SHA, GITHUB_REF,
// GITHUB_SERVER_URL/GITHUB_REPOSITORY) override it when present. Never throws outside git:
// a field that cannot be read is left out.

import type { Revision } from '../plan/tags.js';

export interface RevisionInfo extends Revision {
  /** Commit time, ISO 8601 (the OCI `created` label: deterministic, unlike "now"). */
  readonly committed?: string;
}

/** Applies CI variables (GitHub Actions) over what git said. Pure. */
export function revisionFromEnv(base: RevisionInfo, env: Readonly<Record<string, string | undefined>>): RevisionInfo {
  const out: { -readonly [K in keyof RevisionInfo]: RevisionInfo[K] } = { ...base };
  if (env.GITHUB_SHA) out.sha = env.GITHUB_SHA;
  const ref = env.GITHUB_REF;
  if (ref?.startsWith('refs/heads/')) {
    out.branch = ref.slice('refs/heads/'.length);
  } else if (ref?.startsWith('refs/tags/')) {
    out.tag = ref.slice('refs/tags/'.length);
  } else if (ref?.startsWith('refs/pull/')) {
    // a pull request's merge commit is no branch of ours
    delete out.branch;
    if (env.GITHUB_HEAD_REF) out.branch = env.GITHUB_HEAD_REF;
  }
  if (env.DOCKMK_DEFAULT_BRANCH) out.defaultBranch = env.DOCKMK_DEFAULT_BRANCH;
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY) out.source = `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}`;
  return out;
}

/** `git@github.com:o/r.git` / `https://user:tok@host/o/r.git` → `https://host/o/r` (no credentials). */
export function sourceUrl(remote: string): string | undefined {
  const r = remote.trim();
  if (r === '') return undefined;
  const scp = /^[^@/]+@([^:/]+):(.+?)(?:\.git)?$/.exec(r);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const url = new URL(r);
    if (url.protocol === 'file:') return undefined;
    url.username = '';
    url.password = '';
    return url.toString().replace(/\.git$/, '').replace(/\/$/, '');
  } catch {
    return undefined;
  }
}

/** Reads the revision of `root` from git, then applies `env`. */
export async function readRevision(root: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<RevisionInfo> {
  const { $ } = await import('zx');
  const git = async (...args: string[]): Promise<string | undefined> => {
    const result = await $({ cwd: root, quiet: true, nothrow: true })`git ${args}`;
    const text = result.stdout.trim();
    return result.exitCode === 0 && text !== '' ? text : undefined;
  };
  const [sha, branch, tag, committed, remote, originHead] = await Promise.all([
    git('rev-parse', 'HEAD'),
    git('symbolic-ref', '--short', '-q', 'HEAD'),
    git('describe', '--tags', '--exact-match', 'HEAD'),
    git('show', '-s', '--format=%cI', 'HEAD'),
    git('remote', 'get-url', 'origin'),
    git('symbolic-ref', '--short', '-q', 'refs/remotes/origin/HEAD'),
  ]);
  const base: RevisionInfo = {
    ...(sha ? { sha } : {}),
    ...(branch ? { branch } : {}),
    ...(tag ? { tag } : {}),
    ...(committed ? { committed } : {}),
    defaultBranch: originHead?.replace(/^origin\//, '') ?? 'main',
    ...(remote && sourceUrl(remote) ? { source: sourceUrl(remote) } : {}),
  };
  return revisionFromEnv(base, env);
}
