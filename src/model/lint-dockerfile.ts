// The rules about a Dockerfile's own instructions: it copies the checkout to the place its play
// runs from, runs its play (named like the service, present among the plays) as root, and copies
// and passes its ansible_overrides.yml, which must be a YAML mapping. Pure.

import { posix } from 'node:path';
import type { AnsibleDirs } from './raw-ansible.js';
import { DiscoveryError } from '../errors.js';
import type { Service } from './checkout.js';
import { jsonForm, lexDockerfile, splitWords, unquote, type LogicalLine } from './dockerfile-lex.js';
import type { PlaybookRun } from './dockerfile.js';
import { bare, CHECKOUT_DIR, finding, type Finding, type RuleId } from './lint-rules.js';
import { parseOverrides } from './overrides.js';

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

export interface DockerfileContext {
  /** Others build FROM it, or it is named *-common: like the legacy bases, it may only install Ansible. */
  readonly isBase: boolean;
  readonly existing: ReadonlySet<string>;
  readonly dirs: AnsibleDirs;
}

export function dockerfileRules(service: Service, context: DockerfileContext): Finding[] {
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

export function overridesYaml(service: Service): Finding[] {
  if (service.overrides === null) return [];
  try {
    parseOverrides(service.overrides);
    return [];
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return [finding('overrides-yaml', service.overrides.path, error.line ?? 1, bare(error), service.name)];
  }
}
