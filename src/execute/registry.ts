// The registry's own API (distribution v2), for what the engine cannot do: ask whether a ref
// exists (manifest HEAD, no layer moves), write a ref from another one's manifest (GET, then
// PUT under the new tag), list a repository's tags. Token and basic auth, as Docker does;
// HTTPS, with the CA certificates Docker reads from /etc/docker/certs.d/<host>/, and plain HTTP
// only for insecure registries (loopback, as the engine allows by default, or those named in
// DOCKMK_INSECURE_REGISTRIES). Credentials come from execute/credentials.ts and never leave here.

import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { InterruptedError } from '../errors.js';
import { canonicalRepository, formatImageRef, type ImageRef } from '../model/image-ref.js';
import { redact, type Credentials } from './credentials.js';
import { dockerCertificates, header, isCertificateFailure, isTlsFailure, reference, RegistryError, registryWords, retryAfterMs, type Reply } from './registry-reply.js';

export { RegistryError, retryAfterMs } from './registry-reply.js';

/** What a manifest GET accepts: Docker's and OCI's single manifests and lists. */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface Manifest {
  readonly mediaType: string;
  readonly body: Buffer;
  readonly digest: string;
}

/** The registry seam of a run: execute/steps.ts calls it; tests may give a fake. */
export interface Registry {
  /** The manifest digest `ref` has, or null when the registry has no such ref. */
  digest(ref: ImageRef, signal: AbortSignal): Promise<string | null>;
  /** Writes `target` from `source`'s manifest, in the same repository; the digest written. */
  copy(source: ImageRef, target: ImageRef, signal: AbortSignal): Promise<string>;
  /** Every tag of `repository`'s repository (its tag and digest are ignored). */
  tags(repository: ImageRef, signal: AbortSignal): Promise<string[]>;
}

export interface RegistryOptions {
  readonly credentials: Credentials;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where Docker keeps registry CA certificates (default /etc/docker/certs.d). */
  readonly certsDir?: string;
  readonly timeoutMs?: number;
}

type Action = 'pull' | 'pull,push';

export function connectRegistry(options: RegistryOptions): Registry {
  return new RegistryClient(options);
}

class RegistryClient implements Registry {
  private readonly tokens = new Map<string, string>();
  private readonly schemes = new Map<string, 'https' | 'http'>();
  private readonly agents = new Map<string, HttpAgent | HttpsAgent>();
  private readonly insecure: ReadonlySet<string>;
  /** Manifests read by digest-addressed source refs (key refs never move): one GET per source. */
  private readonly sources = new Map<string, Promise<Manifest | null>>();

  constructor(private readonly options: RegistryOptions) {
    this.insecure = new Set((options.env.DOCKMK_INSECURE_REGISTRIES ?? '').split(',').map((host) => host.trim()).filter(Boolean));
  }

  async digest(ref: ImageRef, signal: AbortSignal): Promise<string | null> {
    const { domain, path } = canonicalRepository(ref);
    const reply = await this.call(domain, path, 'HEAD', `/v2/${path}/manifests/${reference(ref)}`, 'pull', { accept: MANIFEST_TYPES }, null, signal);
    if (reply.status === 404) return null;
    this.expect(reply, [200], `read ${formatImageRef(ref)}`, domain);
    const digest = header(reply.headers, 'docker-content-digest');
    if (digest) return digest;
    return (await this.manifest(ref, signal))?.digest ?? null;
  }

  private async manifest(ref: ImageRef, signal: AbortSignal): Promise<Manifest | null> {
    const { domain, path } = canonicalRepository(ref);
    const reply = await this.call(domain, path, 'GET', `/v2/${path}/manifests/${reference(ref)}`, 'pull', { accept: MANIFEST_TYPES }, null, signal);
    if (reply.status === 404) return null;
    this.expect(reply, [200], `read the manifest of ${formatImageRef(ref)}`, domain);
    const mediaType = header(reply.headers, 'content-type')?.split(';')[0]?.trim() || (JSON.parse(reply.body.toString('utf8')) as { mediaType?: string }).mediaType || MANIFEST_TYPES.split(', ')[0]!;
    return { mediaType, body: reply.body, digest: `sha256:${createHash('sha256').update(reply.body).digest('hex')}` };
  }

