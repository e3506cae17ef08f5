// The Engine on a real Docker daemon, through dockerode. The only module that imports it.
// dockerode (with BuildKit's gRPC and ssh2) takes ~90 ms to load; it is loaded on the first call
// that streams (build, pull, push) or changes something. The two questions a run that builds
// nothing asks — is the engine there, what does this tag point to — are plain GETs, answered
// over node:http on unix sockets and plain TCP.

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ConfigError, EngineError, InterruptedError } from '../errors.js';
import { formatImageRef, type ImageRef } from '../model/image-ref.js';
import type { BuildRequest, CallOptions, Engine, ImageInfo, ListedImage, RegistryAuth } from './engine.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Connects to `host` (--engine), else DOCKER_HOST, else the default socket. */
export function connectEngine(host: string | undefined, env: Readonly<Record<string, string | undefined>>): Engine {
  const address = host ?? env.DOCKER_HOST ?? `unix://${DEFAULT_SOCKET}`;
  return new DockerEngine(modemOptions(address, env), address);
}

function modemOptions(address: string, env: Readonly<Record<string, string | undefined>>): Docker.DockerOptions {
  const none = { host: undefined, port: undefined, protocol: undefined, socketPath: undefined } as const;
  if (address.startsWith('unix://')) return { ...none, socketPath: address.slice('unix://'.length) || DEFAULT_SOCKET };
  if (address.startsWith('/')) return { ...none, socketPath: address };
  let url: URL;
  try {
    url = new URL(address.includes('//') ? address : `tcp://${address}`);
  } catch {
    throw new ConfigError(`engine address "${address}" is not a URL`, {
      hint: 'use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host',
    });
  }
  if (url.protocol === 'ssh:') {
    return {
      ...none,
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || 22,
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: env.SSH_AUTH_SOCK },
    } as Docker.DockerOptions;
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`engine address "${address}" has an unknown scheme ${url.protocol}`, {
      hint: 'use unix://, tcp:// or ssh://',
    });
  }
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  const certs = tls && env.DOCKER_CERT_PATH;
  return {
    ...none,
    protocol: tls ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (tls ? 2376 : 2375),
    ...(certs
      ? {
          ca: readFileSync(join(certs, 'ca.pem')),
          cert: readFileSync(join(certs, 'cert.pem')),
          key: readFileSync(join(certs, 'key.pem')),
        }
      : {}),
  };
}

interface Message {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

class DockerEngine implements Engine {
  private docker: Promise<Docker> | null = null;

  constructor(
    private readonly options: Docker.DockerOptions,
    readonly address: string,
  ) {}

  private client(): Promise<Docker> {
    this.docker ??= import('dockerode').then(({ default: Dockerode }) => new Dockerode(this.options));
    return this.docker;
  }

