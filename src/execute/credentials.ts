// Registry credentials from Docker's client config ($DOCKER_CONFIG/config.json, `auths`).
// They go to the engine and nowhere else: never into events, errors or output.

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

export function loadCredentials(dockerConfigDir: string): Credentials {
  const source = join(dockerConfigDir, 'config.json');
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fromEntries(source, {});
    throw new ConfigError(`could not read ${source}: ${(error as Error).message}`);
  }
  let parsed: { auths?: Record<string, AuthEntry> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // The parser's message may quote the file, secrets included: say only where.
    throw new ConfigError(`${source} is not valid JSON`, { hint: 'fix or remove it, then `docker login` again' });
  }
  return fromEntries(source, parsed.auths ?? {});
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
