// The narrow seam between running a plan and a Docker engine. execute/docker.ts implements
// it with dockerode; tests of the runner use a recording fake.

import type { Readable } from 'node:stream';
import type { ImageRef } from '../model/image-ref.js';
import type { BuilderChoice } from './builder.js';

/** Credentials for one registry, in the shape the Engine API takes (never logged). */
export interface RegistryAuth {
  readonly serveraddress: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

export interface ImageInfo {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** One image of the engine's list: its ID, labels, and every tag and digest ref naming it. */
export interface ListedImage extends ImageInfo {
  readonly refs: readonly string[];
}

export interface BuildRequest {
  /** A tar stream of the build context. */
  readonly context: Readable;
  /** Path of the Dockerfile inside the context. */
  readonly dockerfile: string;
  readonly tag: ImageRef;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  /** The labels the image gets. */
  readonly labels: Readonly<Record<string, string>>;
  /** The Dockerfile sets them already (one LABEL instruction): the engine is not to add them again. */
  readonly labelsInDockerfile?: boolean;
  /** Images whose layers the builder may reuse (the classic builder reads only local ones). */
  readonly cacheFrom: readonly ImageRef[];
  /**
   * Credentials for a registry host, for what the builder itself fetches (BuildKit resolves base
   * and cache images through the build's session); absent: none.
   */
  readonly registryAuth?: (host: string) => RegistryAuth | null;
}

export interface CallOptions {
  readonly signal: AbortSignal;
  /** Each line of progress the engine reports. */
  readonly onLine: (line: string) => void;
}

export interface Engine {
  /** Where it is, for messages: `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`. */
  readonly address: string;
  ping(signal: AbortSignal): Promise<void>;
  /** The builder its builds use (--builder, and what the engine offers); engines without a choice leave it out. */
  builder?(signal: AbortSignal): Promise<BuilderChoice>;
  /** The image a reference points to (ID and labels), or null when the engine has none. */
  inspectImage(ref: ImageRef): Promise<ImageInfo | null>;
  /** Every image the engine has, in one call (engines that cannot: each ref is inspected). */
  listImages?(): Promise<ListedImage[]>;
  pull(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<void>;
  build(request: BuildRequest, options: CallOptions): Promise<{ imageId: string }>;
  /** Points `target` at `source` (an image reference or ID). */
  tag(source: ImageRef | string, target: ImageRef): Promise<void>;
  /** Removes one tag, leaving the image to its other tags (or to the cache). */
  untag(ref: ImageRef): Promise<void>;
  push(ref: ImageRef, auth: RegistryAuth | null, options: CallOptions): Promise<{ digest: string | null }>;
  /** Asks the registry to accept the credentials; throws EngineError when it refuses. */
  checkAuth(auth: RegistryAuth, signal: AbortSignal): Promise<void>;
}
