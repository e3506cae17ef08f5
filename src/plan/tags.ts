/**
 * Tag rules for publishing, in the spirit of docker/metadata-action: pure data in, tag list out.
 * No git, no environment: the revision is read in `discover/revision.ts`.
 */

/** What the checkout is at: read from git, or from CI variables (GITHUB_SHA, GITHUB_REF). */
export interface Revision {
  /** Full commit sha (40 hex), or undefined outside git. */
  readonly sha?: string;
  /** Branch name (`refs/heads/` stripped), undefined on a detached HEAD or a tag build. */
  readonly branch?: string;
  /** Tag pointing at the commit (`refs/tags/` stripped). */
  readonly tag?: string;
  /** The repository's default branch, e.g. `main`. */
  readonly defaultBranch?: string;
  /** The repository URL (for the OCI `source` label). */
  readonly source?: string;
}

/** Which tags to publish. Every field optional; see DEFAULT_TAG_RULES. */
export interface TagRules {
  /** `sha-<7 chars>` */
  readonly shortSha: boolean;
  /** `sha-<40 chars>` */
  readonly longSha: boolean;
  /** the branch name, normalized */
  readonly branch: boolean;
  /** the git tag, normalized */
  readonly tag: boolean;
  /** `1.2.3`, `1.2`, `1` from a `v1.2.3` / `1.2.3` tag (prereleases: the full version only) */
  readonly semver: boolean;
  /** `default-branch`: only on the default branch (or a release tag on it); `always`; `never` */
  readonly latest: 'default-branch' | 'always' | 'never';
}

export const DEFAULT_TAG_RULES: TagRules = Object.freeze({
  shortSha: true,
  longSha: false,
  branch: true,
  tag: true,
  semver: true,
  latest: 'default-branch',
});

export interface Tag {
  readonly tag: string;
  /** Which rule produced it; `latest` is pushed last, after every versioned tag. */
  readonly kind: 'sha' | 'branch' | 'tag' | 'semver' | 'latest';
  /**
   * A floating release ref (`1`, `1.2`, `latest` of a release) moves only to the highest stable
   * release of its range: checked against the repository's tags when it is written.
   */
  readonly follows?: ReleaseRange;
}

/** The release a floating ref may point at: the highest stable one of `range`. */
export interface ReleaseRange {
  readonly version: SemVer;
  /** `major`: `1` (every 1.x.y); `minor`: `1.2` (every 1.2.y); `all`: `latest`. */
  readonly range: 'major' | 'minor' | 'all';
}

/** Refs that never move once written: a commit's sha. Everything else is mutable. */
export function isImmutable(tag: Pick<Tag, 'kind'>): boolean {
  return tag.kind === 'sha';
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

export interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease?: string;
}

/** `v1.2.3`, `1.2.3-rc.1` → parts; anything else → undefined. */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  return { major: m[1]!, minor: m[2]!, patch: m[3]!, ...(m[4] ? { prerelease: m[4] } : {}) };
}

/**
 * A docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, here also lowercased. Invalid characters
 * (`/` in `feature/x`) become `-`; a leading `.` or `-` is dropped. Empty → undefined.
 */
export function normalizeTag(text: string): string | undefined {
  let t = text.toLowerCase().replace(/[^a-z0-9_.-]/g, '-');
  t = t.replace(/^[.-]+/, '');
  t = t.slice(0, 128);
  return t === '' ? undefined : t;
}

/** The tags one revision gets under `rules`, deduplicated, `latest` last. */
export function computeTags(revision: Revision, rules: TagRules = DEFAULT_TAG_RULES): Tag[] {
  const out: Tag[] = [];
  const add = (kind: Tag['kind'], raw: string | undefined, follows?: ReleaseRange): void => {
    const tag = raw === undefined ? undefined : normalizeTag(raw);
    if (tag !== undefined && !out.some((t) => t.tag === tag)) out.push({ tag, kind, ...(follows ? { follows } : {}) });
  };
  const version = revision.tag === undefined ? undefined : parseSemver(revision.tag);
  if (rules.semver && version) {
    const full = `${version.major}.${version.minor}.${version.patch}${version.prerelease ? `-${version.prerelease}` : ''}`;
    add('semver', full);
    if (!version.prerelease) {
      add('semver', `${version.major}.${version.minor}`, { version, range: 'minor' });
      // `0` alone says nothing stable (0.x may break anything), as metadata-action does.
      if (version.major !== '0') add('semver', version.major, { version, range: 'major' });
    }
  }
  if (rules.tag && revision.tag !== undefined && !(rules.semver && version)) add('tag', revision.tag);
  if (rules.branch && revision.branch !== undefined) add('branch', revision.branch);
  if (revision.sha !== undefined && /^[0-9a-f]{7,64}$/i.test(revision.sha)) {
    if (rules.shortSha) add('sha', `sha-${revision.sha.slice(0, 7)}`);
    if (rules.longSha) add('sha', `sha-${revision.sha}`);
  }
  // A stable release moves latest only if it is the highest one (a hotfix of an older line
  // must not take latest back); a default-branch build without a release always does.
  const release = rules.semver && version && !version.prerelease ? version : undefined;
  if (wantsLatest(revision, rules, version)) add('latest', 'latest', release ? { version: release, range: 'all' } : undefined);
  // a branch literally called `latest` must not masquerade as the moving tag
  return out.filter((t) => t.kind === 'latest' || t.tag !== 'latest');
}

function wantsLatest(revision: Revision, rules: TagRules, version: SemVer | undefined): boolean {
  if (rules.latest === 'never') return false;
  if (version?.prerelease) return false;
  if (rules.latest === 'always') return true;
  const onDefault = revision.branch !== undefined && revision.branch === (revision.defaultBranch ?? 'main');
  // A release tag built as such (a `v*` tag push: no branch) is published as latest when it is
  // the highest; a topic branch that happens to hold a tagged commit is not.
  return onDefault || (rules.semver && version !== undefined && revision.branch === undefined);
}

/** -1, 0 or 1: how two stable versions compare. */
export function compareVersions(a: SemVer, b: SemVer): number {
  for (const part of ['major', 'minor', 'patch'] as const) {
    const difference = Number(a[part]) - Number(b[part]);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/**
 * Whether a floating ref may move to `follows.version`, given the tags the repository has: it
 * must be at least every stable release of its range there (prereleases never count).
 * Returns the higher release that holds it back, or null when it may move.
 */
export function higherRelease(follows: ReleaseRange, existing: readonly string[]): string | null {
  let highest: SemVer | null = null;
  for (const tag of existing) {
    if (!/^\d+\.\d+\.\d+$/.test(tag)) continue;
    const other = parseSemver(tag) as SemVer;
    if (follows.range !== 'all' && other.major !== follows.version.major) continue;
    if (follows.range === 'minor' && other.minor !== follows.version.minor) continue;
    if (highest === null || compareVersions(other, highest) > 0) highest = other;
  }
  if (highest === null || compareVersions(follows.version, highest) >= 0) return null;
  return `${highest.major}.${highest.minor}.${highest.patch}`;
}
