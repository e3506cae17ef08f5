// What dockmk says when the address it was given is not an engine it can use: nothing listens
// there, the socket is not the user's to open, something else answers (a registry, an SSH
// server, a web page), or the engine is too old for the calls dockmk makes. One line each, and
// the fix, instead of the HTTP client's words.

import { statSync, readFileSync } from 'node:fs';
import { EngineError } from '../errors.js';
import { describe } from './docker-stream.js';

/**
 * The oldest Engine API dockmk's calls work on: builds with `labels` and `cachefrom`, image
 * lists filtered by reference (API 1.25, Docker 1.13, 2017). BuildKit needs 1.39 (builder.ts).
 */
export const MIN_API_VERSION = '1.25';

const POINT_ELSEWHERE = 'point DOCKER_HOST or --engine at the engine (unix:///var/run/docker.sock, or tcp://HOST:2375)';

/** The engine could not be reached at all: refused, no socket, or a socket the user may not open. */
export function unreachable(what: string | null, address: string, socketPath: string | undefined, error: unknown): EngineError {
  const code = (error as NodeJS.ErrnoException).code;
  const prefix = what === null ? '' : `${what}: `;
  if (code === 'EACCES' || code === 'EPERM') {
    const socket = socketPath ?? address;
    return new EngineError(`${prefix}permission denied on the engine socket ${socket}${ownerOf(socketPath)}: the user running dockmk (uid ${process.getuid?.() ?? '?'}) may not use it`, {
      hint: 'add the user to the group that owns it (sudo usermod -aG docker "$USER", then log in again), run dockmk as root, or point DOCKER_HOST at an engine of your own (rootless Docker, or podman system service)',
    });
  }
  return new EngineError(`${prefix}no Docker engine answers at ${address} (${describe(error)})`, {
    hint: 'start one (as root: `npm run setup`), or point DOCKER_HOST or --engine at a running engine',
  });
}

/**
 * Something answered at the address, but not as an engine: an HTTP error to `GET /_ping` (a
 * registry or web server on that port), an answer that is not HTTP (an SSH server, a database),
 * or a body other than Docker's "OK". Null when `error` is none of these.
 */
export function notAnEngine(address: string, error: unknown, body?: unknown): EngineError | null {
  let what: string;
  if (error === null) {
    const text = bodyText(body);
    if (text === 'OK') return null;
    what = `GET /_ping answered ${text === '' ? 'nothing' : `"${clip(text)}"`}, where an engine answers "OK"`;
  } else {
    const status = (error as { statusCode?: number }).statusCode;
    const code = String((error as NodeJS.ErrnoException).code ?? '');
    if (typeof status === 'number') what = `GET /_ping answered HTTP ${status}${clipBody(error)}`;
    else if (code.startsWith('HPE_')) what = `what it answered is not HTTP (${describe(error)})`;
    else return null;
  }
  return new EngineError(`${address} answers, but not as a Docker engine: ${what}`, {
    hint: `is that the address of another service (a registry, an SSH server)? ${POINT_ELSEWHERE}`,
  });
}

/** A 2xx answer that is not the JSON the Engine API gives for `path`: a broken engine, or not an engine. */
export function garbled(address: string, path: string, body: unknown): EngineError {
  const text = bodyText(body);
  return new EngineError(`the engine at ${address} answered GET ${path} with something that is not the Engine API's JSON (${text === '' ? 'nothing' : `"${clip(text)}"`})`, {
    hint: 'is DOCKER_HOST (or --engine) the address of a Docker engine, and is it well? restart it (as root: `npm run setup`), then run the command again',
  });
}

/** An engine whose API is older than dockmk's calls need, named by its version. */
export function tooOld(address: string, apiVersion: string, name: string): EngineError | null {
  if (compareVersions(apiVersion, MIN_API_VERSION) >= 0) return null;
  return new EngineError(`the engine at ${address} (${name}) speaks Engine API ${apiVersion}, and dockmk needs ${MIN_API_VERSION} (Docker 1.13) or later; nothing was built`, {
    hint: `upgrade the engine, or ${POINT_ELSEWHERE.replace('the engine', 'a newer engine')}`,
  });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "1.9" < "1.24" < "1.25": numeric, part by part; an unreadable version counts as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (text: string): number[] => text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** ", owned by root:docker, mode 660" where the socket can be looked at. */
function ownerOf(socketPath: string | undefined): string {
  if (socketPath === undefined) return '';
  try {
    const stat = statSync(socketPath);
    return ` (owned by ${nameOf('/etc/passwd', stat.uid)}:${nameOf('/etc/group', stat.gid)}, mode ${(stat.mode & 0o777).toString(8)})`;
  } catch {
    return '';
  }
}

function nameOf(file: string, id: number): string {
  try {
    const line = readFileSync(file, 'utf8').split('\n').find((entry) => entry.split(':')[2] === String(id));
    return line?.split(':')[0] || String(id);
  } catch {
    return String(id);
  }
}

function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8').trim();
  if (typeof body === 'string') return body.trim();
  return body === undefined || body === null ? '' : JSON.stringify(body);
}

function clipBody(error: unknown): string {
  const text = String((error as Error).message ?? '').replace(/^\(HTTP code \d+\)\s*/, '').replace(/^[a-z ]+ - /, '').trim();
  return text === '' ? '' : ` ("${clip(text)}")`;
}

/** One line, short, and only printable characters: the answer may be binary. */
function clip(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? '';
  const printable = line.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 60 ? `${printable.slice(0, 57)}...` : printable;
}
