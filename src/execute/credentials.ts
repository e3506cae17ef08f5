// Registry credentials from Docker's client config ($DOCKER_CONFIG/config.json, `auths`).
// They go to the engine and nowhere else: never into events, errors or output.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
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

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/**
 * `env`: DOCKER_USERNAME / DOCKER_PASSWORD (CI) are used for `registry` (the configured one,
 * Docker Hub by default) over whatever config.json says.
 */
export function loadCredentials(dockerConfigDir: string, env: Readonly<Record<string, string | undefined>> = {}, registry: string | null = null): Credentials {
  const base = loadConfigFile(dockerConfigDir);
  if (!env.DOCKER_USERNAME || !env.DOCKER_PASSWORD) return base;
  const host = hostOf(registry ?? 'docker.io');
  const auth: RegistryAuth = { serveraddress: host === 'docker.io' ? DOCKER_HUB_AUTH_KEY : host, username: env.DOCKER_USERNAME, password: env.DOCKER_PASSWORD };
  const secrets = base.secrets as string[];
  secrets.push(env.DOCKER_PASSWORD);
  return { source: 'DOCKER_USERNAME/DOCKER_PASSWORD', secrets, forRegistry: (domain) => (hostOf(domain) === host ? auth : base.forRegistry(domain)) };
}

function loadConfigFile(dockerConfigDir: string): Credentials {
  const source = join(dockerConfigDir, 'config.json');
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fromEntries(source, {});
    throw new ConfigError(`could not read ${source}: ${(error as Error).message}`);
  }
  let parsed: { auths?: Record<string, AuthEntry>; credsStore?: string; credHelpers?: Record<string, string> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // The parser's message may quote the file, secrets included: say only where.
    throw new ConfigError(`${source} is not valid JSON`, { hint: 'fix or remove it, then `docker login` again' });
  }
  const fromFile = fromEntries(source, parsed.auths ?? {});
  const helpers = new Map(Object.entries(parsed.credHelpers ?? {}).map(([key, name]) => [hostOf(key), name]));
  if (!parsed.credsStore && helpers.size === 0) return fromFile;
  const secrets = fromFile.secrets as string[];
  const cache = new Map<string, RegistryAuth | null>();
  return {
    source,
    secrets,
    forRegistry: (domain) => {
      const host = hostOf(domain);
      const helper = helpers.get(host) ?? parsed.credsStore;
      if (!helper) return fromFile.forRegistry(domain);
      if (!cache.has(host)) cache.set(host, fromHelper(helper, host, secrets, source) ?? fromFile.forRegistry(domain));
      return cache.get(host) ?? null;
    },
  };
}

/** The docker-credential-helpers protocol: `docker-credential-<name> get`, server URL on stdin. */
function fromHelper(name: string, host: string, secrets: string[], source: string): RegistryAuth | null {
  const server = host === 'docker.io' ? DOCKER_HUB_AUTH_KEY : host;
  const result = spawnSync(`docker-credential-${name}`, ['get'], { input: server, encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    throw new ConfigError(`credential helper docker-credential-${name} (from ${source}) could not run: ${(result.error as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: `install docker-credential-${name} on PATH, or remove it from ${source}`,
    });
  }
  // "credentials not found in native keychain": no credentials, not an error. Its output is
  // never quoted: a misbehaving helper might print the secret.
  if (result.status !== 0) return null;
  let reply: { Username?: string; Secret?: string };
  try {
    reply = JSON.parse(result.stdout) as typeof reply;
  } catch {
    throw new ConfigError(`credential helper docker-credential-${name} answered something that is not JSON for ${host}`);
  }
  if (!reply.Secret) return null;
  secrets.push(reply.Secret);
  // `<token>` as user name means an identity token (as the docker CLI reads it)
  if (reply.Username === '<token>') return { serveraddress: server, identitytoken: reply.Secret };
  return { serveraddress: server, ...(reply.Username ? { username: reply.Username } : {}), password: reply.Secret };
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
