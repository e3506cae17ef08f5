// A recording Engine: what the runner asked for, in order; scripted output, failures and
// builds that wait to be released. For runner logic only: every real engine behaviour is
// tested in test/it/ on a real dockerd.

import type { Readable } from 'node:stream';
import { EngineError, InterruptedError } from '../../src/errors.js';
import type { BuildRequest, CallOptions, Engine, ImageInfo, RegistryAuth } from '../../src/execute/engine.js';
import { formatImageRef, type ImageRef } from '../../src/model/image-ref.js';

export interface Call {
  op: string;
  ref: string;
  auth?: RegistryAuth | null;
  labels?: Readonly<Record<string, string>>;
  /** What a build was asked for besides its context, as the engine would receive it. */
  build?: BuildOptions;
  labelsInDockerfile?: boolean;
}

/** A build request without its context stream (kept in `contexts`). */
export type BuildOptions = Omit<BuildRequest, 'context' | 'tag' | 'cacheFrom'> & { readonly tag: string; readonly cacheFrom: readonly string[] };

export class RecordingEngine implements Engine {
  readonly address = 'fake://engine';
  readonly calls: Call[] = [];
  readonly images = new Map<string, ImageInfo>();
  readonly failures = new Map<string, string>();
  /** Failures given once each, in order, before the call succeeds (a flaky registry). */
  readonly flaky = new Map<string, string[]>();
  readonly outputs = new Map<string, string[]>();
  readonly contexts: string[] = [];
  /** Builds named here wait until `release(name)` (or an abort). */
  readonly held = new Map<string, () => void>();
  private readonly holds = new Set<string>();
  rejectAuth: string | null = null;
  /** Where pushes land, when a test gives one. */
  registry: { store(ref: ImageRef, digest: string): void } | null = null;
  running = 0;
  maxRunning = 0;
  private counter = 0;

  /** The options of each build asked for, in order. */
  builds(): BuildOptions[] {
    return this.calls.flatMap((call) => (call.build ? [call.build] : []));
  }

  hold(ref: string): void {
    this.holds.add(ref);
  }

  release(ref: string): void {
    this.held.get(ref)?.();
  }

  async ping(): Promise<void> {}

  async inspectImage(ref: ImageRef): Promise<ImageInfo | null> {
    return this.images.get(formatImageRef(ref)) ?? null;
  }

  async pull(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<void> {
    this.record('pull', ref, options, auth);
    this.images.set(formatImageRef(ref), { id: `sha256:pulled-${formatImageRef(ref)}`, labels: {} });
  }

  async build(request: BuildRequest, options: CallOptions): Promise<{ imageId: string }> {
    const name = formatImageRef(request.tag);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      // As the real engines do with a body that breaks off (tar-stream's error, not an end): they
      // wait for the rest until the call is aborted (BuildKit for minutes).
      this.contexts.push(await drain(request.context).catch(() => this.stalled(options.signal)));
      const build: BuildOptions = {
        dockerfile: request.dockerfile,
        tag: name,
        buildArgs: request.buildArgs,
        noCache: request.noCache,
        labels: request.labels,
        cacheFrom: request.cacheFrom.map(formatImageRef),
      };
      this.calls.push({ op: 'build', ref: name, labels: request.labels, build, ...(request.labelsInDockerfile === undefined ? {} : { labelsInDockerfile: request.labelsInDockerfile }) });
      for (const line of this.outputs.get(`build ${name}`) ?? []) options.onLine(line);
      if (this.holds.has(name)) await this.wait(name, options.signal);
      const failure = this.failures.get(`build ${name}`);
      if (failure !== undefined) throw new EngineError(failure);
      const id = `sha256:built-${name}-${(this.counter += 1)}`;
      this.images.set(name, { id, labels: request.labels });
      return { imageId: id };
    } finally {
      this.running -= 1;
    }
  }

  async tag(source: ImageRef | string, target: ImageRef): Promise<void> {
    const name = typeof source === 'string' ? source : formatImageRef(source);
    this.calls.push({ op: 'tag', ref: `${name} ${formatImageRef(target)}` });
    const image = typeof source === 'string' ? [...this.images.values()].find((info) => info.id === source) : this.images.get(name);
    if (image) this.images.set(formatImageRef(target), image);
  }

  async untag(ref: ImageRef): Promise<void> {
    this.calls.push({ op: 'untag', ref: formatImageRef(ref) });
    this.images.delete(formatImageRef(ref));
  }

  async push(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<{ digest: string | null }> {
    this.record('push', ref, options, auth);
    this.registry?.store(ref, 'sha256:digest');
    return { digest: 'sha256:digest' };
  }

  async checkAuth(auth: RegistryAuth): Promise<void> {
    this.calls.push({ op: 'auth', ref: auth.serveraddress });
    if (this.rejectAuth !== null) throw new EngineError(this.rejectAuth);
  }

  private stalled(signal: AbortSignal): Promise<never> {
    return new Promise((_, reject) => {
      if (signal.aborted) return reject(new InterruptedError('interrupted'));
      signal.addEventListener('abort', () => reject(new InterruptedError('interrupted')), { once: true });
    });
  }

  private wait(name: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new InterruptedError('interrupted'));
      this.held.set(name, resolve);
      signal.addEventListener('abort', () => reject(new InterruptedError('interrupted')), { once: true });
    });
  }

  private record(op: string, ref: ImageRef, options: CallOptions, auth?: RegistryAuth | null): void {
    const name = formatImageRef(ref);
    this.calls.push({ op, ref: name, ...(auth === undefined ? {} : { auth }) });
    for (const line of this.outputs.get(`${op} ${name}`) ?? []) options.onLine(line);
    const failure = this.failures.get(`${op} ${name}`) ?? this.flaky.get(`${op} ${name}`)?.shift();
    if (failure !== undefined) throw new EngineError(failure);
  }
}

async function drain(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('latin1');
}
