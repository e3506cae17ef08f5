// --write-back FILE:KEY=SERVICE: which key of which YAML file gets which service's pushed ref,
// and which of the refs a push published is the one to write. Pure.

import { ConfigError } from '../errors.js';
import { parseImageRef } from './image-ref.js';
import { formatKeyPath, parseKeyPath } from './yaml-edit.js';

export interface WriteBackTarget {
  /** The YAML file as written (resolved against the directory it is relative to by the caller). */
  readonly file: string;
  readonly path: readonly string[];
  readonly service: string;
  /** Where it was given: `--write-back` or `dockmk.yml:12`. */
  readonly source: string;
}

/** `config.yml:DOCKER_IMAGE_OPENEDX=edxapp`, `deploy/values.yml:images.forum=forum`. */
export function parseWriteBack(spec: string, source = '--write-back'): WriteBackTarget {
  const match = /^(.+):([^:=]+)=([^:=]+)$/.exec(spec.trim());
  if (match === null) {
    throw new ConfigError(`${source} "${spec}" is not FILE:KEY=SERVICE`, { hint: 'e.g. --write-back config.yml:DOCKER_IMAGE_OPENEDX=edxapp (nested keys: images.openedx)' });
  }
  const [, file = '', key = '', service = ''] = match;
  return { file, path: parseKeyPath(key.trim()), service: service.trim(), source };
}

export function formatWriteBack(target: WriteBackTarget): string {
  return `${target.file}:${formatKeyPath(target.path)}=${target.service}`;
}

const FULL_SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const SHORT_SHA = /^sha-[0-9a-f]{7}(-[a-z]+)?$/;
const LONG_SHA = /^sha-[0-9a-f]{40}(-[a-z]+)?$/;

/**
 * The ref to write among those a push published for one image: the full semver tag (`1.2.3`,
 * before `v1.2.3`), else `sha-<7>`, else `sha-<40>`; with a digest, pinned: `…:1.2.3@sha256:…`.
 * Null when the push published no versioned tag (only `latest`, a branch) and no digest pins it.
 */
export function chooseRef(refs: readonly string[], digest: string | null): string | null {
  const tagged = refs.flatMap((text) => {
    const parsed = parseImageRef(text);
    return parsed.ok && parsed.ref.tag !== null ? [{ text, tag: parsed.ref.tag }] : [];
  });
  const rank = (tag: string): number => {
    if (FULL_SEMVER.test(tag)) return tag.startsWith('v') ? 1 : 0;
    if (SHORT_SHA.test(tag)) return 2;
    if (LONG_SHA.test(tag)) return 3;
    return 9;
  };
  const best = [...tagged].sort((a, b) => rank(a.tag) - rank(b.tag))[0];
  if (best !== undefined && rank(best.tag) < 9) return digest === null ? best.text : `${best.text}@${digest}`;
  // Only moving tags (latest, a branch): worth writing only when the digest pins the image.
  if (digest !== null && best !== undefined) return `${best.text}@${digest}`;
  return null;
}
