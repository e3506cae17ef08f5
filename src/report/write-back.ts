// --write-back: after the whole push succeeded, each named key of a YAML file is set to the ref
// a service was pushed under (as the push outcome reports it, src/report/publish.ts), the file
// replaced atomically (a temp file beside it, then rename) and the change shown as a unified
// diff. Checked before anything is built (the file is a mapping, the key is there, the service
// is pushed under a versioned tag); with --dry-run the diff is shown and nothing is written.

import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { ConfigError, StepFailedError } from '../errors.js';
import { chooseRef, formatWriteBack, type WriteBackTarget } from '../model/write-back.js';
import { editYaml, formatKeyPath, type YamlChange } from '../model/yaml-edit.js';
import type { PublishOutcome } from './publish.js';
import type { Output } from './describe.js';

export interface WriteBackOptions {
  /** Pin the ref to the pushed manifest: `…:1.2.3@sha256:…`. */
  readonly digest: boolean;
  /** Add missing keys instead of refusing. */
  readonly create: boolean;
  /** Commit each written file in its git repository (never pushed). */
  readonly commit: boolean;
  /** Where paths are shown relative to (the current directory). */
  readonly cwd: string;
}

/** A target whose `file` is absolute. */
export type ResolvedTarget = WriteBackTarget;

export interface FileWrite {
  readonly file: string;
  readonly before: string;
  readonly after: string;
  readonly changes: readonly (YamlChange & { readonly service: string })[];
  readonly diff: string;
}

/** Stands for the digest in a preview, when the registry has not given it yet. */
const DIGEST_PLACEHOLDER = 'sha256:<digest of the push>';

/**
 * Before the engine is called: every file reads, is a mapping holding every key (or, with
 * create, can take it), every service is pushed by this run under a ref worth writing, and, to
 * commit, every file is in a git work tree. `planned` is what the plan would push, all of it.
 */
export async function checkWriteBack(targets: readonly ResolvedTarget[], planned: PublishOutcome, options: WriteBackOptions): Promise<void> {
  for (const target of targets) {
    const image = planned.images.find((entry) => entry.service === target.service);
    if (image === undefined) {
      const pushed = planned.images.map((entry) => entry.service);
      throw new ConfigError(`${target.source} ${formatWriteBack(target)}: ${target.service} is not pushed by this run`, {
        hint: pushed.length > 0 ? `this push publishes ${pushed.join(', ')}` : 'name the service on the push command line too',
      });
    }
    if (chooseRef(image.refs, options.digest ? DIGEST_PLACEHOLDER : null) === null) {
      throw new ConfigError(`${target.source} ${formatWriteBack(target)}: ${target.service} is pushed only as ${image.refs.join(', ')}, a tag that moves`, {
        hint: 'push versioned tags (--tags auto: sha-<7>, and the release on a semver tag), or pin the digest with --write-back-digest',
      });
    }
  }
  for (const [file, group] of byFile(targets)) {
    editYaml(readTarget(file, group), shown(file, options.cwd), group.map((target) => ({ path: target.path, value: 'dockmk-check' })), { create: options.create });
    if (options.commit) await gitTopLevel(dirname(file), file);
  }
}

/** The files as they would be written (nothing is). The digest, unknown before a push, is a placeholder in a preview. */
export function previewWriteBack(targets: readonly ResolvedTarget[], outcome: PublishOutcome, options: WriteBackOptions): FileWrite[] {
  return [...byFile(targets)].map(([file, group]) => edited(file, group, outcome, options, true));
}

/** After the whole push succeeded: writes each file that changes, prints its diff, commits when asked. */
export async function applyWriteBack(targets: readonly ResolvedTarget[], outcome: PublishOutcome, options: WriteBackOptions, out: Output): Promise<FileWrite[]> {
  if (!outcome.complete) throw new Error('write-back after an incomplete push');
  const writes = [...byFile(targets)].map(([file, group]) => edited(file, group, outcome, options, false));
  for (const write of writes) {
    if (write.after === write.before) {
      out.write(`write-back: ${shown(write.file, options.cwd)} already holds ${write.changes.map((change) => change.after).join(', ')}\n`);
      continue;
    }
    replaceFile(write.file, write.after);
    out.write(write.diff);
  }
  if (options.commit) {
    for (const write of writes.filter((entry) => entry.after !== entry.before)) await commitFile(write);
  }
  return writes;
}

