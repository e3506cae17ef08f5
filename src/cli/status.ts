// dockmk status [services..]: for each service, whether its image matches its inputs (built),
// is missing (not built), or was made from other inputs (modified: which ones), and its last
// build from history.

import type { Argv } from 'yargs';
import { readHistory, type BuildRecord } from '../discover/runs.js';
import type { Engine } from '../execute/engine.js';
import { INPUT_LABEL, inputState } from '../execute/steps.js';
import { formatImageRef } from '../model/image-ref.js';
import { changedInputs, type ServiceState } from '../plan/changes.js';
import { planBuild, type BuildCommand } from '../plan/plan.js';
import { selectServices } from '../plan/select.js';
import type { BuildStep } from '../plan/types.js';
import { formatStatusText, type StatusEntry } from '../report/status.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { openEngine, openSession, planOptions, readInputs, type Io } from './session.js';

interface StatusArgs extends GlobalArgs {
  services?: string[];
  for: Exclude<BuildCommand, 'push'>;
}

export function statusCommand(io: Io) {
  return {
    builder: (yargs: Argv) =>
      globalOptions(yargs)
        .positional('services', { type: 'string', array: true })
        .option('for', {
          type: 'string',
          choices: ['test', 'pkg', 'build'] as const,
          default: 'test' as const,
          describe: 'Which images: <svc>:test, :latest (pkg) or :build',
        }),
    handler: async (args: StatusArgs): Promise<void> => {
      const { config, checkout } = await openSession(args, io);
      const wanted = new Set(selectServices(checkout, args.services ?? [], config.paths.build));
      const { inputs } = await readInputs(config, checkout, (message) => io.stderr.write(`warning: ${message}\n`));
      const plan = planBuild(checkout, args.for, [...wanted], { ...planOptions(config), inputs, pull: 'never' });
      const engine = await openEngine(args.engine, io);
      await engine.ping(io.signal);
      const history = readHistory(config.stateDir, (message) => io.stderr.write(`warning: ${message}\n`));
      const entries: StatusEntry[] = [];
      for (const step of plan.steps) {
        if (step.kind !== 'build' || !wanted.has(step.service)) continue;
        entries.push(await statusOf(step, engine, history));
      }
      io.stdout.write(args.json ? `${JSON.stringify(entries, null, 2)}\n` : formatStatusText(entries));
    },
  };
}

async function statusOf(step: BuildStep, engine: Engine, history: readonly BuildRecord[]): Promise<StatusEntry> {
  const tag = formatImageRef(step.tag);
  const { image, inputHash, baseIds } = await inputState(step, engine);
  const records = history.filter((record) => record.service === step.service && record.tag === tag);
  const last = [...records].reverse().find((record) => record.status !== 'up-to-date' && record.status !== 'skipped') ?? null;
  let state: ServiceState;
  let changed: string[] = [];
  if (image === null) {
    state = 'not-built';
  } else if (inputHash !== null && image.labels[INPUT_LABEL] === inputHash) {
    state = 'built';
  } else {
    state = 'modified';
    const maker = [...records].reverse().find((record) => record.inputs !== undefined && record.inputHash === image.labels[INPUT_LABEL]);
    changed = changedInputs({ parts: step.inputs?.parts ?? {}, baseIds }, maker);
  }
  return {
    service: step.service,
    tag,
    state,
    changed,
    imageId: image?.id ?? null,
    last: last && { at: last.startedAt, durationMs: last.durationMs, status: last.status, imageId: last.imageId ?? null, command: last.command },
  };
}
