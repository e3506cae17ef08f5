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
  /**
   * The refs the run will ask about, asked now side by side (in one list when there are many),
   * so that each step finds its answer ready instead of waiting on the engine in turn.
   */
  expect(refs: readonly ImageRef[]): void;
}

/** Inspects before the list pays: each ~2 ms, the list ~2 ms an image the engine holds. */
export const INSPECTS_BEFORE_LIST = 24;

export function indexImages(engine: Engine, inspectsBeforeList = INSPECTS_BEFORE_LIST): ImageIndex {
  let snapshot: Promise<Map<string, ImageInfo> | null> | null = null;
  let asked = 0;
  const touched = new Set<string>();
  /** What the engine said (or is saying) about each ref no step of this run has changed. */
  const answers = new Map<string, Promise<ImageInfo | null>>();
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
  const ask = (ref: ImageRef, key: string): Promise<ImageInfo | null> => {
    let answer = answers.get(key);
    if (answer !== undefined) return answer;
    if (snapshot === null && asked < inspectsBeforeList) {
      asked += 1;
      answer = engine.inspectImage(ref);
    } else {
      answer = (snapshot ??= load()).then((images) => images?.get(key) ?? engine.inspectImage(ref));
    }
    answers.set(key, answer);
    // A failure is the asking step's to report, and the next step asks again.
    answer.catch(() => answers.get(key) === answer && answers.delete(key));
    return answer;
  };
  return {
    inspect(ref) {
      const key = refKey(ref);
      if (key === null || touched.has(key)) return engine.inspectImage(ref);
      return ask(ref, key);
    },
    touch(ref) {
      const key = refKey(ref);
      if (key === null) return;
      touched.add(key);
      answers.delete(key);
    },
    expect(refs) {
      const wanted = new Map<string, ImageRef>();
      for (const ref of refs) {
        const key = refKey(ref);
        if (key !== null && !touched.has(key) && !answers.has(key)) wanted.set(key, ref);
      }
      if (snapshot === null && asked + wanted.size > inspectsBeforeList) snapshot = load();
      for (const [key, ref] of wanted) ask(ref, key);
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
