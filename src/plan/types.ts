// The plan: readonly data, made with no engine, printed by --dry-run and run by execute/.
// Steps are listed in an order that runs correctly one after another; `needs` names the
// steps each one waits for, so a scheduler may run independent steps side by side.

import type { ImageRef } from '../model/image-ref.js';
import type { Flavor } from './flavor.js';

export const PLAN_VERSION = 1;

export type Command = 'build' | 'test' | 'pkg' | 'push' | 'pull';

export type PullPolicy = 'always' | 'missing';

interface StepBase {
  /** Unique in the plan, e.g. `build nginx`, `pull debian:bookworm`. */
  readonly id: string;
  /** Ids of the steps that must succeed first. */
  readonly needs: readonly string[];
}

export interface PullStep extends StepBase {
  readonly kind: 'pull';
  readonly image: ImageRef;
  /** `missing`: only when the engine lacks the image. */
  readonly policy: PullPolicy;
  /** A cache source (--cache-from): when the registry lacks it, the builds go on without it. */
  readonly optional: boolean;
}

export interface BuildStep extends StepBase {
  readonly kind: 'build';
  readonly service: string;
  readonly tag: ImageRef;
  /** plain: the `devstack:install` tasks skipped; devstack: included. */
  readonly flavor: Flavor;
  /** The service's Dockerfile, relative to the root. */
  readonly dockerfile: string;
  /** The FROM images after rewriting, in file order (stage references and scratch left out). */
  readonly from: readonly ImageRef[];
  /** The Dockerfile text sent to the engine (FROM lines rewritten; same line numbers). */
  readonly content: string;
  /** Every image the build reads (FROM and COPY --from) after rewriting; their IDs join the input hash. */
  readonly bases: readonly ImageRef[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  /** Context files streamed with this content instead of the checkout's (one-off overrides), by path. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Every label the image gets: the OCI ones (source, revision, created, version, title) and
   * the user's (`--label`). Only the user's are inputs: see src/plan/labels.ts.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** Images the builder may take cached layers from (pulled first by optional pull steps). */
  readonly cacheFrom: readonly ImageRef[];
  /** The effective overrides when the run layers values over the service's own; else null. */
  readonly overrides: Readonly<Record<string, unknown>> | null;
  /** What the build reads from the checkout, digested; null when the plan was made without file digests. */
  readonly inputs: BuildInputs | null;
}

/**
 * The inputs of a build known before it runs. The image label adds the IDs of the base
 * images at run time. `parts` names each input for people ("play docker/plays/x.yml",
 * "role common", "dockerfile"), so status can say which changed.
 */
export interface BuildInputs {
  readonly digest: string;
  readonly parts: Readonly<Record<string, string>>;
}

export interface TagStep extends StepBase {
  readonly kind: 'tag';
  readonly source: ImageRef;
  readonly target: ImageRef;
}

export interface PushStep extends StepBase {
  readonly kind: 'push';
  readonly service: string;
  readonly image: ImageRef;
}

export type PlanStep = PullStep | BuildStep | TagStep | PushStep;

export interface BuildPlan {
  readonly version: typeof PLAN_VERSION;
  readonly command: Command;
  /** Absolute path of the checkout: the build context. */
  readonly root: string;
  readonly steps: readonly PlanStep[];
}
