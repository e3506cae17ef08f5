// What lint says, and how: the rules with their stable ids and severities, and a finding made
// at a file:line. Shared by the rules of lint.ts and lint-dockerfile.ts.

import type { DiscoveryError } from '../errors.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly message: string;
  /** The service the finding is about; for a role file, the first service (by name) that runs it. */
  readonly service: string | null;
}

export const RULES = {
  'dockerfile-parse': { severity: 'error', summary: 'the Dockerfile parses' },
  'from-base': { severity: 'error', summary: 'every FROM is a service of the checkout or a declared external base (externalBases)' },
  'from-cycle': { severity: 'error', summary: 'no service builds FROM itself or its descendants' },
  'copy-checkout': { severity: 'error', summary: 'the checkout is copied (COPY/ADD .) to /edx/app/edx_ansible/edx_ansible before the play runs' },
  'runs-play': { severity: 'error', summary: 'the Dockerfile runs ansible-playbook (a base image, one others build FROM or named *-common, may leave that to its children)' },
  'play-name': { severity: 'warning', summary: 'the play run is <svc>.yml, the docker play named like the service' },
  'play-exists': { severity: 'error', summary: 'the play the Dockerfile runs exists in the docker plays or playbooks' },
  'overrides-copied': { severity: 'error', summary: 'ansible_overrides.yml, when the service has one, is COPYed into the image' },
  'overrides-passed': { severity: 'error', summary: 'the play runs with --extra-vars=@<the copied overrides file>' },
  'overrides-yaml': { severity: 'error', summary: 'ansible_overrides.yml is a YAML mapping' },
  'runs-as-root': { severity: 'error', summary: 'no USER other than root is in effect when the play runs' },
  'role-exists': { severity: 'error', summary: 'every role the play, meta dependencies and include_role/import_role name exists' },
  'ansible-yaml': { severity: 'error', summary: 'every play and role file the play reaches is valid YAML of the right shape' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type RuleId = keyof typeof RULES;

export const CHECKOUT_DIR = '/edx/app/edx_ansible/edx_ansible';

export function finding(rule: RuleId, file: string, line: number, message: string, service: string | null): Finding {
  return { file, line, rule, severity: RULES[rule].severity, message, service };
}

export /** A DiscoveryError's message without its `file:line: ` prefix (the finding carries the place). */
function bare(error: DiscoveryError): string {
  const prefix = error.line === undefined ? `${error.file}: ` : `${error.file}:${error.line}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return error.hint ? `${message} (${error.hint})` : message;
}
