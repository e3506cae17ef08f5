// --report DIR on build, test, pkg and push: the status page of the run's images, written when
// the run ends, also when it fails (cli/run.ts calls write() in a finally). Writing it never
// changes the run's outcome: a page that cannot be written is a warning.

import { resolve } from 'node:path';
import type { Options } from 'yargs';
import type { Config } from '../config/config.js';
import type { ContextListing } from '../discover/context.js';
import type { Engine } from '../execute/engine.js';
import type { StepResult } from '../execute/events.js';
import type { BuildPlan, BuildStep } from '../plan/types.js';
import { summarize } from '../report/json.js';
import { checkPageDir } from '../report/page-dir.js';
import type { RunOutline } from '../report/page-data.js';
import type { Io } from './session.js';

export interface ReportArgs {
  report?: string;
  engine?: string;
}

export const reportOptions: Record<string, Options> = {
  report: {
    type: 'string',
    requiresArg: true,
    describe: 'When the run ends (also when it fails), write the status page of its images to DIR: index.html, status.json, the build logs',
  },
};

export interface ReportHook {
  /** The engine the run opened, to read the images from. */
  engine(engine: Engine): void;
  finished(results: readonly StepResult[], ok: boolean): void;
  write(): Promise<void>;
}

export function prepareReport(plan: BuildPlan, config: Config, args: ReportArgs, io: Io, listing: ContextListing | undefined): ReportHook | null {
  if (args.report === undefined) return null;
  const dir = resolve(io.cwd, args.report);
  checkPageDir(dir, '--report');
  let engine: Engine | null = null;
  let results: readonly StepResult[] | null = null;
  let ok = false;
  return {
    engine: (opened) => void (engine = opened),
    finished: (done, succeeded) => {
      results = done;
      ok = succeeded;
    },
    write: async () => {
      try {
        const steps = plan.steps.filter((step): step is BuildStep => step.kind === 'build');
        const summary = results === null ? null : summarize(results);
        const run: RunOutline = {
          command: plan.command,
          ok,
          built: summary?.built ?? [],
          failed: summary?.failed ?? [],
          skipped: summary?.skipped ?? [],
        };
        const { buildStatusPage } = await import('./status-page.js');
        const { loadCheckout, openEngine } = await import('./session.js');
        const checkout = await loadCheckout(config);
        const page = await buildStatusPage({ config, checkout, steps, engine: engine ?? (await openEngine(args.engine, io)), listing, dir, run, now: () => new Date() });
        io.stderr.write(`status page: ${page.index}\n`);
      } catch (error) {
        io.stderr.write(`warning: --report ${dir}: the status page was not written (${(error as Error).message})\n`);
      }
    },
  };
}
