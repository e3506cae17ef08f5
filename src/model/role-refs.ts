// What one Ansible file says about roles: a role's meta/*.yml `dependencies` (a plain name or a
// `role:`/`name:` mapping), include_role/import_role in tasks (blocks included), and a play
// file's `roles:` and tasks. Pure: parsed YAML in, references with file:line out.

import type { SourceFile } from './raw-checkout.js';
import { DiscoveryError } from '../errors.js';
import { isMapping, loadAnsibleYaml, type YamlFile } from './ansible-yaml.js';
import type { Warning } from './checkout.js';

/** How a file names a role: a meta dependency, a play's `roles:` entry, or a task. */
export type ReferenceKind = 'meta' | 'roles' | 'include_role' | 'import_role';

export interface RoleReference {
  readonly role: string;
  readonly kind: ReferenceKind;
  readonly file: string;
  readonly line: number;
}

export interface FileReferences {
  readonly references: readonly RoleReference[];
  /** Names that cannot be known without running Ansible (`{{ templated }}`). */
  readonly warnings: readonly Warning[];
  /** For play files: how many plays the file holds. */
  readonly plays: number;
}

const TASK_LISTS = ['tasks', 'pre_tasks', 'post_tasks', 'handlers'];
const BLOCK_LISTS = ['block', 'rescue', 'always'];
const INCLUDES: Record<string, ReferenceKind> = {};
for (const prefix of ['', 'ansible.builtin.', 'ansible.legacy.']) {
  INCLUDES[`${prefix}include_role`] = 'include_role';
  INCLUDES[`${prefix}import_role`] = 'import_role';
}

/** Only a file that says include_role or import_role can hold one: the others need no parsing. */
export function mayIncludeRoles(text: string): boolean {
  return text.includes('include_role') || text.includes('import_role');
}

/** A role's meta file: its `dependencies`. */
export function metaReferences(source: SourceFile): FileReferences {
  const yaml = loadAnsibleYaml(source);
  const out = new Collector(yaml);
  if (yaml.value === undefined || yaml.value === null) return out.done(0);
  if (!isMapping(yaml.value)) throw new DiscoveryError(source.path, 1, 'a role meta file must be a mapping (dependencies:, galaxy_info:, ...)');
  const dependencies = yaml.value.dependencies;
  if (dependencies === undefined || dependencies === null) return out.done(0);
  if (!Array.isArray(dependencies)) {
    throw new DiscoveryError(source.path, yaml.lineOf(yaml.value), 'dependencies must be a list of roles', {
      hint: 'write `dependencies:` then `- common` or `- role: common` items',
    });
  }
  out.roleList(dependencies, 'meta');
  return out.done(0);
}

/** A role's tasks file: the roles its tasks include or import. */
export function taskReferences(source: SourceFile): FileReferences {
  const yaml = loadAnsibleYaml(source);
  const out = new Collector(yaml);
  if (Array.isArray(yaml.value)) out.tasks(yaml.value);
  return out.done(0);
}

/** A play file (docker play or top-level playbook): every play's `roles:` and tasks. */
export function playReferences(source: SourceFile): FileReferences {
  const yaml = loadAnsibleYaml(source);
  const out = new Collector(yaml);
  if (!Array.isArray(yaml.value)) return out.done(0);
  for (const play of yaml.value) {
    if (!isMapping(play)) continue;
    if (Array.isArray(play.roles)) out.roleList(play.roles, 'roles');
    for (const key of TASK_LISTS) if (Array.isArray(play[key])) out.tasks(play[key]);
  }
  return out.done(yaml.value.filter(isMapping).length);
}

class Collector {
  private readonly references: RoleReference[] = [];
  private readonly warnings: Warning[] = [];

  constructor(private readonly yaml: YamlFile) {}

  /** `- common`, `- role: common`, `- name: common`, `- { role: common, when: x }`. */
  roleList(items: readonly unknown[], kind: ReferenceKind): void {
    const lines = this.yaml.itemLines(items);
    items.forEach((item, i) => {
      const line = lines?.[i] ?? (isMapping(item) ? this.yaml.lineOf(item) : undefined) ?? this.yaml.lineOf(items) ?? 1;
      const written = typeof item === 'string' ? item : isMapping(item) ? (item.role ?? item.name) : undefined;
      this.add(written, kind, line);
    });
  }

  tasks(items: readonly unknown[]): void {
    for (const task of items) {
      if (!isMapping(task)) continue;
      for (const [key, kind] of Object.entries(INCLUDES)) {
        if (!(key in task)) continue;
        const value = task[key];
        const line = (isMapping(value) ? this.yaml.lineOf(value) : undefined) ?? this.yaml.lineOf(task) ?? 1;
        this.add(isMapping(value) ? value.name : typeof value === 'string' ? freeFormName(value) : undefined, kind, line);
      }
      for (const key of BLOCK_LISTS) if (Array.isArray(task[key])) this.tasks(task[key]);
    }
  }

  done(plays: number): FileReferences {
    return { references: this.references, warnings: this.warnings, plays };
  }

  private add(written: unknown, kind: ReferenceKind, line: number): void {
    if (typeof written !== 'string' || written.trim() === '') {
      this.warnings.push({ file: `${this.yaml.path}:${line}`, message: `a ${kind === 'meta' ? 'dependency' : kind} entry names no role; it is not followed` });
      return;
    }
    const role = roleName(written);
    if (role === null) {
      this.warnings.push({ file: `${this.yaml.path}:${line}`, message: `role "${written}" is templated: dockmk cannot tell which role it is, so changes to it are not followed` });
      return;
    }
    this.references.push({ role, kind, file: this.yaml.path, line });
  }
}

/** `name=common tasks_from=x` (the free form of include_role). */
function freeFormName(text: string): string | undefined {
  return /(?:^|\s)name=("[^"]*"|'[^']*'|\S+)/.exec(text)?.[1]?.replace(/^["']|["']$/g, '');
}

/** A role as Ansible resolves it by name: a path (`../roles/common`) names its last directory. */
export function roleName(written: string): string | null {
  if (written.includes('{{') || written.includes('{%')) return null;
  const trimmed = written.trim().replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || null;
}
