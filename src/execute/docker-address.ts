// Where the engine is: --engine / DOCKER_HOST (unix://, tcp://, ssh://, TLS) as dockerode's options.
// Part of execute/docker.ts, the dockerode engine (types only here).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ConfigError } from '../errors.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export function modemOptions(address: string, env: Readonly<Record<string, string | undefined>>): Docker.DockerOptions {
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
