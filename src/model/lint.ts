// The conventions every service of a configuration checkout follows, as rules with stable ids:
// it builds FROM a service of the checkout or a declared external base, copies the checkout to
// /edx/app/edx_ansible/edx_ansible, runs its play as root with its overrides, and every role
// that play pulls in exists. Pure: the raw files discover/ read in, findings with file:line out.

import type { AnsibleDirs, RawAnsible, RawRole } from './raw-ansible.js';
import type { RawCheckout, SourceFile } from './raw-checkout.js';
import { CycleError, DiscoveryError } from '../errors.js';
import { buildCheckout, type Checkout, type ModelOptions, type Service } from './checkout.js';
import { parseDockerfile, type Dockerfile } from './dockerfile.js';
import { buildWaves } from './graph.js';
import { canonicalRepository, type ImageRef } from './image-ref.js';
import { dockerfileRules, overridesYaml } from './lint-dockerfile.js';
import { bare, finding, type Finding } from './lint-rules.js';
import { metaReferences, playReferences, taskReferences, mayIncludeRoles, type RoleReference } from './role-refs.js';
import { playOwners, playsOfService } from './service-plays.js';

export { CHECKOUT_DIR, RULES, type Finding, type RuleId, type Severity } from './lint-rules.js';

/** The checkout modelled for lint: services whose Dockerfile does not parse are findings, not errors. */
export interface LintModel {
  readonly checkout: Checkout;
  /** Services whose Dockerfile does not parse, with the finding that says why. */
  readonly broken: ReadonlyMap<string, Finding>;
}

export function lintModel(raw: RawCheckout, options: ModelOptions): LintModel {
  const broken = new Map<string, Finding>();
  // Parsed once: what parses serves the model too.
  const parsed = new Map<string, Dockerfile>();
  for (const service of raw.services) {
    if (service.dockerfile === null) continue;
    try {
      parsed.set(service.dockerfile.path, parseDockerfile(service.dockerfile.path, service.dockerfile.text, options.buildArgs));
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      broken.set(service.name, finding('dockerfile-parse', error.file, error.line ?? 1, bare(error), service.name));
    }
  }
  const checkout = buildCheckout({ ...raw, services: raw.services.filter((service) => !broken.has(service.name)) }, { ...options, parsed });
  return { checkout, broken };
}

export interface LintInput {
  readonly model: LintModel;
  readonly ansible: RawAnsible;
  readonly dirs: AnsibleDirs;
}

export interface LintOptions {
  /** Patterns of the images a service may build FROM besides the checkout's own services. */
  readonly externalBases: readonly string[];
  /** Lint only these services (and the roles they run); every service when absent. */
  readonly services?: readonly string[] | undefined;
}

/** Every finding, sorted by file, line and rule. */
export function lintCheckout(input: LintInput, options: LintOptions): Finding[] {
  const { checkout, broken } = input.model;
  const selected = new Set(options.services ?? [...checkout.services.keys(), ...broken.keys()]);
  const findings: Finding[] = [...broken.values()].filter((f) => selected.has(f.service as string));
  const children = new Set([...checkout.services.values()].flatMap((service) => service.parents));
  const existing = new Set([...input.ansible.dockerPlays, ...input.ansible.playbooks].map((file) => file.path));
  for (const service of checkout.services.values()) {
    if (!selected.has(service.name)) continue;
    findings.push(...fromRules(service, options.externalBases));
    const isBase = children.has(service.name) || service.name.endsWith('-common');
    findings.push(...dockerfileRules(service, { isBase, existing, dirs: input.dirs }));
    findings.push(...overridesYaml(service));
  }
  findings.push(...cycleRules(checkout).filter((f) => selected.has(f.service as string)));
  const plays = playsOfService(playOwners(checkout, input.dirs, existing));
  findings.push(...roleRules(input.ansible, [...selected].sort().map((name) => ({ name, plays: plays.get(name) ?? [] }))));
  return findings.sort(byPlace);
}

// --- FROM ---------------------------------------------------------------------------------

function fromRules(service: Service, patterns: readonly string[]): Finding[] {
  const out: Finding[] = [];
  for (const stage of service.dockerfile.stages) {
    const base = service.bases.find((b) => b.instruction === 'FROM' && b.line === stage.base.line);
    const { source } = stage.base;
    const at = (message: string): void => void out.push(finding('from-base', service.dockerfile.path, stage.base.line, message, service.name));
    if (source.kind === 'stage') continue;
    if (source.kind === 'scratch') {
      // Outside the legacy layout, images need not run plays: a scratch stage is an ordinary one.
      if (!patterns.includes('scratch') && service.origin === null) at('FROM scratch is neither a service of this checkout nor a declared external base (add "scratch" to externalBases in dockmk.yml)');
    } else if (source.kind === 'unresolved') {
      at(`FROM ${source.reason}`);
    } else if (base?.parent == null && !patterns.some((pattern) => matchesImagePattern(source.ref, pattern))) {
      at(`FROM ${stage.base.image} is neither a service of this checkout nor a declared external base (externalBases in dockmk.yml: ${patterns.join(', ') || 'none'})`);
    }
  }
  return out;
}

