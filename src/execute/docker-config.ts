// Docker's client config ($DOCKER_CONFIG/config.json), read and checked for the parts dockmk
// uses: `auths`, `credsStore`, `credHelpers`. It holds secrets, so no message ever quotes it:
// a file that is not JSON is named with its line and column, found by a scanner of our own
// (V8's JSON.parse messages may quote the text around the error).

import { readFileSync } from 'node:fs';
import { ConfigError, fsReason } from '../errors.js';

export interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

export interface DockerConfigFile {
  readonly auths: Readonly<Record<string, AuthEntry>>;
  readonly credsStore: string | null;
  readonly credHelpers: Readonly<Record<string, string>>;
}

const FIX = 'fix or remove it, then `docker login` again';

/** The parts of config.json dockmk uses; null when there is no file. */
export function readDockerConfig(source: string): DockerConfigFile | null {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new ConfigError(`${source} cannot be read (${fsReason(error)})`, { hint: FIX });
  }
  if (text.trim() === '') return null; // what `docker` itself does with an empty file
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const at = jsonErrorOffset(text);
    const where = at === null ? source : `${source}:${position(text, at)}`;
    throw new ConfigError(`${where}: not valid JSON`, { hint: FIX });
  }
  if (!isObject(parsed)) throw new ConfigError(`${source}: not a JSON object`, { hint: FIX });
  const auths = parsed.auths ?? {};
  if (!isObject(auths)) throw new ConfigError(`${source}: "auths" is not an object`, { hint: FIX });
  for (const [key, entry] of Object.entries(auths)) {
    if (!isObject(entry)) throw new ConfigError(`${source}: the auths entry for ${key} is not an object`, { hint: FIX });
    for (const field of ['auth', 'username', 'password', 'identitytoken'] as const) {
      if (entry[field] !== undefined && typeof entry[field] !== 'string') {
        throw new ConfigError(`${source}: "${field}" of the auths entry for ${key} is not a string`, { hint: FIX });
      }
    }
  }
  const credsStore = parsed.credsStore ?? null;
  if (credsStore !== null && (typeof credsStore !== 'string' || !/^[A-Za-z0-9_.-]*$/.test(credsStore))) {
    throw new ConfigError(`${source}: "credsStore" is not the name of a credential helper`, { hint: FIX });
  }
  const credHelpers = parsed.credHelpers ?? {};
  if (!isObject(credHelpers) || Object.values(credHelpers).some((name) => typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name))) {
    throw new ConfigError(`${source}: "credHelpers" is not an object of registry → credential helper name`, { hint: FIX });
  }
  return { auths: auths as Record<string, AuthEntry>, credsStore: credsStore === '' ? null : credsStore, credHelpers: credHelpers as Record<string, string> };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `line:column`, 1-based. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Where the first JSON syntax error is (an offset), or null when the scanner finds none. */
export function jsonErrorOffset(text: string): number | null {
  let i = 0;
  const fail = (): never => {
    throw new RangeError(String(i));
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = (): void => {
    i++;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail();
      i += c === '\\' ? 2 : 1;
    }
    fail();
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] !== close) fail();
        i++;
        return;
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (match === null) fail();
    i += (match as RegExpExecArray)[0].length;
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return null;
  } catch (error) {
    if (error instanceof RangeError) return Math.min(Number(error.message), text.length);
    throw error;
  }
}
