// Rule (f): a file a Dockerfile COPYs or ADDs by name is an input of that service. The sources
// are paths of the build context (the checkout root): a file, a directory (everything under it
// counts) or a pattern with Docker's wildcards (`*`, `?`, `[...]`), which may match the file or
// one of its directories. The whole-context copy (`ADD . /edx/app/...`, or `*`) is left out:
// every image has one, and following it would make every change affect every image.

import { posix } from 'node:path';
import type { Checkout } from './checkout.js';
import type { ContextSource, Dockerfile } from './dockerfile.js';

export interface CopyMatch {
  readonly service: string;
  readonly dockerfile: string;
  readonly source: ContextSource;
}

export interface CopyIndex {
  /** The copies that read `path`. */
  match(path: string): readonly CopyMatch[];
}

export function indexCopySources(checkout: Checkout): CopyIndex {
  const exact = new Map<string, CopyMatch[]>();
  const patterns: { regex: RegExp; match: CopyMatch }[] = [];
  for (const service of checkout.services.values()) {
    // A service with a context of its own is affected by any file under it (rule a).
    if (service.context !== '.') continue;
    for (const source of service.dockerfile.contextSources) {
      const path = normalizeSource(source.source);
      if (path === null) continue;
      const match = { service: service.name, dockerfile: service.dockerfile.path, source };
      if (/[*?[]/.test(path)) patterns.push({ regex: globToRegex(path), match });
      else exact.set(path, [...(exact.get(path) ?? []), match]);
    }
  }
  return {
    match(path) {
      const found: CopyMatch[] = [];
      for (const candidate of selfAndAncestors(path)) {
        found.push(...(exact.get(candidate) ?? []));
        for (const pattern of patterns) if (pattern.regex.test(candidate)) found.push(pattern.match);
      }
      return found;
    },
  };
}

/**
 * Which context paths a Dockerfile's COPY/ADD sources read: a test of a path, or 'all' when it
 * copies the whole context (`.`, `*`, a path with a variable left) or binds it (RUN --mount).
 */
export function sourcesMatcher(dockerfile: Pick<Dockerfile, 'contextSources' | 'mountsContext'>): ((path: string) => boolean) | 'all' {
  if (dockerfile.mountsContext) return 'all';
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const source of dockerfile.contextSources) {
    const path = normalizeSource(source.source);
    if (path === null || path.includes('$')) return 'all';
    if (/[*?[]/.test(path)) patterns.push(globToRegex(path));
    else exact.add(path);
  }
  return (path) => selfAndAncestors(path).some((candidate) => exact.has(candidate) || patterns.some((regex) => regex.test(candidate)));
}

/** The context path a source names, or null for the whole context or a path outside it. */
export function normalizeSource(source: string): string | null {
  const path = posix.normalize(source.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (path === '.' || path === '' || path === '*' || path === '..' || path.startsWith('../')) return null;
  return path;
}

function selfAndAncestors(path: string): string[] {
  const out = [path];
  for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) out.push(path.slice(0, slash));
  return out;
}

/** Go's filepath.Match, which Docker uses for COPY sources: `*` and `?` never cross a `/`. */
function globToRegex(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      out += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += ch.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
