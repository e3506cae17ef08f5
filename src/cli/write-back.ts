// push --write-back FILE:KEY=SERVICE (and `writeBack:` in dockmk.yml): the options, the checks
// made before anything runs, and the hook cli/run.ts calls once the run is over. The refs come
// from the push outcome (src/report/publish.ts), never from the tag rules again.

import { resolve } from 'node:path';
import type { Options } from 'yargs';
import type { Config } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { StepResult } from '../execute/events.js';
import { parseWriteBack, type WriteBackTarget } from '../model/write-back.js';
import type { BuildPlan } from '../plan/types.js';
import { publishOutcome, type PublishOutcome } from '../report/publish.js';
import { applyWriteBack, checkWriteBack, formatWriteBackPreview, previewWriteBack, type WriteBackOptions } from '../report/write-back.js';
import type { Io } from './session.js';

export interface WriteBackArgs {
  'write-back'?: string[];
  'write-back-digest'?: boolean;
  'write-back-create'?: boolean;
  'write-back-commit'?: boolean;
}

export const writeBackOptions: Record<string, Options> = {
  'write-back': {
    type: 'string',
    array: true,
    requiresArg: true,
    describe: 'push: once every push succeeded, set KEY of the YAML FILE to the ref SERVICE was pushed under, FILE:KEY=SERVICE (repeatable; nested keys a.b)',
  },
  'write-back-digest': { type: 'boolean', describe: 'with --write-back: pin the ref to the pushed digest (…:1.2.3@sha256:…)' },
  'write-back-create': { type: 'boolean', describe: 'with --write-back: add a key the file lacks instead of refusing' },
  'write-back-commit': { type: 'boolean', describe: 'with --write-back: commit the changed file in its git repository (never pushed)' },
};

export interface WriteBackHook {
  /** --dry-run: the diff of what a successful push would write. */
  preview(): void;
  /** After the run: writes only when every push of the plan is done. */
  afterRun(outcome: PublishOutcome, ok: boolean): Promise<void>;
}

/** Null without write-back targets; otherwise checks them all before anything is built. */
export async function prepareWriteBack(plan: BuildPlan, config: Config, args: WriteBackArgs & { json?: boolean }, io: Io): Promise<WriteBackHook | null> {
  const given = args['write-back'] ?? [];
  const listed: WriteBackTarget[] =
    given.length > 0
      ? given.map((spec) => {
          const target = parseWriteBack(spec);
          return { ...target, file: resolve(io.cwd, target.file) };
        })
      : config.writeBack.map((target) => ({ ...target, file: resolve(config.root, target.file) }));
  const flags = (['write-back-digest', 'write-back-create', 'write-back-commit'] as const).filter((flag) => args[flag] === true);
  if (listed.length === 0) {
    if (flags.length > 0) throw new ConfigError(`--${flags[0]} needs --write-back FILE:KEY=SERVICE (or writeBack: in dockmk.yml)`);
    return null;
  }
  if (plan.command !== 'push') {
    // dockmk.yml's writeBack: is for pushes; other commands have nothing to write.
    if (given.length === 0) return null;
    throw new ConfigError(`--write-back works with push, not ${plan.command}`, { hint: `dockmk push … --write-back ${given[0]}` });
  }
  const options: WriteBackOptions = {
    digest: args['write-back-digest'] === true,
    create: args['write-back-create'] === true,
    commit: args['write-back-commit'] === true,
    cwd: io.cwd,
  };
  // What the plan pushes, as the outcome of a push where every step went through.
  const planned = publishOutcome(plan.steps.map((step): StepResult => ({ step, status: 'done', durationMs: 0 })));
  // dockmk.yml names every service a release writes back; a push of some of them (a CI wave)
  // writes theirs. A service named by --write-back must be pushed by this run.
  const targets = given.length > 0 ? listed : listed.filter((target) => planned.images.some((image) => image.service === target.service));
  if (targets.length === 0) return null;
  await checkWriteBack(targets, planned, options);
  const out = args.json ? io.stderr : io.stdout;
  return {
    preview: () => out.write(formatWriteBackPreview(previewWriteBack(targets, planned, options), io.cwd)),
    afterRun: async (outcome, ok) => {
      if (!ok || !outcome.complete) {
        io.stderr.write(`write-back: ${[...new Set(targets.map((target) => target.file))].join(', ')} left as ${targets.length > 1 ? 'they were' : 'it was'}: the push did not complete\n`);
        return;
      }
      await applyWriteBack(targets, outcome, options, out);
    },
  };
}
