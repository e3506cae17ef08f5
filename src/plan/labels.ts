// The labels every image carries. The OCI ones say where an image comes from (source,
// revision, commit time, version, title); they describe the commit, not the image's inputs,
// so they stay out of the input hash: an image whose inputs did not change between two commits
// is up to date, and keeps the labels of the commit that built it. Labels the user asks for
// (`--label`, `labels:` in dockmk.yml) are part of the image and of its input hash.

import { createHash } from 'node:crypto';
import type { Revision } from './tags.js';
import { normalizeTag, parseSemver } from './tags.js';

export const OCI_PREFIX = 'org.opencontainers.image.';

export interface LabelRevision extends Revision {
  /** Commit time, ISO 8601: `created` is the commit's, so a rebuild of one commit labels alike. */
  readonly committed?: string;
}

/** `org.opencontainers.image.{title,source,revision,created,version}` for one service. */
export function ociLabels(service: string, revision: LabelRevision): Record<string, string> {
  const labels: Record<string, string> = { [`${OCI_PREFIX}title`]: service };
  if (revision.source) labels[`${OCI_PREFIX}source`] = revision.source;
  if (revision.sha) labels[`${OCI_PREFIX}revision`] = revision.sha;
  if (revision.committed) labels[`${OCI_PREFIX}created`] = new Date(revision.committed).toISOString();
  const version = versionOf(revision);
  if (version) labels[`${OCI_PREFIX}version`] = version;
  return labels;
}

/** The release (`1.2.3` from `v1.2.3`), else the git tag, else the branch, else `sha-<7>`. */
export function versionOf(revision: Revision): string | undefined {
  if (revision.tag) {
    const semver = parseSemver(revision.tag);
    if (semver) return `${semver.major}.${semver.minor}.${semver.patch}${semver.prerelease ? `-${semver.prerelease}` : ''}`;
    return normalizeTag(revision.tag);
  }
  if (revision.branch) return normalizeTag(revision.branch);
  return revision.sha ? `sha-${revision.sha.slice(0, 7)}` : undefined;
}

/** A label key as Docker accepts it: no spaces or `=`, printable. */
export function isLabelKey(key: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key);
}

/** The label naming the checkout that built an image: two clones sharing an engine share tags. */
export const CHECKOUT_LABEL = 'org.dockmk.checkout';

/** A checkout's name on its images: not its path (pushed images would carry it), a digest of it. */
export function checkoutId(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 16);
}
