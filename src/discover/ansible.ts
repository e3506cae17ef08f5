// Reads the Ansible side of a checkout: every role's meta/main.yml and tasks/**/*.yml, the docker
// plays, the top-level playbooks and the legacy util/parsefiles_config.yml. Raw text only.
//
// Synchronous on purpose: a checkout of 5,000 roles means ~5,000 directory reads and ~13,000
// small files; readdirSync/readFileSync do that in ~0.3 s here, where globby's `**` patterns
// took 2.8 s and Promise.all over readFile ~5× longer than the same reads done in sequence.
// Meta files are read by name, not listed: a directory listing costs more than the read.

import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { SourceFile } from './checkout.js';

/** The legacy change-mapping configuration, read as it is when present. */
export const LEGACY_CONFIG = 'util/parsefiles_config.yml';

/** Where roles and plays live, relative to the root (dockmk.yml paths plus the legacy lists). */
export interface AnsibleDirs {
  readonly roles: readonly string[];
  readonly dockerPlays: readonly string[];
  readonly playbooks: readonly string[];
}

export interface RawRole {
  /** The directory name: what plays and meta files call the role. */
  readonly name: string;
  /** `playbooks/roles/<name>`. */
  readonly dir: string;
  /** meta/main.yml or meta/main.yaml, the one Ansible reads dependencies from (none: no meta). */
  readonly meta: readonly SourceFile[];
  /** tasks/**\/*.yml, where include_role and import_role live. */
  readonly tasks: readonly SourceFile[];
}

export interface RawAnsible {
  /** Every role directory of every roles path, in path order, then by name. */
  readonly roles: readonly RawRole[];
  /** `<plays>/*.yml` of every docker plays path (not recursive: docker/plays/roles is a link). */
  readonly dockerPlays: readonly SourceFile[];
  /** `<playbooks>/*.yml`: the top-level plays. */
  readonly playbooks: readonly SourceFile[];
}

export function readLegacyConfig(root: string): SourceFile | null {
  try {
    return { path: LEGACY_CONFIG, text: readFileSync(join(root, LEGACY_CONFIG), 'utf8') };
  } catch {
    return null;
  }
}

/** Reads the plays always, the roles only when asked (a change that touches no role needs none). */
export function discoverAnsible(root: string, dirs: AnsibleDirs, options: { readonly roles: boolean } = { roles: true }): RawAnsible {
  const roles: RawRole[] = [];
  for (const rolesDir of options.roles ? dirs.roles : []) {
    for (const entry of listDir(root, rolesDir, true)) {
      if (!isKind(root, rolesDir, entry, 'directory')) continue;
      const dir = `${rolesDir}/${entry.name}`;
      roles.push({ name: entry.name, dir, meta: metaFile(root, dir), tasks: yamlFiles(root, `${dir}/tasks`, true) });
    }
  }
  return {
    roles,
    dockerPlays: dirs.dockerPlays.flatMap((dir) => yamlFiles(root, dir, false)),
    playbooks: dirs.playbooks.flatMap((dir) => yamlFiles(root, dir, false)),
  };
}

/** Ansible reads a role's dependencies from meta/main.yml (or .yaml), never from other meta files. */
function metaFile(root: string, dir: string): SourceFile[] {
  for (const name of ['main.yml', 'main.yaml']) {
    try {
      return [{ path: `${dir}/meta/${name}`, text: readFileSync(join(root, dir, 'meta', name), 'utf8') }];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw error;
    }
  }
  return [];
}

/** The YAML files of a directory (and of its subdirectories when `deep`), sorted; none if it is missing. */
function yamlFiles(root: string, dir: string, deep: boolean): SourceFile[] {
  const files: SourceFile[] = [];
  if (!deep) {
    // Names alone are cheaper to list; a directory called x.yml fails to read and is passed over.
    for (const name of listDir(root, dir, false)) {
      const text = /\.ya?ml$/.test(name) ? readText(root, `${dir}/${name}`) : null;
      if (text !== null) files.push({ path: `${dir}/${name}`, text });
    }
    return files;
  }
  for (const entry of listDir(root, dir, true)) {
    const path = `${dir}/${entry.name}`;
    if (/\.ya?ml$/.test(entry.name) && isKind(root, dir, entry, 'file')) files.push({ path, text: readFileSync(join(root, path), 'utf8') });
    else if (entry.isDirectory()) files.push(...yamlFiles(root, path, true));
  }
  return files;
}

function readText(root: string, path: string): string | null {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw error;
  }
}

function listDir(root: string, dir: string, types: false): string[];
function listDir(root: string, dir: string, types: true): Dirent[];
function listDir(root: string, dir: string, types: boolean): (string | Dirent)[] {
  try {
    const entries = types ? readdirSync(join(root, dir), { withFileTypes: true }) : readdirSync(join(root, dir));
    return entries.sort((a, b) => compare(typeof a === 'string' ? a : a.name, typeof b === 'string' ? b : b.name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Follows symbolic links (a role directory may be one), without following them while walking. */
function isKind(root: string, dir: string, entry: Dirent, kind: 'file' | 'directory'): boolean {
  if (!entry.isSymbolicLink()) return kind === 'file' ? entry.isFile() : entry.isDirectory();
  try {
    const stat = statSync(join(root, dir, entry.name));
    return kind === 'file' ? stat.isFile() : stat.isDirectory();
  } catch {
    return false;
  }
}