  async copy(source: ImageRef, target: ImageRef, signal: AbortSignal): Promise<string> {
    const from = canonicalRepository(source);
    const to = canonicalRepository(target);
    if (from.domain !== to.domain || from.path !== to.path) {
      throw new Error(`registry-side copy across repositories (${formatImageRef(source)} → ${formatImageRef(target)}) is not supported`);
    }
    const name = formatImageRef(source);
    let reading = this.sources.get(name);
    if (reading === undefined) {
      reading = this.manifest(source, signal);
      this.sources.set(name, reading);
      reading.then((found) => found === null && this.sources.delete(name), () => this.sources.delete(name));
    }
    const manifest = await reading;
    if (manifest === null) {
      throw new RegistryError(`${formatImageRef(source)} is not in the registry, so ${formatImageRef(target)} cannot be written from it`, 404, {
        hint: 'build and push it first (`dockmk push --stage`)',
      });
    }
    const reply = await this.call(to.domain, to.path, 'PUT', `/v2/${to.path}/manifests/${target.tag ?? 'latest'}`, 'pull,push', { 'content-type': manifest.mediaType }, manifest.body, signal);
    this.expect(reply, [200, 201], `write ${formatImageRef(target)}`, to.domain);
    return header(reply.headers, 'docker-content-digest') ?? manifest.digest;
  }

  async tags(repository: ImageRef, signal: AbortSignal): Promise<string[]> {
    const { domain, path } = canonicalRepository(repository);
    const tags: string[] = [];
    let next: string | null = `/v2/${path}/tags/list?n=1000`;
    while (next !== null) {
      const reply = await this.call(domain, path, 'GET', next, 'pull', { accept: 'application/json' }, null, signal);
      if (reply.status === 404) return tags;
      this.expect(reply, [200], `list the tags of ${domain}/${path}`, domain);
      const page = JSON.parse(reply.body.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      // RFC 5988: Link: </v2/x/tags/list?n=1000&last=y>; rel="next"
      next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(reply.headers, 'link') ?? '')?.[1] ?? null;
    }
    return tags;
  }

  /** One API call, authenticated as the registry's challenge asks (once per scope). */
  private async call(domain: string, path: string, method: string, url: string, action: Action, headers: Record<string, string>, body: Buffer | null, signal: AbortSignal): Promise<Reply> {
    const scope = `repository:${path}:${action}`;
    const cached = this.tokens.get(`${domain} ${scope}`);
    const first = await this.send(domain, method, url, cached ? { ...headers, authorization: cached } : headers, body, signal);
    if (first.status !== 401) return first;
    const authorization = await this.authorize(domain, scope, header(first.headers, 'www-authenticate') ?? '', signal);
    if (authorization === null) return first;
    this.tokens.set(`${domain} ${scope}`, authorization);
    return this.send(domain, method, url, { ...headers, authorization }, body, signal);
  }

