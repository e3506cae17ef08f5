// Walks of the service graph (parent → child through FROM). Knows nothing of builds.

import { CycleError } from '../errors.js';
import type { Checkout } from './checkout.js';

/** The named services and every ancestor they build on inside the checkout. */
export function withAncestors(checkout: Checkout, names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...names];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(checkout.services.get(name)?.parents ?? []));
  }
  return seen;
}

/**
 * Orders services in waves: every parent in an earlier wave than its children, names sorted
 * within a wave. Parents outside `subset` are taken as done. Throws CycleError on a loop.
 */
export function buildWaves(checkout: Checkout, subset: ReadonlySet<string>): string[][] {
  const waiting = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const name of subset) {
    const parents = (checkout.services.get(name)?.parents ?? []).filter((parent) => subset.has(parent));
    waiting.set(name, parents.length);
    for (const parent of parents) children.set(parent, [...(children.get(parent) ?? []), name]);
  }
  const waves: string[][] = [];
  let ready = [...waiting].filter(([, count]) => count === 0).map(([name]) => name);
  let placed = 0;
  while (ready.length > 0) {
    ready.sort();
    waves.push(ready);
    placed += ready.length;
    const next: string[] = [];
    for (const name of ready) {
      for (const child of children.get(name) ?? []) {
        const left = (waiting.get(child) as number) - 1;
        waiting.set(child, left);
        if (left === 0) next.push(child);
      }
    }
    ready = next;
  }
  if (placed < subset.size) throw cycleError(checkout, new Set([...waiting].filter(([, n]) => n > 0).map(([name]) => name)));
  return waves;
}

/** Finds one loop among the stuck services and names the FROM lines that make it. */
function cycleError(checkout: Checkout, stuck: ReadonlySet<string>): CycleError {
  const start = [...stuck].sort()[0] as string;
  const path: string[] = [];
  const index = new Map<string, number>();
  let current = start;
  while (!index.has(current)) {
    index.set(current, path.length);
    path.push(current);
    const parents = checkout.services.get(current)?.parents.filter((parent) => stuck.has(parent)) ?? [];
    current = parents[0] as string;
  }
  // path runs child → parent; show it parent → child, closing the loop.
  const ring = path.slice(index.get(current)).reverse();
  const first = ring.indexOf([...ring].sort()[0] as string);
  const loop = [...ring.slice(first), ...ring.slice(0, first)];
  loop.push(loop[0] as string);
  const where = loop.slice(1).map((child, i) => {
    const parent = loop[i] as string;
    const service = checkout.services.get(child);
    const base = service?.bases.find((b) => b.parent === parent);
    return `${service?.dockerfile.path}:${base?.line ?? 1}`;
  });
  return new CycleError(loop, where);
}
