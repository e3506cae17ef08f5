// What a run reports as it goes: one union tagged by `kind`. report/ formats each kind;
// nothing here holds a credential.

import type { BuildPlan, PlanStep } from '../plan/types.js';
import type { BuilderName } from './builder.js';

export type StepStatus =
  /** Pulled, built, tagged or pushed. */
  | 'done'
  /** A `missing`-policy pull found the image already there. */
  | 'present'
  /** An optional pull (a cache source) the registry could not give: the builds go on without it. */
  | 'unavailable'
  /** A build whose tag already carries the hash of its inputs. */
  | 'up-to-date'
  /**
   * The registry already holds the build's key ref: nothing built (a push writes its refs from it;
   * test, pkg and build pull it). Its key tag and push end `reused` too.
   */
  | 'reused'
  /** A floating release ref (`1`, `latest`) left where it was: a higher release holds it. */
  | 'kept'
  | 'failed'
  /** Running when the run stopped (another step failed, or an interrupt). */
  | 'cancelled'
  /** Never started: a step it needs did not succeed, or the run stopped first. */
  | 'skipped';

export interface StepResult {
  readonly step: PlanStep;
  readonly status: StepStatus;
  readonly durationMs: number;
  readonly imageId?: string;
  readonly digest?: string | null;
  /** The hash of a build's inputs (the image label). */
  readonly inputHash?: string;
  /** The ID of each image a build read, by reference. */
  readonly baseIds?: Readonly<Record<string, string>>;
  /** Why it failed or was skipped (no secrets). */
  readonly reason?: string;
  /** How to fix a failure, when the error said. */
  readonly hint?: string;
}

export type RunEvent =
  | { readonly kind: 'run-start'; readonly plan: BuildPlan; readonly engine: string; readonly at: number; readonly jobs: number }
  /** The builder the run's builds use, and why (before the first build). */
  | { readonly kind: 'builder'; readonly builder: BuilderName; readonly reason: string }
  /** `large`: above the size past which a context is worth a look at .dockerignore. */
  | { readonly kind: 'context'; readonly root: string; readonly files: number; readonly bytes: number; readonly large: boolean; readonly dockerignore?: boolean }
  | { readonly kind: 'step-start'; readonly step: PlanStep; readonly index: number; readonly total: number }
  | { readonly kind: 'step-output'; readonly step: PlanStep; readonly line: string }
  /** A push or pull failed in a way worth another try: `attempt` (2 for the first retry) of `of` starts after `delayMs`. */
  | { readonly kind: 'step-retry'; readonly step: PlanStep; readonly attempt: number; readonly of: number; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'step-end'; readonly result: StepResult; readonly output: readonly string[] }
  | { readonly kind: 'run-end'; readonly ok: boolean; readonly interrupted: boolean; readonly durationMs: number; readonly results: readonly StepResult[] };

export type Emit = (event: RunEvent) => void;