  /** The Authorization header the challenge asks for: Basic, or a Bearer token from its realm. */
  private async authorize(domain: string, scope: string, challenge: string, signal: AbortSignal): Promise<string | null> {
    const auth = this.options.credentials.forRegistry(domain);
    if (/^basic\b/i.test(challenge)) {
      if (!auth?.username || auth.password === undefined) return null;
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    }
    if (!/^bearer\b/i.test(challenge)) return null;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]?.toLowerCase(), m[2]]));
    if (!params.realm) return null;
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', scope);
    let reply: Reply;
    if (auth?.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.identitytoken, service: params.service ?? domain, scope, client_id: 'dockmk' });
      reply = await this.fetchUrl(realm.origin + realm.pathname, 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form.toString()), signal);
    } else {
      const basic: Record<string, string> = auth?.username && auth.password !== undefined ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
      reply = await this.fetchUrl(realm.toString(), 'GET', basic, null, signal);
    }
    if (reply.status === 401 || reply.status === 403) {
      throw new RegistryError(`registry ${domain} refused the credentials${auth ? ` from ${this.options.credentials.source}` : ' (none given)'} (token service answered ${reply.status})`, reply.status, {
        hint: auth ? `check the user and password for ${domain} (\`docker login ${domain}\`)` : `run \`docker login ${domain}\` or set DOCKER_USERNAME/DOCKER_PASSWORD`,
      });
    }
    if (reply.status !== 200) throw new RegistryError(`the token service of ${domain} answered HTTP ${reply.status}`, reply.status);
    const token = JSON.parse(reply.body.toString('utf8')) as { token?: string; access_token?: string };
    const value = token.token ?? token.access_token;
    return value ? `Bearer ${value}` : null;
  }

  private expect(reply: Reply, ok: readonly number[], what: string, domain: string): void {
    if (ok.includes(reply.status)) return;
    const words = registryWords(reply);
    const retryAfter = retryAfterMs(header(reply.headers, 'retry-after'));
    if ((reply.status === 401 || reply.status === 403) && this.options.credentials.forRegistry(domain) === null) {
      throw new RegistryError(`registry ${domain} asks for credentials to ${what}, and ${this.options.credentials.source} has none for it`, reply.status, {
        hint: `run \`docker login ${domain}\`, or set DOCKER_USERNAME and DOCKER_PASSWORD`,
      });
    }
    if (reply.status === 401 || reply.status === 403) {
      throw new RegistryError(`${what}: registry ${domain} refused it with the credentials from ${this.options.credentials.source} (HTTP ${reply.status}${words ? `: ${words}` : ''})`, reply.status, {
        hint: 'check that these credentials may read and write this repository',
      });
    }
    throw new RegistryError(`${what}: HTTP ${reply.status}${words ? ` ${words}` : ''}`, reply.status, { retryAfterMs: retryAfter });
  }

  /** A request to the registry host, over HTTPS, or HTTP where an insecure registry has no TLS. */
  private async send(domain: string, method: string, url: string, headers: Record<string, string>, body: Buffer | null, signal: AbortSignal): Promise<Reply> {
    const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
    const known = this.schemes.get(domain);
    try {
      if (known === 'http') return await this.fetchUrl(`http://${host}${url}`, method, headers, body, signal);
      try {
        const reply = await this.fetchUrl(`https://${host}${url}`, method, headers, body, signal, domain);
        this.schemes.set(domain, 'https');
        return reply;
      } catch (error) {
        if (known !== undefined || !this.isInsecure(domain) || !isTlsFailure(error)) throw error;
        this.schemes.set(domain, 'http');
        return await this.fetchUrl(`http://${host}${url}`, method, headers, body, signal);
      }
    } catch (error) {
      throw this.transportError(domain, error, signal);
    }
  }

  private isInsecure(domain: string): boolean {
    const host = domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return this.insecure.has(domain) || this.insecure.has(host) || host === 'localhost' || host === '::1' || /^127\./.test(host);
  }

  private transportError(domain: string, error: unknown, signal: AbortSignal): Error {
    if (signal.aborted) return new InterruptedError('interrupted');
    if (error instanceof RegistryError) return error;
    const err = error as NodeJS.ErrnoException;
    const words = redact(`${err.code ?? ''} ${err.message ?? String(error)}`.trim(), this.options.credentials.secrets);
    if (isCertificateFailure(error)) {
      return new RegistryError(`registry ${domain} presents a certificate this machine does not trust (${words})`, null, {
        hint: `put its CA certificate in /etc/docker/certs.d/${domain}/ca.crt (the engine and dockmk read it there), or, for a test registry, list ${domain} under "insecure-registries" in the engine's daemon.json and in DOCKMK_INSECURE_REGISTRIES`,
      });
    }
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
      return new RegistryError(`registry ${domain} cannot be resolved (${err.code})`, null, { hint: 'check the registry host name (--registry) and this machine\'s DNS' });
    }
    return new RegistryError(`registry ${domain} could not be reached: ${words}`, null, { hint: 'is the registry up and reachable from here?' });
  }

  private fetchUrl(url: string, method: string, headers: Record<string, string>, body: Buffer | null, signal: AbortSignal, tlsDomain?: string): Promise<Reply> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    const agent = this.agentFor(target, tlsDomain);
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        { method, agent, headers: { 'user-agent': 'dockmk', ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, signal, timeout: this.options.timeoutMs ?? 30_000 },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${(this.options.timeoutMs ?? 30_000) / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  private agentFor(target: URL, tlsDomain: string | undefined): HttpAgent | HttpsAgent {
    const key = `${target.protocol}//${target.host}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      if (target.protocol === 'https:') {
        const domain = tlsDomain ?? target.host;
        const extra = dockerCertificates(this.options.certsDir ?? '/etc/docker/certs.d', domain);
        agent = new HttpsAgent({ keepAlive: true, ...(extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {}), rejectUnauthorized: !this.isInsecure(domain) });
      } else {
        agent = new HttpAgent({ keepAlive: true });
      }
      this.agents.set(key, agent);
    }
    return agent;
  }
}

