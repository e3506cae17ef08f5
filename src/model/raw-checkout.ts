// What discover/ reads from a checkout for the model: raw text only, parsed by model/checkout.ts.
// The model owns these types; discover/checkout.ts produces them.

import type { ServiceLayout, ServiceSpec } from './layout.js';

export interface SourceFile {
  /** Path relative to the checkout root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export interface RawService {
  /** The directory name under docker/build, or the declared name (a bake target). */
  readonly name: string;
  /** `docker/build/<svc>/Dockerfile`, or null when the directory has none (not a service). */
  readonly dockerfile: SourceFile | null;
  readonly overrides: SourceFile | null;
  /** Declared by `services:` or a bake file (its context, contexts, args); null in the legacy layout. */
  readonly spec?: ServiceSpec | null;
}

export interface RawCheckout {
  readonly root: string;
  readonly services: readonly RawService[];
  /** Paths of the docker plays present, relative to the root. */
  readonly plays: readonly string[];
  /** The declared layout the services come from; null (or absent): the legacy layout. */
  readonly layout?: ServiceLayout | null;
}

