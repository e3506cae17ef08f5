// Reads the Ansible side of a checkout: every role's meta/main.yml and tasks/**/*.yml, the docker
// plays, the top-level playbooks and the legacy util/parsefiles_config.yml. Raw text only.
//
// Synchronous on purpose: a checkout of 5,000 roles means ~5,000 directory reads and ~13,000
// small files; sync calls do that in ~0.3 s here, where globby's `**` patterns took 2.8 s and
// Promise.all over readFile ~5× longer than the same reads done in sequence. Meta files are
// found by name, not listed: a directory listing costs more than a stat. Through the parse
// cache (files.ts, parse-cache.ts), a file unchanged since the last run is not read again.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnsibleDirs, RawAnsible, RawRole } from '../model/raw-ansible.js';
import type { SourceFile } from '../model/raw-checkout.js';
import { diskFiles, type CheckoutFiles, type DirEntry } from './files.js';
import { ParseCache } from './parse-cache.js';

/** The legacy change-mapping configuration, read as it is when present. */
export const LEGACY_CONFIG = 'util/parsefiles_config.yml';

export type { AnsibleDirs, RawAnsible, RawRole } from '../model/raw-ansible.js';

/** The legacy configuration when the checkout has one; through the parse cache of `from` when given one. */
export function readLegacyConfig(from: string | CheckoutFiles): SourceFile | null {
  if (typeof from !== 'string') {
    const text = from.read(LEGACY_CONFIG)?.text;
    return typeof text === 'string' ? { path: LEGACY_CONFIG, text } : null;
  }
  try {
    return { path: LEGACY_CONFIG, text: readFileSync(join(from, LEGACY_CONFIG), 'utf8') };
  } catch {
    return null;
  }
}

export interface DiscoverAnsibleOptions {
  /** Read the roles (a change that touches no role needs none). Default true. */
  readonly roles?: boolean;
  /**
   * Keep only the tasks files whose text passes (the model parses only those that can name a
   * role); the parse cache then remembers which did not, instead of their text.
   */
  readonly keepTasks?: (text: string) => boolean;
}

/**
 * Where the roles and the plays are read from: each through a parse cache of its own, since a run
 * may read the plays alone (and a cache keeps only what its run visited).
 */
export interface AnsibleFiles {
  readonly roles: CheckoutFiles;
  readonly plays: CheckoutFiles;
}

/** Reads the plays always, the roles unless told not to; from the disk, uncached, for a root path. */
export function discoverAnsible(from: string | AnsibleFiles, dirs: AnsibleDirs, options: DiscoverAnsibleOptions = {}): RawAnsible {
  const { roles: files, plays } = typeof from === 'string' ? uncached(from) : from;
  const roles: RawRole[] = [];
  for (const rolesDir of options.roles === false ? [] : dirs.roles) {
    for (const entry of files.list(rolesDir)) {
      const dir = `${rolesDir}/${entry.name}`;
      if (!isKind(files, dir, entry, 'directory')) continue;
      roles.push({ name: entry.name, dir, meta: metaFile(files, dir), tasks: yamlFiles(files, `${dir}/tasks`, true, options.keepTasks) });
    }
  }
  return {
    roles,
    dockerPlays: dirs.dockerPlays.flatMap((dir) => yamlFiles(plays, dir, false)),
    playbooks: dirs.playbooks.flatMap((dir) => yamlFiles(plays, dir, false)),
  };
}

function uncached(root: string): AnsibleFiles {
  const files = diskFiles(root, new ParseCache(null, root));
  return { roles: files, plays: files };
}

/** Ansible reads a role's dependencies from meta/main.yml (or .yaml), never from other meta files. */
function metaFile(files: CheckoutFiles, dir: string): SourceFile[] {
  for (const name of ['main.yml', 'main.yaml']) {
    const path = `${dir}/meta/${name}`;
    const text = files.read(path)?.text;
    if (typeof text === 'string') return [{ path, text }];
  }
  return [];
}

/** The YAML files of a directory (and of its subdirectories when `deep`), sorted; none if it is missing. */
function yamlFiles(files: CheckoutFiles, dir: string, deep: boolean, keep?: (text: string) => boolean): SourceFile[] {
  const found: SourceFile[] = [];
  for (const entry of files.list(dir)) {
    const path = `${dir}/${entry.name}`;
    if (/\.ya?ml$/.test(entry.name) && (entry.kind === 'file' || entry.kind === 'symlink')) {
      // A link is followed; one to a directory, or to nothing, is passed over.
      const text = files.read(path, keep)?.text;
      if (typeof text === 'string') found.push({ path, text });
    } else if (deep && entry.kind === 'directory') {
      found.push(...yamlFiles(files, path, true, keep));
    }
  }
  return found;
}

/** Follows symbolic links (a role directory may be one), without following them while walking. */
function isKind(files: CheckoutFiles, path: string, entry: DirEntry, kind: 'file' | 'directory'): boolean {
  if (entry.kind !== 'symlink') return entry.kind === kind;
  return files.stat(path)?.kind === kind;
}
