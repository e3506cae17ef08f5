// Which builder a run uses (--builder auto|buildkit|classic), from what the engine says of itself,
// and the check, before the first build, that the classic builder can build every Dockerfile.

import type { BuilderSetting } from '../config/config.js';
import { ConfigError, DiscoveryError } from '../errors.js';
import { buildkitOnlySyntax } from '../model/buildkit-syntax.js';
import type { BuildPlan } from '../plan/types.js';

export type BuilderName = 'buildkit' | 'classic';

/** What `GET /_ping` (headers) and `GET /version` say about an engine. */
export interface EngineFacts {
  readonly product: 'docker' | 'podman';
  /** `Docker 20.10.24`, `Podman 4.3.1`. */
  readonly name: string;
  /** The Engine API version it speaks (`1.41`). */
  readonly apiVersion: string;
  /** The OS its containers run (`linux`, `windows`). */
  readonly os: string;
  /** The `Builder-Version` header: `2` BuildKit, `1` classic, null when absent or empty. */
  readonly builderVersion: string | null;
  /** Podman's own API version (the `Libpod-Api-Version` header), for its endpoints. */
  readonly libpodVersion: string | null;
}

export interface BuilderChoice {
  readonly name: BuilderName;
  /** Why, in words: "Docker 20.10.24 on linux offers BuildKit (API 1.41)". */
  readonly reason: string;
  /** Whether the engine can run BuildKit builds at all (`--builder buildkit` works). */
  readonly buildkitOffered: boolean;
  /** The engine, for messages: `Docker 20.10.24 at unix:///var/run/docker.sock`. */
  readonly engine: string;
}

/** BuildKit builds through the Engine API (POST /build?version=2 with a session) came with Docker 18.09, API 1.39. */
const BUILDKIT_API = [1, 39] as const;

export function chooseBuilder(setting: BuilderSetting, facts: EngineFacts, address: string): BuilderChoice {
  const engine = `${facts.name} at ${address}`;
  const offered = buildkitOffer(facts);
  if (setting === 'buildkit') {
    if (!offered.yes) {
      throw new ConfigError(`--builder buildkit: ${engine} does not offer BuildKit (${offered.why})`, {
        hint: 'use --builder auto or classic, or an engine that offers BuildKit (Docker Engine 18.09 or later on Linux)',
      });
    }
    return { name: 'buildkit', reason: 'asked for (--builder buildkit)', buildkitOffered: true, engine };
  }
  if (setting === 'classic') return { name: 'classic', reason: 'asked for (--builder classic)', buildkitOffered: offered.yes, engine };
  if (!offered.yes) return { name: 'classic', reason: offered.why, buildkitOffered: false, engine };
  if (facts.builderVersion === '1') {
    return { name: 'classic', reason: `${facts.name} names the classic builder its default (Builder-Version: 1, "features": {"buildkit": false})`, buildkitOffered: true, engine };
  }
  return { name: 'buildkit', reason: offered.why, buildkitOffered: true, engine };
}

function buildkitOffer(facts: EngineFacts): { yes: boolean; why: string } {
  if (facts.product === 'podman') return { yes: false, why: `${facts.name} builds with Buildah: its Docker-compatible API has no BuildKit` };
  if (facts.builderVersion === '2') return { yes: true, why: `${facts.name} names BuildKit its default builder (Builder-Version: 2)` };
  if (facts.os !== 'linux') return { yes: false, why: `${facts.name} runs ${facts.os} containers, and BuildKit through the Engine API is for Linux` };
  const [major, minor] = facts.apiVersion.split('.').map(Number);
  const recent = (major ?? 0) > BUILDKIT_API[0] || ((major ?? 0) === BUILDKIT_API[0] && (minor ?? 0) >= BUILDKIT_API[1]);
  if (!recent) return { yes: false, why: `${facts.name} speaks API ${facts.apiVersion}, and BuildKit builds need 1.39 (Docker 18.09) or later` };
  return { yes: true, why: `${facts.name} on ${facts.os} runs BuildKit builds (API ${facts.apiVersion})` };
}

/**
 * With the classic builder, a Dockerfile that uses BuildKit-only syntax is refused before anything
 * is built, at its first such line.
 */
export function refuseBuildkitSyntax(plan: BuildPlan, choice: Pick<BuilderChoice, 'name' | 'reason' | 'buildkitOffered' | 'engine'>): void {
  if (choice.name !== 'classic') return;
  for (const step of plan.steps) {
    if (step.kind !== 'build') continue;
    const [first, ...more] = buildkitOnlySyntax(step.content);
    if (first === undefined) continue;
    const also = more.length > 0 ? ` (and ${more.length} more use${more.length > 1 ? 's' : ''} of BuildKit syntax)` : '';
    const why = choice.reason.startsWith('asked for') ? 'this run uses the classic builder (--builder classic)' : `${choice.engine} offers only the classic builder: ${choice.reason}`;
    throw new DiscoveryError(step.dockerfile, first.line, `${first.feature} needs BuildKit, and ${why}${also}; nothing was built`, {
      hint: choice.buildkitOffered
        ? 'build with --builder buildkit (or auto, the default)'
        : 'use an engine that offers BuildKit (Docker Engine 18.09 or later on Linux), or write it without BuildKit-only syntax',
    });
  }
}

/** What `GET /version` and the headers of `GET /_ping` (when read) say about an engine. */
export function engineFactsFrom(version: unknown, headers: Readonly<Record<string, string | readonly string[] | undefined>>): EngineFacts {
  const body = (version ?? {}) as { Version?: string; ApiVersion?: string; Os?: string; Components?: { Name?: string; Version?: string }[] };
  const header = (name: string): string | null => {
    const value = headers[name];
    const text = (Array.isArray(value) ? value[0] : value) as string | undefined;
    return text === undefined || text.trim() === '' ? null : text.trim();
  };
  const podman = (body.Components ?? []).find((component) => /podman/i.test(component.Name ?? ''));
  const libpodVersion = header('libpod-api-version');
  const isPodman = podman !== undefined || libpodVersion !== null || /libpod/i.test(header('server') ?? '');
  return {
    product: isPodman ? 'podman' : 'docker',
    name: isPodman ? `Podman ${podman?.Version ?? body.Version ?? libpodVersion ?? ''}`.trim() : `Docker ${body.Version ?? ''}`.trim(),
    apiVersion: body.ApiVersion ?? header('api-version') ?? '0',
    os: (body.Os ?? header('ostype') ?? 'linux').toLowerCase(),
    builderVersion: header('builder-version'),
    libpodVersion: isPodman ? (libpodVersion ?? podman?.Version ?? body.Version ?? null) : null,
  };
}
