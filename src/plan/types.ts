// The plan: readonly data, made with no engine, printed by --dry-run and run by execute/.
// Steps are listed in an order that runs correctly one after another; `needs` names the
// steps each one waits for, so a scheduler may run independent steps side by side.

import type { ImageRef } from '../model/image-ref.js';
import type { Flavor } from './flavor.js';
import type { ReleaseRange } from './tags.js';

export const PLAN_VERSION = 1;

export type Command = 'build' | 'test' | 'pkg' | 'push' | 'pull' | 'promote';

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

/**
 * Where a build may find its image already built: `local`, an image on the engine carrying the
 * step's input hash; `registry`, also the registry's `key-<key>` ref (asked first for a push).
 */
export type ReuseFrom = 'local' | 'registry';

export interface BuildStep extends StepBase {
  readonly kind: 'build';
  readonly service: string;
  readonly tag: ImageRef;
  /** plain: the `devstack:install` tasks skipped; devstack: included. */
  readonly flavor: Flavor;
  /** The service's Dockerfile, relative to the root. */
  readonly dockerfile: string;
  /** The build context, relative to the root: '.' is the checkout (the legacy layout), else a directory of it. */
  readonly context: string;
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
  /**
   * The build key (`sha256:<hex>`): its inputs and the keys of the parents it builds on, or the
   * references (and resolved digests) of the images from elsewhere. The same on every machine
   * for the same checkout and options; null without inputs.
   */
  readonly key: string | null;
  /** `[<registry>/]<namespace>/<svc>:key-<16 hex of the key>`: where the registry keeps this build. */
  readonly keyRef: ImageRef | null;
  readonly reuse: ReuseFrom;
  /**
   * Parents' key refs a push builds on, pulled only when this build has to run and the engine
   * lacks them: a build the registry already holds needs none of its parents' layers.
   */
  readonly fetch: readonly ImageRef[];
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
  /**
   * null: the engine pushes the local tag `image` (its layers). Else the registry gets `image`
   * written from this ref's manifest (same repository): no layer moves.
   */
  readonly source: ImageRef | null;
  /** A floating release ref (`1`, `1.2`, `latest` of a release): moves only to the highest release. */
  readonly follows: ReleaseRange | null;
  /** Immutable (a key or sha ref) or mutable (branch, git tag, semver, latest). */
  readonly mutable: boolean;
}

export type PlanStep = PullStep | BuildStep | TagStep | PushStep;

export interface BuildPlan {
  readonly version: typeof PLAN_VERSION;
  readonly command: Command;
  /** Absolute path of the checkout: the build context. */
  readonly root: string;
  readonly steps: readonly PlanStep[];
}
