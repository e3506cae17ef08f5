// What discover/ reads of a checkout's Ansible side for the model: raw text only, parsed by
// model/roles.ts. The model owns these types; discover/ansible.ts produces them.

import type { SourceFile } from './raw-checkout.js';

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