/** The diff of every file, for --dry-run. */
export function formatWriteBackPreview(writes: readonly FileWrite[], cwd: string): string {
  const lines = writes.map((write) => (write.after === write.before ? `write-back: ${shown(write.file, cwd)} already holds these refs\n` : write.diff));
  return `write-back (dry run, nothing written):\n${lines.join('')}`;
}

function edited(file: string, group: readonly ResolvedTarget[], outcome: PublishOutcome, options: WriteBackOptions, preview: boolean): FileWrite {
  const values = group.map((target) => {
    const image = outcome.images.find((entry) => entry.service === target.service);
    const digest = options.digest ? (image?.digest ?? (preview ? DIGEST_PLACEHOLDER : null)) : null;
    if (options.digest && digest === null) {
      throw new StepFailedError(`write-back: the registry gave no digest for ${target.service}, so ${shown(file, options.cwd)} was left as it was`, {
        hint: 'push again, or write back without --write-back-digest',
      });
    }
    const ref = image === undefined ? null : chooseRef(image.refs, digest);
    if (ref === null) throw new Error(`write-back: no ref for ${target.service} in a complete push outcome`);
    return { path: target.path, value: ref, service: target.service };
  });
  const before = readTarget(file, group);
  const name = shown(file, options.cwd);
  const { text: after, changes } = editYaml(before, name, values, { create: options.create });
  const diff = after === before ? '' : createTwoFilesPatch(`a/${name}`, `b/${name}`, before, after, undefined, undefined, { context: 3 }).replace(/^=+\n/, '');
  return { file, before, after, changes: changes.map((change, i) => ({ ...change, service: values[i]?.service ?? '' })), diff };
}

function byFile(targets: readonly ResolvedTarget[]): Map<string, ResolvedTarget[]> {
  const files = new Map<string, ResolvedTarget[]>();
  for (const target of targets) files.set(target.file, [...(files.get(target.file) ?? []), target]);
  return files;
}

function readTarget(file: string, group: readonly ResolvedTarget[]): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${group[0]?.source ?? '--write-back'} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'name an existing YAML file (relative to the current directory; in dockmk.yml, to the checkout)',
    });
  }
}

function shown(file: string, cwd: string): string {
  const path = relative(cwd, file);
  return path === '' || path.startsWith('..') ? file : path;
}

/** Write beside it, keep its mode, rename over it: a reader sees the old file or the new one, never half. */
function replaceFile(link: string, text: string): void {
  // A symlinked config is written where it points, and stays a link.
  const file = realpathSync(link);
  const temporary = join(dirname(file), `.${basename(file)}.dockmk-${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    chmodSync(temporary, statSync(file).mode & 0o7777);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new StepFailedError(`write-back: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); the push itself succeeded`, {
      hint: 'make the file and its directory writable, then run the push again (nothing new is pushed)',
    });
  }
}

function git(cwd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', [...args], { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
      resolve({ code, stdout, stderr });
    });
  });
}

async function gitTopLevel(dir: string, file: string): Promise<string> {
  const result = await git(dir, ['rev-parse', '--show-toplevel']);
  if (result.code !== 0) {
    throw new ConfigError(`--write-back-commit: ${file} is not in a git work tree`, { hint: 'leave out --write-back-commit, or keep the file in a git repository' });
  }
  const tracked = await git(dir, ['ls-files', '--error-unmatch', '--', basename(file)]);
  if (tracked.code !== 0) {
    throw new ConfigError(`--write-back-commit: ${file} is not tracked by git`, { hint: `add it first (git add ${basename(file)}), or leave out --write-back-commit` });
  }
  return result.stdout.trim();
}

async function commitFile(write: FileWrite): Promise<void> {
  const dir = dirname(write.file);
  const refs = write.changes.map((change) => `${formatKeyPath(change.path)}: ${change.after}`);
  const subject = `Write back ${write.changes.map((change) => change.service).join(', ')} image ref${write.changes.length > 1 ? 's' : ''} pushed by dockmk`;
  const message = `${subject}\n\n${refs.join('\n')}\n`;
  const result = await git(dir, ['commit', '--quiet', '--only', '-m', message, '--', basename(write.file)]);
  if (result.code !== 0) {
    const line = result.stderr.trim().split('\n').find((text) => text.startsWith('fatal:') || text.startsWith('error:')) ?? result.stderr.trim();
    throw new StepFailedError(`write-back: ${write.file} was written but not committed: ${line || `git exit ${result.code}`}`, {
      hint: 'commit it yourself (git commit), or set user.name and user.email for that repository',
    });
  }
}
