// What the checkout is at, for tag rules and OCI labels: sha, branch, tag, default branch,
// source URL and commit time. Read from git; CI variables (GITHUB_SHA, GITHUB_REF,
// GITHUB_SERVER_URL/GITHUB_REPOSITORY) override it when present. Never throws outside git:
// a field that cannot be read is left out.

import { execFile } from 'node:child_process';
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
  // The reproducible-builds convention for "when": seconds since the epoch.
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch && /^\d+$/.test(epoch)) out.committed = new Date(Number(epoch) * 1000).toISOString();
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

/**
 * `HEAD -> main, tag: v1.2.3, tag: v1.2.3-rc.1, origin/main` → the branch checked out and the
 * tag at the commit: a release tag before any other, as `git describe --exact-match` would
 * rarely choose otherwise.
 */
export function parseDecorations(text: string): { branch?: string; tag?: string } {
  const items = text.split(', ').map((item) => item.trim()).filter((item) => item !== '');
  const branch = items.find((item) => item.startsWith('HEAD -> '))?.slice('HEAD -> '.length);
  const tags = items.filter((item) => item.startsWith('tag: ')).map((item) => item.slice('tag: '.length));
  const tag = tags.find((name) => /^v?\d+\.\d+\.\d+$/.test(name)) ?? tags[0];
  return { ...(branch ? { branch } : {}), ...(tag ? { tag } : {}) };
}

/**
 * Reads the revision of `root` from git, then applies `env`. `defaultBranch` (dockmk.yml)
 * wins over origin's HEAD. Three small git commands run side by side; no shell, no zx, so that
 * a run that builds nothing pays little for them.
 */
export async function readRevision(
  root: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaultBranch: string | null = null,
): Promise<RevisionInfo> {
  const git = (...args: string[]): Promise<string | undefined> =>
    new Promise((resolve) => {
      execFile('git', args, { cwd: root, encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
        const text = String(stdout ?? '').trim();
        resolve(error === null && text !== '' ? text : undefined);
      });
    });
  // One `git log` says the commit, its time, and the branch and tags pointing at it.
  const [head, remote, originHead] = await Promise.all([
    git('-c', 'log.showSignature=false', 'log', '-1', '--no-color', '--format=%H%x00%cI%x00%D', 'HEAD'),
    git('config', '--get', 'remote.origin.url'),
    git('symbolic-ref', '--short', '-q', 'refs/remotes/origin/HEAD'),
  ]);
  const [sha, committed, decorations] = (head ?? '').split('\0');
  const { branch, tag } = parseDecorations(decorations ?? '');
  const base: RevisionInfo = {
    ...(sha ? { sha } : {}),
    ...(branch ? { branch } : {}),
    ...(tag ? { tag } : {}),
    ...(committed ? { committed } : {}),
    defaultBranch: defaultBranch ?? originHead?.replace(/^origin\//, '') ?? 'main',
    ...(remote && sourceUrl(remote) ? { source: sourceUrl(remote) } : {}),
  };
  return revisionFromEnv(base, env);
}
