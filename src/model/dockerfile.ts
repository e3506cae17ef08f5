// A Dockerfile as dockmk needs it: global ARGs, stages and their bases (FROM, COPY --from),
// and the ansible-playbook runs. Pure: text in, data out; errors name file:line.

import { DiscoveryError } from '../errors.js';
import { expandWord, jsonForm, lexDockerfile, splitWords, type LogicalLine } from './dockerfile-lex.js';
import { parseImageRef, type ImageRef } from './image-ref.js';
import { findPlaybookRuns, type PlaybookRun } from './playbook-runs.js';
import { mountFroms, mountsContext } from './run-mounts.js';

export type { PlaybookRun } from './playbook-runs.js';

export type BaseSource =
  | { readonly kind: 'image'; readonly ref: ImageRef }
  | { readonly kind: 'stage'; readonly stage: string }
  | { readonly kind: 'scratch' }
  /** The reference does not resolve as written (an ARG without value, a bad name). */
  | { readonly kind: 'unresolved'; readonly reason: string; readonly repository: ImageRef | null };

/** An image a Dockerfile reads: the base of a stage, the source of a COPY --from or of a RUN --mount=from. */
export interface BaseImage {
  readonly instruction: 'FROM' | 'COPY' | 'RUN';
  readonly line: number;
  readonly endLine: number;
  /** The reference as written in the file. */
  readonly written: string;
  /** The reference after ARG substitution. */
  readonly image: string;
  readonly source: BaseSource;
}

export interface Stage {
  readonly index: number;
  readonly base: BaseImage;
  readonly platform: string | null;
  readonly alias: string | null;
}

export interface GlobalArg {
  readonly name: string;
  /** The value FROM lines see: the --build-arg if given, else the default, else null. */
  readonly value: string | null;
  readonly line: number;
}

/** A file or directory of the build context that COPY or ADD reads by name (no --from, no URL). */
export interface ContextSource {
  readonly instruction: 'COPY' | 'ADD';
  readonly line: number;
  /** As written, after global ARG substitution; may hold wildcards. */
  readonly source: string;
}

export interface Dockerfile {
  readonly path: string;
  readonly text: string;
  readonly escape: string;
  readonly args: readonly GlobalArg[];
  readonly stages: readonly Stage[];
  /** COPY --from and RUN --mount=from images (not stages), in file order. */
  readonly copyFrom: readonly BaseImage[];
  /** Context files COPY/ADD name, in file order (the whole-context copy `ADD . /x` included). */
  readonly contextSources: readonly ContextSource[];
  /** A RUN --mount binds the build context (type=bind without from=): it may read any of its files. */
  readonly mountsContext: boolean;
  readonly playbookRuns: readonly PlaybookRun[];
}

const STAGE_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

/**
 * Parses a Dockerfile. `buildArgs` override global ARG defaults, as `--build-arg` does;
 * undeclared build args do not reach FROM lines (Docker's rule).
 */
export function parseDockerfile(
  path: string,
  text: string,
  buildArgs: Readonly<Record<string, string>> = {},
): Dockerfile {
  const { escape, lines, badEscape } = lexDockerfile(text);
  if (badEscape) {
    throw new DiscoveryError(path, badEscape.line, `invalid escape directive "${badEscape.value}": Docker takes only \` or \\`, { hint: 'write # escape=` or # escape=\\, or remove the line' });
  }
  const env = new Map<string, string>();
  const args: GlobalArg[] = [];
  const stages: Stage[] = [];
  const copyFrom: BaseImage[] = [];
  const contextSources: ContextSource[] = [];
  const playbookRuns: PlaybookRun[] = [];
  let bindsContext = false;
  const fail = (line: LogicalLine, message: string, hint?: string): never => {
    throw new DiscoveryError(path, line.line, message, { hint });
  };

  for (const line of lines) {
    switch (line.keyword) {
      case 'ARG':
        if (stages.length === 0) args.push(...parseGlobalArgs(line, escape, env, buildArgs, fail));
        break;
      case 'FROM':
        stages.push(parseFrom(line, stages, escape, env, fail));
        break;
      case 'COPY': {
        const from = parseCopyFrom(line, stages, escape);
        if (stages.length === 0) fail(line, 'COPY before the first FROM', 'start the Dockerfile with FROM (ARG lines may come before it)');
        if (from) copyFrom.push(from);
        contextSources.push(...findContextSources(line, escape, env));
        break;
      }
      case 'ADD':
        if (stages.length === 0) fail(line, 'ADD before the first FROM', 'only ARG may come before the first FROM');
        contextSources.push(...findContextSources(line, escape, env));
        break;
      case 'RUN':
        if (stages.length === 0) fail(line, 'RUN before the first FROM', 'start the Dockerfile with FROM (ARG lines may come before it)');
        playbookRuns.push(...findPlaybookRuns(line, escape));
        bindsContext ||= mountsContext(line.args, escape);
        for (const mount of mountFroms(line.args, escape)) {
          if (/^\d+$/.test(mount.value)) continue;
          const base = resolveBase('RUN', line, mount.value, stages, escape, new Map());
          if (base.source.kind !== 'stage') copyFrom.push(base);
        }
        break;
      default:
        if (stages.length === 0) {
          fail(line, `${line.keyword} before the first FROM`, 'only ARG may come before the first FROM');
        }
    }
  }
  if (stages.length === 0) {
    throw new DiscoveryError(path, undefined, 'no FROM instruction', { hint: 'a Dockerfile needs at least one FROM line' });
  }
  return { path, text, escape, args, stages, copyFrom, contextSources, mountsContext: bindsContext, playbookRuns };
}

