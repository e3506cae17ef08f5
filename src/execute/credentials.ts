// Registry credentials from Docker's client config ($DOCKER_CONFIG/config.json: `auths`,
// `credsStore`, `credHelpers`) or DOCKER_USERNAME/DOCKER_PASSWORD. They go to the engine and
// nowhere else: never into events, errors or output. A credential helper that hangs is
// stopped after a timeout, one that prints garbage is named; neither is ever quoted.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, EngineError } from '../errors.js';
import { readDockerConfig, type AuthEntry } from './docker-config.js';
import type { RegistryAuth } from './engine.js';

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface Credentials {
  /** The file they come from, for messages. */
  readonly source: string;
  /** Credentials for a registry host (`docker.io` for Docker Hub), or null. */
  forRegistry(domain: string): RegistryAuth | null;
  /** Every secret value, so that messages can be scrubbed of them. */
  readonly secrets: readonly string[];
}


/**
 * `env`: DOCKER_USERNAME / DOCKER_PASSWORD (CI) are used for `registry` (the configured one,
 * Docker Hub by default) over whatever config.json says.
 */
export function loadCredentials(dockerConfigDir: string, env: Readonly<Record<string, string | undefined>> = {}, registry: string | null = null): Credentials {
  const base = loadConfigFile(dockerConfigDir, helperTimeout(env));
  if (!env.DOCKER_USERNAME || !env.DOCKER_PASSWORD) return base;
  const host = hostOf(registry ?? 'docker.io');
  const auth: RegistryAuth = { serveraddress: host === 'docker.io' ? DOCKER_HUB_AUTH_KEY : host, username: env.DOCKER_USERNAME, password: env.DOCKER_PASSWORD };
  const secrets = base.secrets as string[];
  secrets.push(env.DOCKER_PASSWORD);
  return { source: 'DOCKER_USERNAME/DOCKER_PASSWORD', secrets, forRegistry: (domain) => (hostOf(domain) === host ? auth : base.forRegistry(domain)) };
}

/** How long a credential helper may take: DOCKMK_CREDENTIAL_HELPER_TIMEOUT seconds, default 30. */
export const HELPER_TIMEOUT_MS = 30_000;

function helperTimeout(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.DOCKMK_CREDENTIAL_HELPER_TIMEOUT;
  if (text === undefined || text === '') return HELPER_TIMEOUT_MS;
  const seconds = Number(text);
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new ConfigError(`DOCKMK_CREDENTIAL_HELPER_TIMEOUT=${text} is not a number of seconds`, { hint: 'e.g. DOCKMK_CREDENTIAL_HELPER_TIMEOUT=60' });
  }
  return seconds * 1000;
}

function loadConfigFile(dockerConfigDir: string, helperTimeoutMs: number): Credentials {
  const source = join(dockerConfigDir, 'config.json');
  const file = readDockerConfig(source);
  if (file === null) return fromEntries(source, {});
  const fromFile = fromEntries(source, file.auths);
  const helpers = new Map(Object.entries(file.credHelpers).map(([key, name]) => [hostOf(key), name]));
  if (!file.credsStore && helpers.size === 0) return fromFile;
  const secrets = fromFile.secrets as string[];
  const cache = new Map<string, RegistryAuth | null>();
  return {
    source,
    secrets,
    forRegistry: (domain) => {
      const host = hostOf(domain);
      const helper = helpers.get(host) ?? file.credsStore;
      if (!helper) return fromFile.forRegistry(domain);
      if (!cache.has(host)) cache.set(host, fromHelper(helper, host, secrets, source, helperTimeoutMs) ?? fromFile.forRegistry(domain));
      return cache.get(host) ?? null;
    },
  };
}

/**
 * The docker-credential-helpers protocol: `docker-credential-<name> get`, server URL on stdin.
 * Its output is never quoted: a misbehaving helper might print the secret.
 */
function fromHelper(name: string, host: string, secrets: string[], source: string, timeoutMs: number): RegistryAuth | null {
  const server = host === 'docker.io' ? DOCKER_HUB_AUTH_KEY : host;
  const program = `docker-credential-${name}`;
  const result = spawnSync(program, ['get'], { input: server, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') {
    throw new EngineError(`credential helper ${program} (from ${source}) did not answer within ${Math.round(timeoutMs / 100) / 10} s for ${host}, and was stopped`, {
      hint: `try it by hand: echo ${server} | ${program} get — it may be waiting for a keyring to unlock; DOCKMK_CREDENTIAL_HELPER_TIMEOUT=<seconds> gives it longer`,
    });
  }
  if (code === 'ENOBUFS') throw garbage(program, host, 'more than 1 MiB');
  if (result.error) {
    throw new ConfigError(`credential helper ${program} (from ${source}) could not run: ${code ?? 'error'}`, {
      hint: `install ${program} on PATH, or remove it from ${source}`,
    });
  }
  // "credentials not found in native keychain": no credentials, not an error.
  if (result.status !== 0) return null;
  let reply: unknown;
  try {
    reply = JSON.parse(result.stdout);
  } catch {
    throw garbage(program, host, 'something that is not JSON');
  }
  const { Username, Secret } = (typeof reply === 'object' && reply !== null ? reply : {}) as { Username?: unknown; Secret?: unknown };
  if (typeof reply !== 'object' || reply === null || (Secret !== undefined && typeof Secret !== 'string') || (Username !== undefined && typeof Username !== 'string')) {
    throw garbage(program, host, 'JSON without a string Username and Secret');
  }
  if (!Secret) return null;
  secrets.push(Secret);
  // `<token>` as user name means an identity token (as the docker CLI reads it)
  if (Username === '<token>') return { serveraddress: server, identitytoken: Secret };
  return { serveraddress: server, ...(Username ? { username: Username } : {}), password: Secret };
}

function garbage(program: string, host: string, what: string): EngineError {
  return new EngineError(`credential helper ${program} answered ${what} for ${host} (its output is not shown: it may hold a secret)`, {
    hint: `try it by hand: echo ${host} | ${program} get — it should print {"Username":…,"Secret":…}`,
  });
}

function fromEntries(source: string, auths: Record<string, AuthEntry>): Credentials {
  const byHost = new Map<string, RegistryAuth>();
  const secrets: string[] = [];
  for (const [key, entry] of Object.entries(auths)) {
    const host = hostOf(key);
    let { username, password } = entry;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon === -1) {
        throw new ConfigError(`${source}: the auth entry for ${key} is not base64 of user:password`, {
          hint: 'run `docker login` again',
        });
      }
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
      secrets.push(entry.auth);
    }
    if (password) secrets.push(password);
    if (entry.identitytoken) secrets.push(entry.identitytoken);
    if (!username && !entry.identitytoken) continue;
    byHost.set(host, {
      serveraddress: host === 'docker.io' ? DOCKER_HUB_AUTH_KEY : host,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(entry.identitytoken ? { identitytoken: entry.identitytoken } : {}),
    });
  }
  return {
    source,
    secrets,
    forRegistry: (domain) => byHost.get(hostOf(domain)) ?? null,
  };
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://localhost:5000/` → `localhost:5000`. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** Replaces every known secret in a text with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('***');
  return out;
}
