// Image references as Docker reads them (distribution/reference grammar), kept as objects
// until execute/ or report/ formats them.

export interface ImageRef {
  /** Registry host[:port] as written, or null for Docker Hub written without one. */
  readonly domain: string | null;
  /** Repository path as written: `edxops/forum`, `ubuntu`. */
  readonly path: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

export type RefResult = { ok: true; ref: ImageRef } | { ok: false; reason: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;

export const DOCKER_HUB = 'docker.io';

/** True when `name` is one valid repository path component (what a service name must be). */
export function isPathComponent(name: string): boolean {
  return COMPONENT.test(name);
}

export function isRepositoryPath(path: string): boolean {
  return path.split('/').every((part) => COMPONENT.test(part));
}

export function isDomain(text: string): boolean {
  return DOMAIN.test(text);
}

/** Parses `[domain/]path[:tag][@digest]` the way the Docker daemon does. */
export function parseImageRef(text: string): RefResult {
  if (text === '') return { ok: false, reason: 'the image reference is empty' };
  if (text.length > 255 + 128 + 100) return { ok: false, reason: 'the image reference is too long' };
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return { ok: false, reason: `"${digest}" is not a valid digest` };
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') return { ok: false, reason: 'the tag after ":" is empty' };
    if (!TAG.test(tag)) return { ok: false, reason: `"${tag}" is not a valid tag` };
  }
  let domain: string | null = null;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      rest = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) return { ok: false, reason: `"${domain}" is not a valid registry host` };
    }
  }
  if (rest === '') return { ok: false, reason: 'the repository name is empty' };
  for (const part of rest.split('/')) {
    if (!COMPONENT.test(part)) {
      return {
        ok: false,
        reason:
          part === part.toLowerCase()
            ? `"${rest}" is not a valid repository name`
            : `repository name "${rest}" must be lowercase`,
      };
    }
  }
  return { ok: true, ref: { domain, path: rest, tag, digest } };
}

/** Formats a reference the way it was (or would be) written. */
export function formatImageRef(ref: ImageRef): string {
  let text = ref.domain === null ? ref.path : `${ref.domain}/${ref.path}`;
  if (ref.tag !== null) text += `:${ref.tag}`;
  if (ref.digest !== null) text += `@${ref.digest}`;
  return text;
}

/** The repository as the engine names it: Docker Hub's `library/` and domain made explicit. */
export function canonicalRepository(ref: ImageRef): { domain: string; path: string } {
  const domain = ref.domain === null || ref.domain === 'index.docker.io' ? DOCKER_HUB : ref.domain;
  const path = domain === DOCKER_HUB && !ref.path.includes('/') ? `library/${ref.path}` : ref.path;
  return { domain, path };
}

/** The registry host an engine talks to for this reference (Docker Hub when none is written). */
export function registryOf(ref: ImageRef): string {
  return canonicalRepository(ref).domain;
}

export function imageRef(path: string, tag: string | null, domain: string | null = null): ImageRef {
  return { domain, path, tag, digest: null };
}
