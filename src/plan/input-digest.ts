// The digests of a build's inputs: each group of files a digest of its `path\0digest` lines,
// each service's inputs a digest of its parts' `label\0digest` lines. The lines are kept with the
// result, for the build key to reuse (keys.ts), and the parts made into an object only when read.

import { createHash } from 'node:crypto';
import type { ServiceInputOptions } from './inputs.js';
import type { BuildInputs } from './types.js';

/** One digested line of a group: the path and the file's digest. */
export type Line = readonly [path: string, digest: string];

/** sha256 of the JSON of a record's sorted entries, once a record (every service shares the run's build args). */
const recordDigests = new WeakMap<object, string>();

function recordDigest(record: Readonly<Record<string, string>>): string {
  let digest = recordDigests.get(record);
  if (digest === undefined) recordDigests.set(record, (digest = sha256(JSON.stringify(Object.entries(record).sort()))));
  return digest;
}

const FLAVOR_DIGESTS = new Map<string, string>();

/**
 * The digest of the parts: the fixed ones first (dockerfile, build args, flavor, labels when
 * there are some), then the named ones sorted by label, one `label\0digest` line each.
 */
export function digestParts(named: string[], content: string, options: ServiceInputOptions): BuildInputs {
  // Sorting the lines sorts by label: labels are unique, and \0 sorts before any character of one.
  named.sort();
  const flavor = options.flavor ?? 'plain';
  let flavorDigest = FLAVOR_DIGESTS.get(flavor);
  if (flavorDigest === undefined) FLAVOR_DIGESTS.set(flavor, (flavorDigest = sha256(flavor)));
  const lines = [`dockerfile\0${sha256(content)}`, `build args\0${recordDigest(options.buildArgs)}`, `flavor\0${flavorDigest}`];
  const labels = options.labels ?? {};
  // Only when there are some, so that adding the part left earlier hashes as they were.
  if (Object.keys(labels).length > 0) lines.push(`labels\0${recordDigest(labels)}`);
  for (const line of named) lines.push(line);
  let parts: Record<string, string> | null = null;
  const inputs = Object.defineProperty({ digest: sha256(lines.join('\n')) }, 'parts', {
    enumerable: true,
    // Made when asked (history and status ask, of a few builds): a plan of 2,000 services
    // would otherwise build 2,000 objects of dozens of keys that nothing reads.
    get: () => (parts ??= Object.fromEntries(lines.map((line) => line.split('\0') as [string, string]))),
  }) as BuildInputs;
  partLines.set(inputs, lines);
  return inputs;
}

/** The `label\0digest` lines each input digest was made of, in order, for the build key to reuse. */
const partLines = new WeakMap<BuildInputs, readonly string[]>();

/** The lines of `inputs`' digest, its own or made again (inputs read back from JSON). */
export function inputLines(inputs: BuildInputs): readonly string[] {
  return partLines.get(inputs) ?? Object.entries(inputs.parts).map(([label, digest]) => `${label}\0${digest}`);
}

/** A group's digest: its `path\0digest` lines, sorted. */
export function digestLines(lines: readonly Line[]): string {
  return sha256(lines.map(([path, digest]) => `${path}\0${digest}`).sort().join('\n'));
}

/** Hex sha256 of a text: the one digest every input part uses. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
