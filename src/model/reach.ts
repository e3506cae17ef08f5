// Reachability in a graph given as a successor function: role closures, image descendants.

/** The roots and everything reachable from them by following `next`. */
export function reachable(roots: Iterable<string>, next: (name: string) => Iterable<string>): Set<string> {
  const seen = new Set(roots);
  // A Set's iterator also visits what is added while iterating: a breadth-first walk.
  for (const name of seen) for (const successor of next(name)) seen.add(successor);
  return seen;
}
