// dockmk status [services..]: for each service, whether its image matches its inputs (built),
// is missing (not built), or was made from other inputs (modified: which ones), and its last
// build from history.

import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { readHistory, type BuildRecord } from '../discover/runs.js';
import { loadCredentials } from '../execute/credentials.js';
import { indexImages, type ImageIndex } from '../execute/images.js';
import { connectRegistry } from '../execute/registry.js';
import { INPUT_LABEL, inputState } from '../execute/steps.js';
import { formatImageRef } from '../model/image-ref.js';
import { changedInputs, type ServiceState } from '../plan/changes.js';
import { CHECKOUT_LABEL, checkoutId } from '../plan/labels.js';
import { planBuild, type BuildCommand } from '../plan/plan.js';
import { selectServices } from '../plan/select.js';
import type { BuildStep } from '../plan/types.js';
import { checkPageDir } from '../report/page-dir.js';
import { formatStatusText, type StatusEntry } from '../report/status.js';
import { globalOptions, type GlobalArgs } from './options.js';
import { openEngine, openSession, planOptions, readInputs, type Io } from './session.js';

interface StatusArgs extends GlobalArgs {
  services?: string[];
  for: Exclude<BuildCommand, 'push'>;
  'registry-check': boolean;
  html?: string;
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
        })
        .option('registry-check', {
          type: 'boolean',
          default: false,
          describe: 'Also ask the registry whether it holds each service\'s current build (its key-<hex> ref)',
        })
        .option('html', {
          type: 'string',
          requiresArg: true,
          describe: 'Also write the status page to DIR: index.html (one file, no network), status.json and the build logs',
        }),
    handler: async (args: StatusArgs): Promise<void> => {
      const pageDir = args.html === undefined ? null : resolve(io.cwd, args.html);
      if (pageDir !== null) checkPageDir(pageDir, '--html');
      const { config, checkout } = await openSession(args, io);
      const wanted = new Set(selectServices(checkout, args.services ?? [], config.paths.build));
      const { listing, inputs } = await readInputs(config, checkout, io);
      const plan = planBuild(checkout, args.for, [...wanted], { ...planOptions(config), inputs, pull: 'never' });
      const engine = await openEngine(args.engine, io);
      await engine.ping(io.signal);
      const images = indexImages(engine);
      const history = readHistory(config.stateDir, (message) => io.stderr.write(`warning: ${message}
`));
      const registry = args['registry-check'] ? connectRegistry({ credentials: loadCredentials(config.dockerConfigDir, io.env, config.registry), env: io.env }) : null;
      const entries: StatusEntry[] = [];
      const steps: BuildStep[] = [];
      for (const step of plan.steps) {
        if (step.kind !== 'build' || !wanted.has(step.service)) continue;
        steps.push(step);
        const entry = await statusOf(step, images, history, checkoutId(config.root));
        if (registry === null || step.keyRef === null) entries.push(entry);
        else entries.push({ ...entry, registry: { ref: formatImageRef(step.keyRef), present: (await registry.digest(step.keyRef, io.signal)) !== null } });
      }
      io.stdout.write(args.json ? `${JSON.stringify(entries, null, 2)}\n` : formatStatusText(entries));
      if (pageDir !== null) {
        const { buildStatusPage } = await import('./status-page.js');
        const page = await buildStatusPage({ config, checkout, steps, engine, listing, dir: pageDir, run: null, now: () => new Date() });
        io.stderr.write(`status page: ${page.index}\n`);
      }
    },
  };
}

export async function statusOf(step: BuildStep, images: ImageIndex, history: readonly BuildRecord[], checkout: string): Promise<StatusEntry> {
  const tag = formatImageRef(step.tag);
  const { image, inputHash, baseIds } = await inputState(step, { images });
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
    const builtBy = image.labels[CHECKOUT_LABEL];
    if (image.labels[INPUT_LABEL] === undefined) {
      changed = [`not built by dockmk (${tag} was tagged some other way)`];
    } else if (builtBy !== undefined && builtBy !== checkout) {
      changed = [`not built by this checkout (another checkout on this engine built ${tag}; the tags collide)`];
    } else {
      const maker = [...records].reverse().find((record) => record.inputs !== undefined && record.inputHash === image.labels[INPUT_LABEL]);
      changed = changedInputs({ parts: step.inputs?.parts ?? {}, baseIds }, maker);
    }
  }
  return {
    service: step.service,
    tag,
    state,
    changed,
    imageId: image?.id ?? null,
    last: last && { at: last.startedAt, durationMs: last.durationMs, status: last.status, imageId: last.imageId ?? null, command: last.command },
    key: step.key,
  };
}
