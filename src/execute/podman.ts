// What Podman's Docker-compatible API (`podman system service`) does differently from dockerd,
// and how execute/docker.ts meets it. Pure helpers.
//
// - Registries: dockerd takes 127.0.0.0/8 (and its insecure-registries) over plain HTTP; Podman
//   takes only what registries.conf says, and its compat pull has no way to say it per call. So
//   for the registries dockmk itself talks plain HTTP to (loopback, DOCKMK_INSECURE_REGISTRIES, as
//   execute/registry.ts), pulls go through Podman's own endpoint (`/libpod/images/pull?tlsVerify=false`)
//   and pushes add `tlsVerify=false`; its /auth skips TLS only for `localhost:<port>`.
// - Push output: no `aux` with the digest, only a status line `<tag>: digest: sha256:… size: N`.
// - Builds run on Buildah: step headers `[2/3] STEP 1/4: …` (model/build-steps.ts); dockmk's labels
//   come as LABEL steps appended to the last stage; its `cachefrom` names one cache repository of
//   Buildah's own, not images to take layers from, so dockmk leaves it out and says so.
// - An interrupted build: closing the connection cancels it, but Buildah (Podman 4.3) sees that
//   only when the running step has ended by itself; it then commits and tags nothing.
// - Image names: the compat API resolves a short name against local images by its end first
//   (`debian:bookworm` finds `127.0.0.1:5000/x/debian:bookworm`, and tagging `debian:bookworm`
//   onto that image is then a no-op), and only else as Docker Hub's; so dockmk names every image
//   in full there (`docker.io/library/debian:bookworm`). Images list untagged ones with RepoTags
//   null; IDs are `sha256:…` as dockerd's.

import { canonicalRepository, type ImageRef } from '../model/image-ref.js';
import type { RegistryAuth } from './engine.js';

/** `docker.io/library/debian:bookworm` for `debian:bookworm`: a name Podman cannot resolve to another image. */
export function qualifiedName(ref: ImageRef): string {
  const { domain, path } = canonicalRepository(ref);
  return `${domain}/${path}${ref.digest !== null ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
}

/** The repository part of qualifiedName. */
export function qualifiedRepository(ref: ImageRef): string {
  const { domain, path } = canonicalRepository(ref);
  return `${domain}/${path}`;
}

/** The registries dockmk reaches over plain HTTP: loopback ones, and those listed in DOCKMK_INSECURE_REGISTRIES. */
export function isPlainHttpRegistry(domain: string, insecure: ReadonlySet<string>): boolean {
  const host = domain.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return insecure.has(domain) || insecure.has(host) || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function insecureRegistries(env: Readonly<Record<string, string | undefined>>): ReadonlySet<string> {
  return new Set((env.DOCKMK_INSECURE_REGISTRIES ?? '').split(',').map((host) => host.trim()).filter(Boolean));
}

/** Podman's /auth checks `localhost:<port>` without TLS, and no other address: a loopback registry is asked by that name. */
export function podmanAuthAddress(auth: RegistryAuth): RegistryAuth {
  const match = /^(?:https?:\/\/)?(?:127\.0\.0\.1|\[::1\]):(\d+)\/?$/.exec(auth.serveraddress);
  return match ? { ...auth, serveraddress: `localhost:${match[1]}` } : auth;
}

/** The digest in Podman's last push status, `latest: digest: sha256:… size: 528`. */
export function digestFromStatus(status: string): string | null {
  return /\bdigest: (sha256:[0-9a-f]{64})\b/.exec(status)?.[1] ?? null;
}
