// What the engine's images are, read in one call once a run asks about many: a run of 2,000
// up-to-date builds asks the engine for the ID and labels of every tag and every base, and one
// `GET /images/json` answers them all where 4,000 inspects took seconds. The list costs what the
// engine holds, though (~1 s for 500 images on dockerd 20.10, which sizes each), so the first
// few refs are inspected one by one: a run of the five examples needs no list at all. A ref that
// a step of this run has changed (built, pulled, tagged) is asked again; one the list does not
// name (a short ID, another spelling) too.

import { canonicalRepository, parseImageRef, type ImageRef } from '../model/image-ref.js';
import type { Engine, ImageInfo } from './engine.js';

export interface ImageIndex {
  /** The image a reference points to, or null when the engine has none. */
  inspect(ref: ImageRef): Promise<ImageInfo | null>;
  /** `ref` may point elsewhere from now on (a step built, pulled or tagged it). */
  touch(ref: ImageRef): void;
}

/** Inspects before the list pays: each ~2 ms, the list ~2 ms an image the engine holds. */
export const INSPECTS_BEFORE_LIST = 24;

export function indexImages(engine: Engine, inspectsBeforeList = INSPECTS_BEFORE_LIST): ImageIndex {
  let snapshot: Promise<Map<string, ImageInfo> | null> | null = null;
  let asked = 0;
  const touched = new Set<string>();
  const load = async (): Promise<Map<string, ImageInfo> | null> => {
    if (engine.listImages === undefined) return null;
    const byRef = new Map<string, ImageInfo>();
    for (const image of await engine.listImages()) {
      for (const name of image.refs) {
        const key = refKey(name);
        if (key !== null) byRef.set(key, { id: image.id, labels: image.labels });
      }
    }
    return byRef;
  };
  return {
    async inspect(ref) {
      const key = refKey(ref);
      if (key === null || touched.has(key)) return engine.inspectImage(ref);
      if (snapshot === null && asked < inspectsBeforeList) {
        asked += 1;
        return engine.inspectImage(ref);
      }
      const images = await (snapshot ??= load());
      return images?.get(key) ?? engine.inspectImage(ref);
    },
    touch(ref) {
      const key = refKey(ref);
      if (key !== null) touched.add(key);
    },
  };
}

/** One spelling for every way of writing a ref: `debian:bookworm` = `docker.io/library/debian:bookworm`. */
function refKey(ref: ImageRef | string): string | null {
  let parsed: ImageRef;
  if (typeof ref === 'string') {
    const result = parseImageRef(ref);
    if (!result.ok) return null;
    parsed = result.ref;
  } else {
    parsed = ref;
  }
  const { domain, path } = canonicalRepository(parsed);
  if (parsed.digest !== null) return `${domain}/${path}@${parsed.digest}`;
  return `${domain}/${path}:${parsed.tag ?? 'latest'}`;
}
