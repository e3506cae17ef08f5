// dockmk affected: the services a change touches, one per line (--json: an array), and with
// --explain the chain from each changed file to each service.

import type { Argv } from 'yargs';
import type { ChangedPath } from '../discover/git.js';
import { UsageError } from '../errors.js';
import type { Affected, Link, Reason, ServiceVia } from '../plan/affected.js';
import type { RoleReference } from '../model/roles.js';
import { globalOptions, selectionOptions, type GlobalArgs, type SelectionArgs } from './options.js';
import { select } from './selection.js';
import { openSession, type Io } from './session.js';

interface AffectedArgs extends GlobalArgs, SelectionArgs {
  services?: string[];
  explain: boolean;
}

export function affectedCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      selectionOptions(globalOptions(yargs))
        .positional('services', { type: 'string', array: true, describe: 'Only report these services (default: all)' })
        .option('explain', { type: 'boolean', default: false, describe: 'Show, per service, the chain from each changed file to it' }),
    handler: async (args: AffectedArgs): Promise<void> => {
      if (args.since === undefined && args.range === undefined && args.files === undefined) {
        throw new UsageError('affected needs a change: --since REF, --range A..B or --files FILE (- for stdin)', {
          hint: 'e.g. `dockmk affected --since origin/main`, or `git diff --name-only A B | dockmk affected --files -`',
        });
      }
      const session = await openSession(args, io);
      const { services, affected } = await select(args, session, io);
      io.stdout.write(render(services, affected as Affected, args));
    },
  };
}

function render(services: readonly string[], affected: Affected, args: AffectedArgs): string {
  if (args.json && !args.explain) return `${JSON.stringify(services)}\n`;
  if (args.json) return `${JSON.stringify(services.map((service) => ({ service, reasons: affected.reasons.get(service) ?? [] })), null, 2)}\n`;
  if (!args.explain) return services.map((service) => `${service}\n`).join('');
  const lines: string[] = [];
  for (const service of services) {
    lines.push(service);
    for (const reason of affected.reasons.get(service) ?? []) lines.push(`  ${formatReason(reason)}`);
  }
  if (affected.unmatched.length > 0) {
    lines.push(services.length > 0 ? '' : '(no service is affected)', 'changed paths that affect no service:');
    for (const { path, why } of affected.unmatched) lines.push(`  ${path}: ${why}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

export function formatReason(reason: Reason): string {
  const parts: string[] = [];
  const [first, ...others] = reason.files;
  if (first) parts.push(`${formatFile(first)}${others.length > 0 ? ` (+${others.length} more)` : ''}`);
  for (const link of reason.chain) parts.push(formatLink(link));
  return parts.join(' → ');
}

function formatFile(change: ChangedPath): string {
  if (change.previous !== undefined) return `${change.previous} ⇒ ${change.path} (${change.status})`;
  return change.status === 'changed' || change.status === 'modified' ? change.path : `${change.path} (${change.status})`;
}

function formatLink(link: Link): string {
  const at = (reference?: RoleReference): string => (reference ? ` (${reference.kind} ${reference.file}:${reference.line})` : '');
  switch (link.kind) {
    case 'role':
      return `role ${link.name}${at(link.reference)}`;
    case 'play':
      return link.reference ? `${link.path}:${link.reference.line}${link.reference.kind === 'roles' ? '' : ` (${link.reference.kind})`}` : link.path;
    case 'service':
      return `${link.name}${formatVia(link.via)}`;
  }
}

function formatVia(via: ServiceVia): string {
  switch (via.kind) {
    case 'build-dir':
    case 'affected':
      return '';
    case 'play':
      return via.link === 'runs' ? ' (runs it)' : via.link === 'would-run' ? ' (its Dockerfile runs it)' : ' (named like it)';
    case 'playbook-name':
      return ' (named like it)';
    case 'context':
      return via.dir === '.' ? ' (it copies its whole build context, the checkout)' : ` (its build context ${via.dir}/)`;
    case 'copy':
      return ` (${via.instruction} ${via.source} at ${via.file}:${via.line})`;
    case 'parent':
      return ` (FROM at ${via.file}:${via.line})`;
  }
}
