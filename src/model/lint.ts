// The conventions every service of a configuration checkout follows, as rules with stable ids:
// it builds FROM a service of the checkout or a declared external base, copies the checkout to
// /edx/app/edx_ansible/edx_ansible, runs its play as root with its overrides, and every role
// that play pulls in exists. Pure: the raw files discover/ read in, findings with file:line out.

import { posix } from 'node:path';
import type { AnsibleDirs, RawAnsible, RawRole } from '../discover/ansible.js';
import type { RawCheckout, SourceFile } from './raw-checkout.js';
import { CycleError, DiscoveryError } from '../errors.js';
import { buildCheckout, type Checkout, type ModelOptions, type Service } from './checkout.js';
import { jsonForm, lexDockerfile, splitWords, unquote, type LogicalLine } from './dockerfile-lex.js';
import { parseDockerfile, type PlaybookRun } from './dockerfile.js';
import { buildWaves } from './graph.js';
import { canonicalRepository, type ImageRef } from './image-ref.js';
import { parseOverrides } from './overrides.js';
import { metaReferences, playReferences, taskReferences, mayIncludeRoles, type RoleReference } from './role-refs.js';
import { playOwners, playsOfService } from './service-plays.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly message: string;
  /** The service the finding is about; for a role file, the first service (by name) that runs it. */
  readonly service: string | null;
}

