// Rule (c): a changed role → every role that pulls it in, transitively → the play files that
// use one of them → the services that run those plays. Breadth-first over the reverse edges,
// so each service gets the shortest chain; a visited set makes cycles harmless.

import type { ChangedPath } from './changed-path.js';
import type { RoleGraph, RoleReference } from '../model/roles.js';
import type { PlayOwners } from '../model/service-plays.js';
import type { Link, Reason } from './affected.js';

export interface RoleReasons {
  /** By service: the shortest chain from the role to it. */
  readonly reasons: ReadonlyMap<string, Reason>;
  /** When no service is reached: what to warn, saying what does use the role. */
  readonly uncovered: string;
}

export function roleReasons(graph: RoleGraph, owners: PlayOwners, role: string, files: readonly ChangedPath[]): RoleReasons {
  const via = new Map<string, { from: string; reference: RoleReference } | null>([[role, null]]);
  const order = [role];
  for (let i = 0; i < order.length; i++) {
    for (const dependent of graph.dependents.get(order[i] as string) ?? []) {
      if (via.has(dependent.role)) continue;
      via.set(dependent.role, { from: order[i] as string, reference: dependent.reference });
      order.push(dependent.role);
    }
  }
  const reasons = new Map<string, Reason>();
  const plays = new Set<string>();
  for (const name of order) {
    for (const use of graph.users.get(name) ?? []) {
      plays.add(use.play);
      for (const owner of owners.get(use.play) ?? []) {
        if (owner.link !== 'runs' || reasons.has(owner.service)) continue;
        const chain: Link[] = [...roleChain(via, name), { kind: 'play', path: use.play, reference: use.reference }];
        chain.push({ kind: 'service', name: owner.service, via: { kind: 'play', link: 'runs' } });
        reasons.set(owner.service, { rule: 'role', files, chain });
      }
    }
  }
  return { reasons, uncovered: reasons.size > 0 ? '' : uncoveredMessage(graph, role, order, [...plays].sort()) };
}

/** role → … → name, each link citing the reference that pulls the previous role in. */
function roleChain(via: ReadonlyMap<string, { from: string; reference: RoleReference } | null>, name: string): Link[] {
  const chain: Link[] = [];
  for (let current: string | undefined = name; current !== undefined; ) {
    const step = via.get(current);
    chain.unshift(step ? { kind: 'role', name: current, reference: step.reference } : { kind: 'role', name: current });
    current = step?.from;
  }
  return chain;
}

function uncoveredMessage(graph: RoleGraph, role: string, reached: readonly string[], plays: readonly string[]): string {
  const known = graph.roles.has(role) ? `role ${role}` : `role ${role} (no such role in this checkout any more)`;
  const through = reached.length > 1 ? ` nor any of the ${reached.length - 1} roles that pull it in` : '';
  const users = plays.length > 0 ? `; it is used only by ${plays.slice(0, 3).join(', ')}${plays.length > 3 ? ` and ${plays.length - 3} more` : ''}, which no service runs` : '';
  return `${known} is not covered: no service's play uses it${through}${users}, so no image is rebuilt for this change`;
}
