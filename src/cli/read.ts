// The checkout read through its parse caches (discover/parse-cache.ts), one a part of it: what
// every command reads the services, roles and plays with, and where the caches are saved.

import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { discoverAnsible, type AnsibleDirs, type AnsibleFiles } from '../discover/ansible.js';
import type { ContextListing } from '../discover/context.js';
import { diskFiles, listedFiles, type CheckoutFiles, type ObserveRead } from '../discover/files.js';
import { ParseCache } from '../discover/parse-cache.js';
import { mayIncludeRoles, type FileReferences } from '../model/role-refs.js';
import { buildRoleGraph } from '../model/roles.js';
import { formatWarnings } from '../report/text.js';
import type { Io } from './session.js';

/**
 * The checkout's files as discover/ reads them, through the parse cache of one part of it
 * (`.dockmk/cache/parse-<part>.json`): the services, the roles, the plays or the legacy
 * util/parsefiles_config.yml, each read whole by
 * the runs that read it at all, so that each cache holds what one run visited.
 */
export function cachedFiles(config: Config, part: 'checkout' | 'roles' | 'plays' | 'legacy'): CheckoutFiles {
  return diskFiles(config.root, new ParseCache(join(config.stateDir, 'cache', `parse-${part}.json`), config.root), observers.get(config));
}

/** Who hears of every disk read of a run, by the run's configuration (one object a run). */
const observers = new WeakMap<Config, ObserveRead>();

/** Every file `cachedFiles(config, …)` reads from now on is told to `observe` (a plan memo's record). */
export function observeReads(config: Config, observe: ObserveRead): void {
  observers.set(config, observe);
}

/** The Ansible side through its parse caches; from `listing` where a run listed the context already. */
export function ansibleFiles(config: Config, listing?: ContextListing): AnsibleFiles {
  const roles = cachedFiles(config, 'roles');
  const plays = cachedFiles(config, 'plays');
  return listing ? { roles: listedFiles(listing, roles), plays: listedFiles(listing, plays) } : { roles, plays };
}

/** discover → model of the role graph (`around`: see RoleGraphOptions), its caches saved. */
export function readRoleGraph(files: AnsibleFiles, dirs: AnsibleDirs, options: { roles?: boolean; around?: readonly string[]; io?: Pick<Io, 'stderr'> } = {}) {
  const raw = discoverAnsible(files, dirs, { roles: options.roles ?? true, keepTasks: mayIncludeRoles });
  const [roles, plays] = [files.roles.cache.memos<FileReferences>(), files.plays.cache.memos<FileReferences>()];
  const memo = { get: (path: string) => roles.get(path) ?? plays.get(path), set: (path: string, value: FileReferences) => (roles.set(path, value), plays.set(path, value)) };
  const graph = options.roles === false ? null : buildRoleGraph(raw, { memo, ...(options.around ? { around: options.around } : {}) });
  saveCaches(options.io, files.roles, files.plays);
  return { raw, graph };
}

/** Writes the caches a run changed; one that cannot be written is a warning, never a failure. */
export function saveCaches(io: Pick<Io, 'stderr'> | undefined, ...files: readonly CheckoutFiles[]): void {
  for (const { cache } of new Set(files)) {
    const problem = cache.save();
    if (problem !== null && cache.file !== null) io?.stderr.write(formatWarnings([{ file: cache.file, message: problem }]));
  }
}