type Fail = (line: LogicalLine, message: string, hint?: string) => never;

function parseGlobalArgs(
  line: LogicalLine,
  escape: string,
  env: Map<string, string>,
  buildArgs: Readonly<Record<string, string>>,
  fail: Fail,
): GlobalArg[] {
  const words = splitWords(line.args, escape);
  if (words.length === 0) fail(line, 'ARG needs a name', 'write ARG NAME or ARG NAME=default');
  return words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(line, `"${name}" is not a valid ARG name`);
    const fallback = eq === -1 ? null : expandWord(word.slice(eq + 1), env, escape).value;
    const value = Object.hasOwn(buildArgs, name) ? (buildArgs[name] as string) : fallback;
    if (value === null) env.delete(name);
    else env.set(name, value);
    return { name, value, line: line.line };
  });
}

function parseFrom(line: LogicalLine, stages: readonly Stage[], escape: string, env: Map<string, string>, fail: Fail): Stage {
  const words = splitWords(line.args, escape);
  let platform: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    const match = /^--platform=(.*)$/.exec(flag);
    if (!match) fail(line, `FROM does not take the flag ${flag.split('=')[0]}`, 'FROM accepts only --platform=<platform>');
    platform = expandWord(match?.[1] ?? '', env, escape).value;
  }
  const [written, as, alias, ...extra] = words;
  if (written === undefined) fail(line, 'FROM needs an image', 'write FROM <image>[:tag] [AS <name>]');
  if (extra.length > 0 || (as !== undefined && (as.toUpperCase() !== 'AS' || alias === undefined))) {
    fail(line, `FROM takes an image and optionally "AS <name>", not "${line.args}"`);
  }
  if (alias !== undefined && !STAGE_NAME.test(alias)) {
    fail(line, `"${alias}" is not a valid stage name`, 'stage names start with a letter and hold letters, digits, "-", "_" and "."');
  }
  const base = resolveBase('FROM', line, written as string, stages, escape, env);
  return { index: stages.length, base, platform, alias: alias === undefined ? null : alias.toLowerCase() };
}

function parseCopyFrom(line: LogicalLine, stages: readonly Stage[], escape: string): BaseImage | null {
  for (const word of splitWords(line.args, escape)) {
    if (!word.startsWith('--')) break;
    const match = /^--from=(.+)$/.exec(word);
    if (!match) continue;
    const value = match[1] as string;
    if (/^\d+$/.test(value)) return null;
    const base = resolveBase('COPY', line, value, stages, escape, new Map());
    return base.source.kind === 'stage' ? null : base;
  }
  return null;
}

function resolveBase(
  instruction: BaseImage['instruction'],
  line: LogicalLine,
  written: string,
  stages: readonly Stage[],
  escape: string,
  env: ReadonlyMap<string, string>,
): BaseImage {
  const { value: image, unset } = expandWord(written, env, escape);
  const at = { instruction, line: line.line, endLine: line.endLine, written, image };
  if (stages.some((stage) => stage.alias !== null && stage.alias === image.toLowerCase())) {
    return { ...at, source: { kind: 'stage', stage: image.toLowerCase() } };
  }
  if (image.toLowerCase() === 'scratch') return { ...at, source: { kind: 'scratch' } };
  const parsed = parseImageRef(image);
  if (parsed.ok) return { ...at, source: { kind: 'image', ref: parsed.ref } };
  const reason =
    unset.length > 0
      ? `"${written}" resolves to "${image}": ${unset.map((name) => `ARG ${name}`).join(', ')} has no value`
      : `"${image}" is not a valid image reference: ${parsed.reason}`;
  return { ...at, source: { kind: 'unresolved', reason, repository: repositoryOnly(image) } };
}

/** For a reference broken only in its tag (`edxops/x:` from an empty ARG), the repository part. */
function repositoryOnly(image: string): ImageRef | null {
  const withoutDigest = image.split('@')[0] as string;
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= withoutDigest.lastIndexOf('/')) return null;
  const parsed = parseImageRef(withoutDigest.slice(0, colon));
  return parsed.ok ? parsed.ref : null;
}

/** The context paths a COPY or ADD reads: none with --from, URLs, git sources or heredocs. */
function findContextSources(line: LogicalLine, escape: string, env: ReadonlyMap<string, string>): ContextSource[] {
  const instruction = line.keyword as 'COPY' | 'ADD';
  const words = jsonForm(line.args) ?? splitWords(line.args, escape);
  const flags = words.findIndex((word) => !word.startsWith('--'));
  if (flags === -1 || words.slice(0, flags).some((flag) => flag.startsWith('--from='))) return [];
  return words
    .slice(flags, -1)
    .map((word) => expandWord(word, env, escape).value)
    .filter((source) => !/^(?:[a-z][a-z0-9+.-]*:\/\/|git@|<<)/i.test(source))
    .map((source) => ({ instruction, line: line.line, source }));
}

/** The images a Dockerfile reads from outside itself (stage references and scratch excluded). */
export function externalBases(dockerfile: Dockerfile): BaseImage[] {
  return [...dockerfile.stages.map((stage) => stage.base), ...dockerfile.copyFrom].filter(
    (base) => base.source.kind === 'image' || base.source.kind === 'unresolved',
  );
}
