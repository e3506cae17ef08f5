// The Engine on a real Docker daemon, through dockerode. The only module that loads it (its parts,
// docker-address.ts, docker-classic.ts and docker-buildkit.ts, take its types and the client it
// hands them).
// dockerode (with BuildKit's gRPC and ssh2) takes ~90 ms to load; it is loaded on the first call
// that streams (build, pull, push) or changes something. The two questions a run that builds
// nothing asks — is the engine there, what does this tag point to — are plain GETs, answered
// over node:http on unix sockets and plain TCP.
// Builds run on the classic builder or on BuildKit (execute/buildkit-build.ts), as --builder and
// the engine decide (execute/builder.ts); Podman's Docker-compatible API is met where it differs
// (execute/podman.ts).

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type Docker from 'dockerode';
import type { BuilderSetting } from '../config/config.js';
import { DockmkError, EngineError } from '../errors.js';
import { formatImageRef, registryOf, type ImageRef } from '../model/image-ref.js';
import { chooseBuilder, engineFactsFrom, type BuilderChoice, type EngineFacts } from './builder.js';
import { buildkitBuild } from './buildkit-build.js';
import { dockerTransport } from './docker-buildkit.js';
import { DEFAULT_SOCKET, modemOptions } from './docker-address.js';
import { classicBuild } from './docker-classic.js';
import { dial, engineMessage, follow, interrupted, parseJson, statusOf } from './docker-stream.js';
import { compareVersions, garbled, isObject, MIN_API_VERSION, notAnEngine, tooOld, unreachable } from './engine-faults.js';
import type { BuildRequest, CallOptions, Engine, ImageInfo, ListedImage, RegistryAuth } from './engine.js';
import { digestFromStatus, insecureRegistries, isPlainHttpRegistry, podmanAuthAddress, qualifiedName, qualifiedRepository } from './podman.js';

export { DEFAULT_SOCKET } from './docker-address.js';

export interface ConnectOptions {
  /** --builder (default auto). */
  readonly builder?: BuilderSetting;
}

/** Connects to `host` (--engine), else DOCKER_HOST, else the default socket. */
export function connectEngine(host: string | undefined, env: Readonly<Record<string, string | undefined>>, options: ConnectOptions = {}): Engine {
  const address = host ?? env.DOCKER_HOST ?? `unix://${DEFAULT_SOCKET}`;
  return new DockerEngine(modemOptions(address, env), address, options.builder ?? 'auto', insecureRegistries(env));
}

class DockerEngine implements Engine {
  private docker: Promise<Docker> | null = null;
  private pingHeaders: IncomingHttpHeaders | null = null;
  private facts: Promise<EngineFacts> | null = null;
  private choice: Promise<BuilderChoice> | null = null;

  constructor(
    private readonly options: Docker.DockerOptions,
    readonly address: string,
    private readonly setting: BuilderSetting,
    private readonly insecure: ReadonlySet<string>,
  ) {}

  private client(): Promise<Docker> {
    this.docker ??= import('dockerode').then(({ default: Dockerode }) => new Dockerode(this.options));
    return this.docker;
  }

