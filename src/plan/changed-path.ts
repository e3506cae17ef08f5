// A path a change touches, as the plan takes it: from git (discover/git.ts) or a --files list.
// The plan owns this type; discover/ produces it.

export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'changed';

export interface ChangedPath {
  /** Relative to the checkout root, forward slashes. */
  readonly path: string;
  /** `changed` when the source (a --files list) does not say. */
  readonly status: ChangeStatus;
  /** For renamed and copied files, the path it came from. */
  readonly previous?: string;
}