export const RULES = {
  'dockerfile-parse': { severity: 'error', summary: 'the Dockerfile parses' },
  'from-base': { severity: 'error', summary: 'every FROM is a service of the checkout or a declared external base (externalBases)' },
  'from-cycle': { severity: 'error', summary: 'no service builds FROM itself or its descendants' },
  'copy-checkout': { severity: 'error', summary: 'the checkout is copied (COPY/ADD .) to /edx/app/edx_ansible/edx_ansible before the play runs' },
  'runs-play': { severity: 'error', summary: 'the Dockerfile runs ansible-playbook (a base image, one others build FROM or named *-common, may leave that to its children)' },
  'play-name': { severity: 'warning', summary: 'the play run is <svc>.yml, the docker play named like the service' },
  'play-exists': { severity: 'error', summary: 'the play the Dockerfile runs exists in the docker plays or playbooks' },
  'overrides-copied': { severity: 'error', summary: 'ansible_overrides.yml, when the service has one, is COPYed into the image' },
  'overrides-passed': { severity: 'error', summary: 'the play runs with --extra-vars=@<the copied overrides file>' },
  'overrides-yaml': { severity: 'error', summary: 'ansible_overrides.yml is a YAML mapping' },
  'runs-as-root': { severity: 'error', summary: 'no USER other than root is in effect when the play runs' },
  'role-exists': { severity: 'error', summary: 'every role the play, meta dependencies and include_role/import_role name exists' },
  'ansible-yaml': { severity: 'error', summary: 'every play and role file the play reaches is valid YAML of the right shape' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type RuleId = keyof typeof RULES;

export const CHECKOUT_DIR = '/edx/app/edx_ansible/edx_ansible';

/** The checkout modelled for lint: services whose Dockerfile does not parse are findings, not errors. */
export interface LintModel {
  readonly checkout: Checkout;
  /** Services whose Dockerfile does not parse, with the finding that says why. */
  readonly broken: ReadonlyMap<string, Finding>;
}

export function lintModel(raw: RawCheckout, options: ModelOptions): LintModel {
  const broken = new Map<string, Finding>();
  for (const service of raw.services) {
    if (service.dockerfile === null) continue;
    try {
      parseDockerfile(service.dockerfile.path, service.dockerfile.text, options.buildArgs);
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      broken.set(service.name, finding('dockerfile-parse', error.file, error.line ?? 1, bare(error), service.name));
    }
  }
  const checkout = buildCheckout({ ...raw, services: raw.services.filter((service) => !broken.has(service.name)) }, options);
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

function finding(rule: RuleId, file: string, line: number, message: string, service: string | null): Finding {
  return { file, line, rule, severity: RULES[rule].severity, message, service };
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

// --- the Dockerfile's own instructions ----------------------------------------------------

interface Instruction extends LogicalLine {
  /** Index of the stage it belongs to (-1 before the first FROM). */
  readonly stage: number;
  readonly words: readonly string[];
}

function instructions(text: string): Instruction[] {
  const { escape, lines } = lexDockerfile(text);
  let stage = -1;
  return lines.map((line) => {
    if (line.keyword === 'FROM') stage += 1;
    return { ...line, stage, words: jsonForm(line.args) ?? splitWords(line.args, escape).map(unquote) };
  });
}



/** A COPY/ADD from the build context: its sources and where each lands (absolute when known). */
function copies(instruction: Instruction, workdir: string): { source: string; target: string }[] {
  const words = instruction.words.filter((word) => !word.startsWith('--'));
  if (instruction.words.some((word) => word.startsWith('--from=')) || words.length < 2) return [];
  const sources = words.slice(0, -1).map((source) => source.replace(/^\.\/(?=.)/, ''));
  const dest = posix.resolve(workdir, words[words.length - 1] as string);
  const intoDir = (words[words.length - 1] as string).endsWith('/') || sources.length > 1;
  return sources.map((source) => ({ source, target: intoDir ? posix.join(dest, posix.basename(source)) : dest }));
}

/** The files `--extra-vars=@file` (and `-e @file`, `-e@file`) name, in the RUN of `run`. */
function extraVarFiles(run: Instruction, workdir: string): string[] {
  const files: string[] = [];
  const words = run.words;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    let value: string | undefined;
    if (word === '--extra-vars' || word === '-e') value = words[i + 1];
    else if (word.startsWith('--extra-vars=')) value = word.slice('--extra-vars='.length);
    else if (/^-e./.test(word)) value = word.slice(2).replace(/^=/, '');
    if (value?.startsWith('@')) files.push(posix.resolve(workdir, value.slice(1)));
  }
  return files;
}

interface DockerfileContext {
  /** Others build FROM it, or it is named *-common: like the legacy bases, it may only install Ansible. */
  readonly isBase: boolean;
  readonly existing: ReadonlySet<string>;
  readonly dirs: AnsibleDirs;
}

function dockerfileRules(service: Service, context: DockerfileContext): Finding[] {
  const out: Finding[] = [];
  const file = service.dockerfile.path;
  const at = (rule: RuleId, line: number, message: string): void => void out.push(finding(rule, file, line, message, service.name));
  const runs = service.dockerfile.playbookRuns;
  if (runs.length === 0) {
    const last = service.dockerfile.stages[service.dockerfile.stages.length - 1]?.base.line ?? 1;
    // The Ansible rules hold where a play runs; a declared service (services:, bake) need not run one.
    if (!context.isBase && service.origin === null) at('runs-play', last, `runs no ansible-playbook: a service runs its play (${context.dirs.dockerPlays[0]}/${service.name}.yml)`);
    return out;
  }
  const own = (run: PlaybookRun): boolean => ['yml', 'yaml'].some((ext) => posix.basename(run.playbook) === `${service.name}.${ext}`);
  const main = runs.find(own) ?? runs.find((run) => service.play !== null && posix.basename(run.playbook) === posix.basename(service.play)) ?? (runs[0] as PlaybookRun);
  if (!runs.some(own)) at('play-name', main.line, `runs ${main.playbook}, not the docker play named like the service (${service.name}.yml)`);
  for (const run of runs) {
    const name = posix.basename(run.playbook);
    const dirs = [...context.dirs.dockerPlays, ...context.dirs.playbooks];
    if (!dirs.some((dir) => context.existing.has(posix.join(dir, name)))) {
      at('play-exists', run.line, `runs ${run.playbook}, which is in none of ${dirs.join(', ')}`);
    }
  }

  // Walk the instructions up to each play run: the checkout copy, USER, WORKDIR, the overrides copy.
  const all = instructions(service.dockerfile.text);
  const runStage = (run: PlaybookRun): number => all.find((i) => i.line === run.line)?.stage ?? 0;
  const state = (upTo: number, stage: number) => {
    let workdir = '/';
    let user: Instruction | null = null;
    let checkout = false;
    const copied = new Map<string, string>();
    for (const instruction of all) {
      if (instruction.line >= upTo) break;
      if (instruction.stage !== stage) continue;
      if (instruction.keyword === 'FROM') [workdir, user, checkout] = ['/', null, false];
      if (instruction.keyword === 'WORKDIR' && instruction.words[0]) workdir = posix.resolve(workdir, instruction.words[0]);
      if (instruction.keyword === 'USER') user = instruction;
      if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
        for (const { source, target } of copies(instruction, workdir)) {
          if ((source === '.' || source === './') && target === CHECKOUT_DIR) checkout = true;
          copied.set(source, target);
        }
      }
    }
    return { workdir, user, checkout, copied };
  };

  const before = state(main.line, runStage(main));
  if (!before.checkout) at('copy-checkout', main.line, `copies no checkout to ${CHECKOUT_DIR} before its play runs (write \`ADD . ${CHECKOUT_DIR}\` before this RUN)`);
  for (const run of runs) {
    const { user } = state(run.line, runStage(run));
    const name = user?.words[0] ?? 'root';
    if (user !== null && !/^(?:root|0)(?::(?:root|0))?$/.test(name)) {
      at('runs-as-root', user.line, `USER ${name} is in effect when the play runs at line ${run.line}: ansible-playbook must run as root`);
    }
  }
  if (service.overrides !== null) {
    const target = before.copied.get(service.overrides.path);
    const instruction = all.find((i) => i.line === main.line) as Instruction;
    if (target === undefined) {
      at('overrides-copied', main.line, `${service.overrides.path} is not copied into the image before its play runs (write \`COPY ${service.overrides.path} /\`)`);
    } else if (!extraVarFiles(instruction, before.workdir).includes(target)) {
      at('overrides-passed', main.line, `the play runs without its overrides: add --extra-vars=@${target}`);
    }
  }
  return out;
}

function overridesYaml(service: Service): Finding[] {
  if (service.overrides === null) return [];
  try {
    parseOverrides(service.overrides);
    return [];
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return [finding('overrides-yaml', service.overrides.path, error.line ?? 1, bare(error), service.name)];
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

/** A DiscoveryError's message without its `file:line: ` prefix (the finding carries the place). */
function bare(error: DiscoveryError): string {
  const prefix = error.line === undefined ? `${error.file}: ` : `${error.file}:${error.line}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return error.hint ? `${message} (${error.hint})` : message;
}

function byPlace(a: Finding, b: Finding): number {
  return compare(a.file, b.file) || a.line - b.line || compare(a.rule, b.rule) || compare(a.message, b.message);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

