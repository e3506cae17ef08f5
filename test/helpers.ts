// Shared by the tests: fixture paths, and the checkout a fixture models to.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** dockmk's state (its parse caches) for tests that run it on fixtures, so that nothing is written into them. */
export const STATE_DIR = mkdtempSync(join(tmpdir(), 'dockmk-test-state-'));

export async function loadCheckout(root: string, flags: ConfigOverrides = {}): Promise<{ config: Config; checkout: Checkout }> {
  const config = loadConfig({ ...flags, root }, { HOME: '/nonexistent', DOCKMK_STATE_DIR: STATE_DIR }, root);
  return { config, checkout: await loadSession(config) };
}

export { planOptions as planOptionsFor } from '../src/cli/session.js';

export const PLAN_OPTIONS: PlanOptions = { namespace: 'edxops', registry: null, buildArgs: {}, noCache: false, pull: 'auto' };

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