  /** A GET answered over node:http where that is enough (unix, plain TCP); else through dockerode. */
  private async get(
    path: string,
    signal: AbortSignal | undefined,
    viaDockerode: (docker: Docker) => Promise<unknown>,
    onHeaders?: (headers: IncomingHttpHeaders) => void,
  ): Promise<unknown> {
    const { socketPath, host, port, protocol } = this.options;
    if (!socketPath && protocol !== 'http') return viaDockerode(await this.client());
    return new Promise((resolve, reject) => {
      // A connection of its own, not the global agent's: the agent would work out a TLS server
      // name for the socket, and Node's IPv6 pattern that it tests the name against costs ~7 ms to
      // compile, a sixth of what a run that builds nothing spends talking to the engine.
      const createConnection = socketPath ? () => connect({ path: socketPath }) : () => connect({ host: host as string, port: Number(port) });
      const req = httpRequest({ createConnection, path, method: 'GET', ...(signal ? { signal } : {}) }, (response) => {
        onHeaders?.(response.headers);
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
    await this.pingOnly(signal);
    // Every engine since API 1.25 says its version in a header of the ping; an older one only in /version.
    const header = this.pingHeaders?.['api-version'];
    if (typeof header === 'string' && compareVersions(header, MIN_API_VERSION) >= 0) return;
    const facts = await this.engineFacts(signal);
    const old = tooOld(this.address, facts.apiVersion, facts.name);
    if (old !== null) throw old;
  }

  /** `GET /_ping`: an engine answers there (its headers kept), or the address is refused. */
  private async pingOnly(signal: AbortSignal): Promise<void> {
    let body: unknown;
    try {
      body = await this.get(
        '/_ping',
        signal,
        (docker) => (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: signal }),
        (headers) => (this.pingHeaders = headers),
      );
    } catch (error) {
      if (signal.aborted) throw interrupted();
      throw notAnEngine(this.address, error) ?? unreachable(null, this.address, this.options.socketPath, error);
    }
    const stranger = notAnEngine(this.address, null, body);
    if (stranger !== null) throw stranger;
  }

  /** What the engine is (product, API, builder), asked once: `GET /version` and the headers of `/_ping`. */
  private engineFacts(signal: AbortSignal): Promise<EngineFacts> {
    this.facts ??= (async () => {
      // /version asked beside the ping (one round trip, not two); the ping's verdict on the address comes first.
      const asking = this.get('/version', signal, (docker) => docker.version());
      asking.catch(() => undefined);
      if (this.pingHeaders === null) await this.pingOnly(signal);
      const version = await asking;
      if (!isObject(version)) throw garbled(this.address, '/version', version);
      return engineFactsFrom(version, this.pingHeaders ?? {});
    })().catch((error: unknown) => {
      this.facts = null;
      if (signal.aborted) throw interrupted();
      throw error instanceof EngineError ? error : this.failure('could not ask the engine what it is', error);
    });
    return this.facts;
  }

  builder(signal: AbortSignal): Promise<BuilderChoice> {
    this.choice ??= this.engineFacts(signal).then((facts) => chooseBuilder(this.setting, facts, this.address));
    return this.choice;
  }

  private async podman(signal: AbortSignal): Promise<EngineFacts | null> {
    const facts = await this.engineFacts(signal);
    return facts.product === 'podman' ? facts : null;
  }

  /** How the engine is told an image's name: in full on Podman (execute/podman.ts). */
  private async nameOf(ref: ImageRef, signal = new AbortController().signal): Promise<string> {
    return (await this.podman(signal)) !== null ? qualifiedName(ref) : formatImageRef(ref);
  }

  async inspectImage(ref: ImageRef): Promise<ImageInfo | null> {
    try {
      const name = await this.nameOf(ref);
      const info = (await this.get(`/images/${name}/json`, undefined, (docker) => docker.getImage(name).inspect())) as Docker.ImageInspectInfo;
      if (!isObject(info) || typeof info.Id !== 'string') throw garbled(this.address, `/images/${name}/json`, info);
      return { id: info.Id, labels: info.Config?.Labels ?? {} };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.failure(`could not inspect ${formatImageRef(ref)}`, error);
    }
  }

  async listImages(): Promise<ListedImage[]> {
    try {
      const list = (await this.get('/images/json', undefined, (docker) => docker.listImages())) as Docker.ImageInfo[];
      if (!Array.isArray(list) || !list.every((image) => isObject(image) && typeof image.Id === 'string')) throw garbled(this.address, '/images/json', list);
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
    const podman = await this.podman(options.signal);
    const stream = await this.call(`pull ${name}`, options.signal, async () => {
      const docker = await this.client();
      if (podman === null || !isPlainHttpRegistry(registryOf(ref), this.insecure)) return docker.pull(name, { ...(auth ? { authconfig: auth } : {}), abortSignal: options.signal });
      // Podman's compat pull cannot be told a registry is plain HTTP; its own endpoint can.
      return dial<NodeJS.ReadableStream>(docker, {
        path: `/v${podman.libpodVersion}/libpod/images/pull?`,
        method: 'POST',
        options: { reference: name, tlsVerify: false, policy: 'always' },
        isStream: true,
        ...(auth ? { authconfig: auth } : {}),
        abortSignal: options.signal,
        statusCodes: { 200: true, 400: 'bad request', 404: 'not found', 500: 'server error' },
      });
    });
    await follow(stream, options, (message) => {
      if (message.status && !message.progress) options.onLine(message.id ? `${message.id}: ${message.status}` : message.status);
      else if (message.stream) options.onLine(message.stream.trimEnd());
    });
  }

  async build(request: BuildRequest, options: CallOptions): Promise<{ imageId: string }> {
    const builder = await this.builder(options.signal);
    const { imageId } =
      builder.name === 'buildkit'
        ? await buildkitBuild(dockerTransport(() => this.client(), (what, error) => this.failure(what, error), `build ${formatImageRef(request.tag)}`), request, options)
        : await this.call(`build ${formatImageRef(request.tag)}`, options.signal, async () =>
            classicBuild(await this.client(), request, options, { podman: (await this.podman(options.signal)) !== null, tag: await this.nameOf(request.tag, options.signal) }),
          );
    // Old engines report only "Successfully built <id>".
    return { imageId: imageId ?? (await this.inspectImage(request.tag))?.id ?? '' };
  }

  async tag(source: ImageRef | string, target: ImageRef): Promise<void> {
    const podman = (await this.podman(new AbortController().signal)) !== null;
    const repo = podman ? qualifiedRepository(target) : formatImageRef({ ...target, tag: null, digest: null });
    const name = typeof source === 'string' ? source : await this.nameOf(source);
    try {
      await (await this.client()).getImage(name).tag({ repo, tag: target.tag ?? 'latest' });
    } catch (error) {
      throw this.failure(`could not tag ${name} as ${formatImageRef(target)}`, error);
    }
  }

  async untag(ref: ImageRef): Promise<void> {
    try {
      await (await this.client()).getImage(await this.nameOf(ref)).remove({ noprune: true });
    } catch (error) {
      if (statusOf(error) !== 404) throw this.failure(`could not remove the tag ${formatImageRef(ref)}`, error);
    }
  }

  async push(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<{ digest: string | null }> {
    const repo = formatImageRef({ ...ref, tag: null, digest: null });
    const plainHttp = (await this.podman(options.signal)) !== null && isPlainHttpRegistry(registryOf(ref), this.insecure);
    const stream = await this.call(`push ${formatImageRef(ref)}`, options.signal, async () =>
      (await this.client()).getImage(repo).push({
        tag: ref.tag ?? 'latest',
        ...(auth ? { authconfig: auth } : {}),
        ...(plainHttp ? { tlsVerify: false } : {}),
        abortSignal: options.signal,
      }),
    );
    let digest: string | null = null;
    await follow(stream, options, (message) => {
      if (typeof message.aux === 'object' && message.aux.Digest) digest = message.aux.Digest;
      if (message.status && !message.progress) {
        // Podman says the digest only in words.
        digest ??= digestFromStatus(message.status);
        options.onLine(message.id ? `${message.id}: ${message.status}` : message.status);
      }
    });
    return { digest };
  }

  async checkAuth(auth: RegistryAuth, signal: AbortSignal): Promise<void> {
    try {
      const asked = (await this.podman(signal)) !== null ? podmanAuthAddress(auth) : auth;
      await (await this.client()).checkAuth({ ...asked, abortSignal: signal });
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
      // Already in the engine's words (a failed build, an interrupt).
      if (error instanceof DockmkError) throw error;
      if (signal.aborted) throw interrupted();
      throw this.failure(`${what} failed`, error);
    }
  }

  private failure(what: string, error: unknown): EngineError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') return unreachable(what, this.address, this.options.socketPath, error);
    // dockmk's own finding (an answer of the wrong shape): keep its hint.
    if (error instanceof EngineError) return new EngineError(`${what}: ${error.message}`, { hint: error.hint });
    return new EngineError(`${what}: ${engineMessage(error)}`);
  }
}
