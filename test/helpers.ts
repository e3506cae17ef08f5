// Shared by the tests: fixture paths, and the checkout a fixture models to.

import { fileURLToPath } from 'node:url';
import { loadConfig, type Config, type ConfigOverrides } from '../src/config/config.js';
import { loadCheckout as loadSession } from '../src/cli/session.js';
import type { RawService } from '../src/discover/checkout.js';
import { buildCheckout, type Checkout } from '../src/model/checkout.js';
import type { PlanOptions } from '../src/plan/plan.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export async function loadCheckout(root: string, flags: ConfigOverrides = {}): Promise<{ config: Config; checkout: Checkout }> {
  const config = loadConfig({ ...flags, root }, { HOME: '/nonexistent' }, root);
  return { config, checkout: await loadSession(config) };
}

import { planOptions } from '../src/cli/session.js';

/**
 * Input sources of a checkout whose files are not read: plans made with them carry input
 * digests and build keys (a push needs them) that depend on the Dockerfiles and options alone.
 */
export const NO_FILES = { files: new Map<string, string>(), layout: { build: 'docker/build', plays: 'docker/plays', roles: 'playbooks/roles', playbooks: 'playbooks' } };

/** The CLI's plan options for a configuration, with NO_FILES as inputs. */
export function planOptionsFor(config: Config): PlanOptions {
  return { ...planOptions(config), inputs: { ...NO_FILES, layout: config.paths } };
}

export const PLAN_OPTIONS: PlanOptions = { namespace: 'edxops', registry: null, buildArgs: {}, noCache: false, pull: 'auto', inputs: NO_FILES };

/** A checkout made of in-memory Dockerfiles (and overrides), for pure tests. */
export function memoryCheckout(files: Record<string, string>, overrides: Record<string, string> = {}): Checkout {
  const services: RawService[] = Object.entries(files).map(([name, text]) => ({
    name,
    dockerfile: { path: `docker/build/${name}/Dockerfile`, text },
    overrides:
      overrides[name] === undefined ? null : { path: `docker/build/${name}/ansible_overrides.yml`, text: overrides[name] as string },
  }));
  return buildCheckout({ root: '/checkout', services, plays: [] }, { ...PLAN_OPTIONS, playsDir: 'docker/plays' });
}
