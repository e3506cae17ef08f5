// dockmk promote [services..]: moves the published refs (branch, git tag, semver parts, latest)
// of every selected service to its build key ref, registry-side, once every key ref is there:
// the second half of `push --stage`, run once after every wave of a CI release has staged.
// --resume FILE finishes what an earlier push or promote left undone, from its --manifest.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { loadConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { parseImageRef, type ImageRef } from '../model/image-ref.js';
import { planResume, type RefEntry } from '../plan/publish.js';
import { parseSemver, type ReleaseRange } from '../plan/tags.js';
import { PLAN_VERSION, type BuildPlan, type PlanStep, type PushStep } from '../plan/types.js';
import { MANIFEST_VERSION, type PendingRef } from '../report/publish.js';
import { buildOptions, planCommand, type BuildArgs } from './build.js';
import { configOverrides } from './options.js';
import { runOrPrint } from './run.js';
import type { Io } from './session.js';

interface PromoteArgs extends BuildArgs {
  resume?: string;
}

export function promoteCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      buildOptions(yargs)
        .positional('services', { type: 'string', array: true, describe: 'Services to promote (default: every service)' })
        .option('resume', {
          type: 'string',
          requiresArg: true,
          describe: 'Write the refs an earlier push or promote did not, from the key refs its --manifest FILE recorded',
        }),
    handler: async (args: PromoteArgs): Promise<void> => {
      if (args.resume !== undefined) {
        const config = loadConfig(configOverrides(args), io.env, io.cwd);
        const plan = planResume(config.root, readPending(resolve(io.cwd, args.resume)));
        await runOrPrint(plan, config, args, io);
        return;
      }
      const planned = await planCommand('push', { ...args, stage: false }, io);
      if (planned === null) return;
      await runOrPrint(promotion(planned.plan), planned.config, args, io, planned.listing);
    },
  };
}

/** A push plan without its builds: the refs it writes from key refs, which must be there already. */
export function promotion(plan: BuildPlan): BuildPlan {
  const writes = plan.steps.filter((step): step is PushStep => step.kind === 'push' && step.source !== null);
  const ids = new Set(writes.map((step) => step.id));
  const steps: PlanStep[] = writes.map((step) => ({ ...step, needs: step.needs.filter((need) => ids.has(need)) }));
  return { version: PLAN_VERSION, command: 'promote', root: plan.root, steps };
}

/** The `pending` refs of a --manifest file. */
function readPending(path: string): RefEntry[] {
  let manifest: { version?: unknown; pending?: PendingRef[] };
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as typeof manifest;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--resume ${path}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read it (${code})` : 'not JSON'}`, {
      hint: 'give the file an earlier `dockmk push --manifest FILE` or `dockmk promote --manifest FILE` wrote',
    });
  }
  if (manifest.version !== MANIFEST_VERSION || !Array.isArray(manifest.pending)) {
    throw new UsageError(`--resume ${path}: not a dockmk manifest of version ${MANIFEST_VERSION} with a "pending" list`, {
      hint: 'give the file an earlier `dockmk push --manifest FILE` or `dockmk promote --manifest FILE` wrote',
    });
  }
  return manifest.pending.map((entry, i) => {
    const where = `--resume ${path}: pending[${i}]`;
    return {
      service: String(entry.service),
      image: ref(entry.ref, where),
      source: ref(entry.from, where),
      mutable: entry.mutable === true,
      latest: entry.latest === true,
      follows: entry.follows ? follows(entry.follows, where) : null,
    };
  });
}

function ref(text: unknown, where: string): ImageRef {
  const parsed = parseImageRef(String(text));
  if (!parsed.ok) throw new UsageError(`${where}: ${parsed.reason}`);
  return parsed.ref;
}

function follows(value: NonNullable<PendingRef['follows']>, where: string): ReleaseRange {
  const version = parseSemver(String(value.version));
  if (version === undefined || !['major', 'minor', 'all'].includes(value.range)) throw new UsageError(`${where}: "follows" is not a release and a range`);
  return { version, range: value.range };
}