  /** A GET answered over node:http where that is enough (unix, plain TCP); else through dockerode. */
  private async get(path: string, signal: AbortSignal | undefined, viaDockerode: (docker: Docker) => Promise<unknown>): Promise<unknown> {
    const { socketPath, host, port, protocol } = this.options;
    if (!socketPath && protocol !== 'http') return viaDockerode(await this.client());
    return new Promise((resolve, reject) => {
      const target = socketPath ? { socketPath } : { host, port: Number(port) };
      const req = httpRequest({ ...target, path, method: 'GET', ...(signal ? { signal } : {}) }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('error', reject);
        response.on('end', () => {
          const json = parseJson(body);
          if ((response.statusCode ?? 500) < 300) resolve(json ?? body);
          // the shape dockerode's errors have, for statusOf and engineMessage
          else reject(Object.assign(new Error(`(HTTP code ${response.statusCode}) ${body.trim()}`), { statusCode: response.statusCode, json }));
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  async ping(signal: AbortSignal): Promise<void> {
    try {
      await this.get('/_ping', signal, (docker) => (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: signal }));
    } catch (error) {
      if (signal.aborted) throw interrupted();
      throw new EngineError(`no Docker engine answers at ${this.address} (${describe(error)})`, {
        hint: 'start one (as root: `npm run setup`), or point DOCKER_HOST or --engine at a running engine',
      });
    }
  }

  async inspectImage(ref: ImageRef): Promise<ImageInfo | null> {
    try {
      const name = formatImageRef(ref);
      const info = (await this.get(`/images/${name}/json`, undefined, (docker) => docker.getImage(name).inspect())) as Docker.ImageInspectInfo;
      return { id: info.Id, labels: info.Config?.Labels ?? {} };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.failure(`could not inspect ${formatImageRef(ref)}`, error);
    }
  }

  async listImages(): Promise<ListedImage[]> {
    try {
      const list = (await this.get('/images/json', undefined, (docker) => docker.listImages())) as Docker.ImageInfo[];
      return list.map((image) => ({
        id: image.Id,
        labels: image.Labels ?? {},
        refs: [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((ref) => !ref.startsWith('<none>')),
      }));
    } catch (error) {
      throw this.failure('could not list the images', error);
    }
  }

  async pull(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<void> {
    const name = formatImageRef(ref.tag === null && ref.digest === null ? { ...ref, tag: 'latest' } : ref);
    const stream = await this.call(`pull ${name}`, options.signal, async () =>
      (await this.client()).pull(name, { ...(auth ? { authconfig: auth } : {}), abortSignal: options.signal }),
    );
    await follow(stream, options, (message) => {
      if (message.status && !message.progress) options.onLine(message.id ? `${message.id}: ${message.status}` : message.status);
    });
  }

  async build(request: BuildRequest, options: CallOptions): Promise<{ imageId: string }> {
    const stream = await this.call(`build ${formatImageRef(request.tag)}`, options.signal, async () =>
      (await this.client()).buildImage(request.context as unknown as NodeJS.ReadableStream, {
        dockerfile: request.dockerfile,
        t: formatImageRef(request.tag),
        buildargs: request.buildArgs,
        ...(request.labelsInDockerfile ? {} : { labels: request.labels }),
        ...(request.cacheFrom.length > 0 ? { cachefrom: JSON.stringify(request.cacheFrom.map(formatImageRef)) } : {}),
        nocache: request.noCache,
        rm: true,
        forcerm: true,
        abortSignal: options.signal,
      }),
    );
    let imageId: string | null = null;
    let partial = '';
    let container: string | null = null;
    try {
      await follow(stream, options, (message) => {
        if (message.aux?.ID) imageId = message.aux.ID;
        if (message.stream !== undefined) {
          const lines = (partial + message.stream).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            container = /^ ---> Running in ([0-9a-f]{12,})/.exec(line)?.[1] ?? container;
            options.onLine(line.replace(/\r$/, ''));
          }
        }
      });
    } catch (error) {
      // Cancelled: the engine kills and removes the step's container once it sees the
      // connection close; wait for that, so nothing of the build outlives the command.
      if (options.signal.aborted && container !== null) await this.containerGone(container);
      throw error;
    }
    if (partial !== '') options.onLine(partial);
    if (imageId === null) {
      // Old engines report only "Successfully built <id>".
      imageId = (await this.inspectImage(request.tag))?.id ?? '';
    }
    return { imageId };
  }

  /**
   * Waits until a cancelled build's container is gone. The engine kills and removes it itself
   * when the build connection closes; its removal can lose a race with the kill and leave the
   * container behind (then dockmk removes it, since the command owns it), and while it is
   * "removing" the wait endpoint answers at once, so the container is looked up until the
   * engine no longer knows it.
   */
  private async containerGone(id: string): Promise<void> {
    const container = (await this.client()).getContainer(id);
    const gone = (): Promise<boolean> => container.inspect().then(() => false, (error: unknown) => statusOf(error) === 404);
    const started = Date.now();
    let forced = false;
    while (!(await gone())) {
      const waited = Date.now() - started;
      if (waited > 30_000) return;
      if (!forced && waited > 10_000) {
        forced = true;
        await container.remove({ force: true }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async tag(source: ImageRef | string, target: ImageRef): Promise<void> {
    const repo = formatImageRef({ ...target, tag: null, digest: null });
    const name = typeof source === 'string' ? source : formatImageRef(source);
    try {
      await (await this.client()).getImage(name).tag({ repo, tag: target.tag ?? 'latest' });
    } catch (error) {
      throw this.failure(`could not tag ${name} as ${formatImageRef(target)}`, error);
    }
  }

  async untag(ref: ImageRef): Promise<void> {
    try {
      await (await this.client()).getImage(formatImageRef(ref)).remove({ noprune: true });
    } catch (error) {
      if (statusOf(error) !== 404) throw this.failure(`could not remove the tag ${formatImageRef(ref)}`, error);
    }
  }

  async push(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<{ digest: string | null }> {
    const repo = formatImageRef({ ...ref, tag: null, digest: null });
    const stream = await this.call(`push ${formatImageRef(ref)}`, options.signal, async () =>
      (await this.client()).getImage(repo).push({
        tag: ref.tag ?? 'latest',
        ...(auth ? { authconfig: auth } : {}),
        abortSignal: options.signal,
      }),
    );
    let digest: string | null = null;
    await follow(stream, options, (message) => {
      if (message.aux?.Digest) digest = message.aux.Digest;
      if (message.status && !message.progress) options.onLine(message.id ? `${message.id}: ${message.status}` : message.status);
    });
    return { digest };
  }

  async checkAuth(auth: RegistryAuth, signal: AbortSignal): Promise<void> {
    try {
      await (await this.client()).checkAuth({ ...auth, abortSignal: signal });
    } catch (error) {
      if (signal.aborted) throw interrupted();
      const words = engineMessage(error);
      if (statusOf(error) === 401 || /unauthori[sz]ed|authentication|denied|forbidden/i.test(words)) {
        throw new EngineError(`registry ${auth.serveraddress} refused the credentials: ${words}`, {
          hint: 'check the user and password for this registry in $DOCKER_CONFIG/config.json (`docker login`)',
        });
      }
      throw new EngineError(`could not check the credentials with registry ${auth.serveraddress}: ${words}`, {
        hint: 'is the registry up and reachable from the engine?',
      });
    }
  }

  private async call<T>(what: string, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (signal.aborted) throw interrupted();
      throw this.failure(`${what} failed`, error);
    }
  }

  private failure(what: string, error: unknown): EngineError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES') {
      return new EngineError(`${what}: the engine at ${this.address} is unreachable (${describe(error)})`, {
        hint: 'start one (as root: `npm run setup`), or point DOCKER_HOST or --engine at a running engine',
      });
    }
    return new EngineError(`${what}: ${engineMessage(error)}`);
  }
}

/** Reads a stream of JSON messages; an `error` message rejects with the engine's words. */
function follow(stream: NodeJS.ReadableStream, options: CallOptions, onMessage: (message: Message) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let failed: string | null = null;
    const onAbort = (): void => {
      (stream as Readable).destroy?.();
      reject(interrupted());
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    const handle = (line: string): void => {
      if (line.trim() === '') return;
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        options.onLine(line);
        return;
      }
      if (message.error !== undefined || message.errorDetail?.message !== undefined) {
        failed ??= (message.errorDetail?.message ?? message.error ?? '').trim();
        return;
      }
      onMessage(message);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        handle(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.on('error', (error: Error) => {
      options.signal.removeEventListener('abort', onAbort);
      reject(options.signal.aborted ? interrupted() : new EngineError(`the engine connection broke: ${describe(error)}`));
    });
    stream.on('end', () => {
      options.signal.removeEventListener('abort', onAbort);
      handle(buffer);
      if (options.signal.aborted) reject(interrupted());
      else if (failed !== null) reject(new EngineError(failed));
      else resolve();
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function interrupted(): InterruptedError {
  return new InterruptedError('interrupted');
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** The daemon's own words from a dockerode error ("(HTTP code 404) no such image - <json>"). */
function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } | string | null }).json;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  return describe(error).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  if (err.code && err.message) return err.message.includes(err.code) ? err.message : `${err.code} ${err.message}`;
  return err.message ?? String(error);
}
