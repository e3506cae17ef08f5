// What reached the registry, from its own access log (docker-registry writes one line per
// request): per repository, the layer and config blobs uploaded (an upload ends with a PUT on
// /blobs/uploads/<id>), the blobs mounted from another repository (a POST with ?mount= the
// registry answered 201: no data moves) and the manifests written (PUT /manifests/<tag>).

import type { OwnRegistry } from '../registry.js';

export interface RepositoryTraffic {
  /** Blobs whose data was uploaded. */
  uploads: number;
  /** Blobs mounted from another repository. */
  mounts: number;
  /** Tags (or digests) a manifest was written under. */
  manifests: string[];
}

/** Where the registry's log ends now: give it to `trafficSince` later. */
export function logMark(registry: OwnRegistry): number {
  return Buffer.byteLength(registry.log(), 'utf8');
}

const ACCESS = /^\S+ \S+ \S+ \[[^\]]+\] "(GET|HEAD|POST|PUT|PATCH|DELETE) \/v2\/(\S+) HTTP\/[\d.]+" (\d{3}) /;

export function trafficSince(registry: OwnRegistry, mark: number): Map<string, RepositoryTraffic> {
  const text = Buffer.from(registry.log(), 'utf8').subarray(mark).toString('utf8');
  const traffic = new Map<string, RepositoryTraffic>();
  const of = (repository: string): RepositoryTraffic => {
    let entry = traffic.get(repository);
    if (entry === undefined) traffic.set(repository, (entry = { uploads: 0, mounts: 0, manifests: [] }));
    return entry;
  };
  for (const line of text.split('\n')) {
    const match = ACCESS.exec(line);
    if (!match) continue;
    const [, method, path, status] = match as unknown as [string, string, string, string];
    const upload = /^(.+)\/blobs\/uploads\/([^?]*)(\?.*)?$/.exec(path);
    if (upload) {
      const [, repository, id, query = ''] = upload as unknown as [string, string, string, string | undefined];
      if (method === 'PUT' && id !== '' && status === '201') of(repository).uploads += 1;
      if (method === 'POST' && /[?&]mount=/.test(query) && status === '201') of(repository).mounts += 1;
      continue;
    }
    const manifest = /^(.+)\/manifests\/([^?]+)$/.exec(path);
    if (manifest && method === 'PUT' && status === '201') of(manifest[1] as string).manifests.push(decodeURIComponent(manifest[2] as string));
  }
  return traffic;
}
