// The build key: what identifies a build on any machine, with no engine. It digests the
// service's own inputs (the Dockerfile as written, with its flavor, the files it reads, build
// args, labels) and, for each image it builds on, the key of the checkout's parent service, or
// the reference of an image from elsewhere (with its registry digest when one was resolved).
// The local input hash (the image label) adds the IDs of the base images the engine has; the
// key is what the registry keeps a build under: `<namespace>/<svc>:key-<16 hex>`.

import { imageRef, type ImageRef } from '../model/image-ref.js';
import { inputLines, sha256 } from './input-digest.js';
import type { BuildInputs } from './types.js';

/** What one FROM or COPY --from reads, for the key. */
export type KeyBase =
  | { readonly instruction: 'FROM' | 'COPY'; readonly kind: 'service'; readonly service: string; readonly key: string }
  | { readonly instruction: 'FROM' | 'COPY'; readonly kind: 'image'; readonly image: string };

const KEY_VERSION = 'dockmk build key 1';

/**
 * `dockerfile`: the Dockerfile as it builds this flavor, before its bases are rewritten to the
 * tags one command or another builds (those differ between test, pkg and push; the key does not).
 */
export function buildKey(inputs: BuildInputs, dockerfile: string, bases: readonly KeyBase[]): string {
  const lines = [KEY_VERSION, `dockerfile\0${sha256(dockerfile)}`];
  for (const line of inputLines(inputs)) if (!line.startsWith('dockerfile\0')) lines.push(line);
  bases.forEach((base, i) => {
    lines.push(`base ${i} ${base.instruction}\0${base.kind === 'service' ? `service ${base.service} ${base.key}` : `image ${base.image}`}`);
  });
  return `sha256:${sha256(lines.join('\n'))}`;
}

/** The tag the registry keeps a build under: `key-` and the first 16 hex digits of its key. */
export function keyTag(key: string): string {
  return `key-${key.replace(/^sha256:/, '').slice(0, 16)}`;
}

/** `[<registry>/]<namespace>/<svc>:key-<16 hex>`. */
export function keyRefOf(where: { readonly namespace: string; readonly registry: string | null }, service: string, key: string): ImageRef {
  return imageRef(`${where.namespace}/${service}`, keyTag(key), where.registry);
}
