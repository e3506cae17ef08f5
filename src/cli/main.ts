// The dockmk command line: argv → command → exit code. The only place that ends the process.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DockmkError, ExitCode, UsageError } from '../errors.js';
import { affectedCommand } from './affected.js';
import { buildCommand } from './build.js';
import { graphCommand } from './graph.js';
import { lintCommand } from './lint.js';
import { listCommand } from './list.js';
import { logsCommand } from './logs.js';
import { matrixCommand } from './matrix.js';
import { newCommand } from './new.js';
import { pullCommand } from './pull.js';
import { showCommand } from './show.js';
import { statusCommand } from './status.js';
import type { Io } from './session.js';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = 0;
  try {
    await yargs([...argv])
      .scriptName('dockmk')
      .usage('$0 <command> [services..] [options]\n\nBuild, test and publish the Docker images of a configuration checkout.')
      .command(listCommand(io))
      .command(buildCommand('build', io))
      .command(buildCommand('test', io))
      .command(buildCommand('pkg', io))
      .command(buildCommand('push', io))
      .command(pullCommand(io))
      .command(showCommand(io))
      .command(statusCommand(io))
      .command(logsCommand(io))
      .command(affectedCommand(io))
      .command(matrixCommand(io))
      .command(lintCommand(io))
      .command(graphCommand(io))
      .command(newCommand(io))
      .demandCommand(1, 'name a command: list, show, build, test, pkg, push, pull, status, logs, affected, matrix, lint, new or graph')
      .strict()
      .exitProcess(false)
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .fail((message, error) => {
        // yargs reports its own validation failures (a flag missing its value) as a YError.
        throw error && error.name !== 'YError' ? error : new UsageError(message ?? error?.message ?? 'bad arguments', { hint: 'see `dockmk --help`' });
      })
      .parseAsync();
  } catch (error) {
    exitCode = report(error, io);
  }
  return exitCode;
}

function report(error: unknown, io: Io): number {
  if (error instanceof DockmkError) {
    io.stderr.write(`dockmk: ${error.message}${error.hint ? ` — ${error.hint}` : ''}\n`);
    return error.exitCode;
  }
  io.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  io.stderr.write('dockmk: internal error — this is a bug in dockmk; please report it with the command you ran and the lines above\n');
  return ExitCode.internal;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url) || realpathSync(script).endsWith('/bin/dockmk.js');
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write('\ndockmk: interrupting — cancelling running steps (Ctrl-C again to quit at once)\n');
      controller.abort();
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(hideBin(process.argv), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    now: () => performance.now(),
  });
  process.exitCode = code;
}
