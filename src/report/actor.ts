// Who ran a build, for the history and the status page: the CI's actor when a CI names one,
// else the user of the machine. Recorded beside each build (history.jsonl `actor`).

import type { BuildRecord } from '../discover/runs.js';

/** A history record as this version writes it: with who ran it (older records have none). */
export type AttributedRecord = BuildRecord & { readonly actor?: string };

/** `github:octocat`, `gitlab:jdoe`, or the local user name; undefined when nothing says. */
export function actorOf(env: Readonly<Record<string, string | undefined>>, user?: () => string): string | undefined {
  if (env.GITHUB_ACTOR) return `github:${env.GITHUB_ACTOR}`;
  if (env.GITLAB_USER_LOGIN) return `gitlab:${env.GITLAB_USER_LOGIN}`;
  if (env.BUILDKITE_BUILD_CREATOR) return `buildkite:${env.BUILDKITE_BUILD_CREATOR}`;
  const name = env.USER ?? env.LOGNAME ?? env.USERNAME;
  if (name) return name;
  try {
    return user?.() || undefined;
  } catch {
    return undefined; // no passwd entry for this uid (a container)
  }
}
