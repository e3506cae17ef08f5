// Which inputs of a build changed since the build that made its image: the named inputs of
// the plan compared with those history recorded, and the base image IDs.

export type ServiceState = 'built' | 'not-built' | 'modified';

export interface Current {
  readonly parts: Readonly<Record<string, string>>;
  readonly baseIds: Readonly<Record<string, string>> | null;
}

/** What history recorded of the build that made an image (discover/runs.ts's record has it). */
export interface PastBuild {
  readonly inputs?: Readonly<Record<string, string>>;
  readonly bases?: Readonly<Record<string, string>>;
}

/** Names of the inputs that differ: "play docker/plays/x.yml", "role common (new)", "parent x:test". */
export function changedInputs(current: Current, built: PastBuild | undefined): string[] {
  if (built?.inputs === undefined) return ['unknown (no record of the build that made this image)'];
  const changed: string[] = [];
  const before = built.inputs;
  for (const key of [...new Set([...Object.keys(current.parts), ...Object.keys(before)])].sort()) {
    if (!(key in before)) changed.push(`${key} (new)`);
    else if (!(key in current.parts)) changed.push(`${key} (gone)`);
    else if (before[key] !== current.parts[key]) changed.push(key);
  }
  for (const [ref, id] of Object.entries(current.baseIds ?? {})) {
    if (built.bases?.[ref] !== id) changed.push(`parent ${ref}`);
  }
  return changed;
}