/**
 * `repository[:tag]` with `*` matching any characters; Docker Hub's `docker.io/` and `library/`
 * need not be written. No tag in the pattern, or `*`, matches any tag or digest.
 */
export function matchesImagePattern(ref: ImageRef, pattern: string): boolean {
  const slash = pattern.lastIndexOf('/');
  const colon = pattern.indexOf(':', slash + 1);
  const repoPattern = colon === -1 ? pattern : pattern.slice(0, colon);
  const tagPattern = colon === -1 ? '*' : pattern.slice(colon + 1);
  const familiar = (domain: string, path: string): string =>
    domain === 'docker.io' ? path.replace(/^library\//, '') : `${domain}/${path}`;
  const { domain, path } = canonicalRepository(ref);
  if (!glob(familiarPattern(repoPattern)).test(familiar(domain, path))) return false;
  if (tagPattern === '*') return true;
  return ref.tag === null && ref.digest !== null ? false : glob(tagPattern).test(ref.tag ?? 'latest');
}

function familiarPattern(repo: string): string {
  return repo.replace(/^(?:docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function cycleRules(checkout: Checkout): Finding[] {
  const out: Finding[] = [];
  const left = new Set(checkout.services.keys());
  for (;;) {
    try {
      buildWaves(checkout, left);
      return out;
    } catch (error) {
      if (!(error instanceof CycleError)) throw error;
      const loop = error.cycle; // parent → child, closed: [a, b, a]
      loop.slice(1).forEach((child, i) => {
        const service = checkout.services.get(child) as Service;
        const line = service.bases.find((base) => base.parent === loop[i])?.line ?? 1;
        out.push(finding('from-cycle', service.dockerfile.path, line, `FROM cycle: ${loop.join(' → ')}`, child));
      });
      for (const name of loop) left.delete(name);
    }
  }
}

// --- roles ---------------------------------------------------------------------------------

/** Walks each service's plays and the roles they pull in; a missing role is a finding at the line naming it. */
function roleRules(ansible: RawAnsible, services: readonly { name: string; plays: readonly string[] }[]): Finding[] {
  const roles = new Map<string, RawRole>();
  for (const role of ansible.roles) if (!roles.has(role.name)) roles.set(role.name, role);
  const playFiles = new Map([...ansible.dockerPlays, ...ansible.playbooks].map((file) => [file.path, file]));
  const out = new Map<string, Finding>();
  const cache = new Map<string, readonly RoleReference[] | Finding>();
  const references = (source: SourceFile, read: (s: SourceFile) => { references: readonly RoleReference[] }, service: string): readonly RoleReference[] => {
    if (!cache.has(source.path)) {
      try {
        cache.set(source.path, read(source).references);
      } catch (error) {
        if (!(error instanceof DiscoveryError)) throw error;
        cache.set(source.path, finding('ansible-yaml', error.file, error.line ?? 1, bare(error), service));
      }
    }
    const result = cache.get(source.path) as readonly RoleReference[] | Finding;
    if (!Array.isArray(result)) {
      const f = result as Finding;
      if (!out.has(`${f.file}:${f.line}:${f.rule}`)) out.set(`${f.file}:${f.line}:${f.rule}`, f);
      return [];
    }
    return result;
  };
  for (const { name, plays } of services) {
    const queue: RoleReference[] = plays.flatMap((path) => {
      const source = playFiles.get(path);
      return source ? references(source, playReferences, name) : [];
    });
    const seen = new Set<string>();
    while (queue.length > 0) {
      const reference = queue.shift() as RoleReference;
      const role = roles.get(reference.role);
      if (role === undefined) {
        const key = `${reference.file}:${reference.line}:${reference.role}`;
        const verb = { meta: 'depends on', roles: 'runs', include_role: 'includes', import_role: 'imports' }[reference.kind];
        const message = `${verb} role "${reference.role}", which is in none of the roles paths`;
        if (!out.has(key)) out.set(key, finding('role-exists', reference.file, reference.line, message, name));
        continue;
      }
      if (seen.has(role.name)) continue;
      seen.add(role.name);
      for (const meta of role.meta) queue.push(...references(meta, metaReferences, name));
      for (const tasks of role.tasks) if (mayIncludeRoles(tasks.text)) queue.push(...references(tasks, taskReferences, name));
    }
  }
  return [...out.values()];
}

// --- helpers -------------------------------------------------------------------------------

function byPlace(a: Finding, b: Finding): number {
  return compare(a.file, b.file) || a.line - b.line || compare(a.rule, b.rule) || compare(a.message, b.message);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

