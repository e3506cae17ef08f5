// An in-memory registry for the runner's logic: which refs exist (by digest), what was asked,
// failures on given calls. Real registry behaviour is tested in test/it/ on docker-registry.

import { RegistryError, type Registry } from '../../src/execute/registry.js';
import { formatImageRef, type ImageRef } from '../../src/model/image-ref.js';

export interface RegistryCall {
  op: 'digest' | 'copy' | 'tags';
  ref: string;
}

export class FakeRegistry implements Registry {
  /** Ref (as formatted) → manifest digest. */
  readonly manifests = new Map<string, string>();
  readonly calls: RegistryCall[] = [];
  /** `<op> <ref>` → the message every such call fails with. */
  readonly failures = new Map<string, string>();
  /** `<op> <ref>` → messages given once each before the call succeeds. */
  readonly flaky = new Map<string, string[]>();
  /** Called after each successful write: a test can move refs under the runner's feet. */
  afterCopy: ((target: string) => void) | null = null;

  store(ref: ImageRef | string, digest: string): void {
    this.manifests.set(typeof ref === 'string' ? ref : formatImageRef(ref), digest);
  }

  async digest(ref: ImageRef): Promise<string | null> {
    this.record('digest', ref);
    return this.manifests.get(formatImageRef(ref)) ?? null;
  }

  async copy(source: ImageRef, target: ImageRef): Promise<string> {
    this.record('copy', target);
    const digest = this.manifests.get(formatImageRef(source));
    if (digest === undefined) throw new RegistryError(`${formatImageRef(source)} is not in the registry`, 404);
    this.manifests.set(formatImageRef(target), digest);
    this.afterCopy?.(formatImageRef(target));
    return digest;
  }

  async tags(repository: ImageRef): Promise<string[]> {
    this.record('tags', repository);
    const prefix = `${formatImageRef({ ...repository, tag: null, digest: null })}:`;
    return [...this.manifests.keys()].filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length));
  }

  private record(op: RegistryCall['op'], ref: ImageRef): void {
    const name = op === 'tags' ? formatImageRef({ ...ref, tag: null, digest: null }) : formatImageRef(ref);
    this.calls.push({ op, ref: name });
    const failure = this.failures.get(`${op} ${name}`) ?? this.flaky.get(`${op} ${name}`)?.shift();
    if (failure !== undefined) throw new RegistryError(failure, null);
  }
}
