// The dockmk command line: argv → command → exit code. The only place that ends the process.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DockmkError, ExitCode, UsageError } from '../errors.js';
import type { Io } from './session.js';
import { sourceMappedStack } from './stack.js';

/** What a command module gives (cli/<command>.ts): its options, and what it does. */
interface CommandImplementation {
  readonly builder: (yargs: Argv) => Argv<unknown>;
  readonly handler: (args: never) => Promise<void>;
}

interface CommandEntry {
  /** The command and its positionals, as yargs reads them. */
  readonly usage: string;
  readonly describe: string;
  /** Imports the command's module only when the command runs, so a run loads what it uses. */
  readonly load: (io: Io) => Promise<CommandImplementation>;
}

const COMMANDS: readonly CommandEntry[] = [
  {
    usage: 'list [services..]',
    describe: 'List the services (docker/build/<svc>/Dockerfile), their FROM images and parents',
    load: async (io) => (await import('./list.js')).listCommand(io),
  },
  {
    usage: 'build [services..]',
    describe: 'Build services on their published parents, as <svc>:build (make docker.build.<svc>)',
    load: async (io) => (await import('./build.js')).buildCommand('build', io),
  },
  {
    usage: 'test [services..]',
    describe: "Build services and this checkout's parents first, as <svc>:test (make docker.test.<svc>)",
    load: async (io) => (await import('./build.js')).buildCommand('test', io),
  },
  {
    usage: 'pkg [services..]',
    describe: 'Build services on locally packaged parents, as <svc>:latest (make docker.pkg.<svc>)',
    load: async (io) => (await import('./build.js')).buildCommand('pkg', io),
  },
  {
    usage: 'push [services..]',
    describe: 'pkg, then tag and push [<registry>/]<namespace>/<svc>:latest (make docker.push.<svc>)',
    load: async (io) => (await import('./build.js')).buildCommand('push', io),
  },
  {
    usage: 'promote [services..]',
    describe: "Move the published refs (branch, version, latest) of services to the builds `push --stage` left in the registry, all or none",
    load: async (io) => (await import('./promote.js')).promoteCommand(io),
  },
  {
    usage: 'pull [images..]',
    describe: "Pull images, or services' published images (make docker.pull/<image>)",
    load: async (io) => (await import('./pull.js')).pullCommand(io),
  },
  {
    usage: 'show <services..>',
    describe: 'Show services: Dockerfile, parents, play, roles, tags and effective overrides (with --override/--overrides applied)',
    load: async (io) => (await import('./show.js')).showCommand(io),
  },
  {
    usage: 'status [services..]',
    describe: 'Say for each service whether its image is built from its current inputs, and its last build',
    load: async (io) => (await import('./status.js')).statusCommand(io),
  },
  {
    usage: 'logs <service>',
    describe: "Print the full log of a service's last build (or of build N, counted from 1, oldest first)",
    load: async (io) => (await import('./logs.js')).logsCommand(io),
  },
  {
    usage: 'affected [services..]',
    describe: 'List the services a change affects (--since REF, --range A..B or --files FILE|-), through the Ansible role graph',
    load: async (io) => (await import('./affected.js')).affectedCommand(io),
  },
  {
    usage: 'matrix [services..]',
    describe: 'Print a GitHub Actions matrix of weighted shards: {"include":[{"shard":"1/4","services":"a b"}]}',
    load: async (io) => (await import('./matrix.js')).matrixCommand(io),
  },
  {
    usage: 'lint [services..]',
    describe:
      'Check the conventions: FROM a checkout service or declared external base, the checkout copied, the play run as root with its overrides, its roles present',
    load: async (io) => (await import('./lint.js')).lintCommand(io),
  },
  {
    usage: 'graph',
    describe: 'Print the service graph (parent → child, external bases included), or with --roles the play → role graph',
    load: async (io) => (await import('./graph.js')).graphCommand(io),
  },
  {
    usage: 'new <service>',
    describe: 'Write a new service: its Dockerfile, ansible_overrides.yml, docker play and role (never overwrites)',
    load: async (io) => (await import('./new.js')).newCommand(io),
  },
];

/** The yargs internals that cache a command's help text. */
interface HelpCache {
  getInternalMethods(): { getUsageInstance(): { cacheHelpMessage: () => void } };
}

/** A yargs command whose module is imported when yargs first needs its options (it runs, or its --help). */
function lazyCommand(entry: CommandEntry, io: Io) {
  let loaded: Promise<CommandImplementation> | undefined;
  const load = (): Promise<CommandImplementation> => (loaded ??= entry.load(io));
  return {
    command: entry.usage,
    describe: entry.describe,
    builder: async (yargs: Argv) => (await load()).builder(yargs),
    handler: async (args: unknown) => (await load()).handler(args as never),
  };
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = 0;
  try {
    const parser = yargs([...argv]);
    // yargs renders the help text of a command each time it runs it, in case it is asked for
    // later; dockmk never prints it after a command started, and that rendering (cliui and
    // string-width) was the largest single cost of a start.
    (parser as unknown as HelpCache).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
    await parser
      .scriptName('dockmk')
      .usage('$0 <command> [services..] [options]\n\nBuild, test and publish the Docker images of a configuration checkout.')
      .command(COMMANDS.map((entry) => lazyCommand(entry, io)))
      .demandCommand(1, 'name a command: list, show, build, test, pkg, push, promote, pull, status, logs, affected, matrix, lint, new or graph')
      .strict()
      .exitProcess(false)
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .fail((message, error) => {
        throw error && !isYargsError(error) ? error : badArguments(message ?? error?.message);
      })
      .parseAsync();
  } catch (error) {
    // A command's options are checked after its module loads (its builder is async), and yargs
    // rejects such a failure with its YError without calling fail().
    exitCode = report(isYargsError(error) ? badArguments((error as Error).message) : error, io);
  }
  return exitCode;
}

/** yargs reports its own validation failures (a flag missing its value) as a YError. */
function isYargsError(error: unknown): boolean {
  return (error as Error | null)?.name === 'YError';
}

function badArguments(message: string | undefined): UsageError {
  return new UsageError(message || 'bad arguments', { hint: 'see `dockmk --help`' });
}

function report(error: unknown, io: Io): number {
  if (error instanceof DockmkError) {
    io.stderr.write(`dockmk: ${error.message}${error.hint ? ` — ${error.hint}` : ''}\n`);
    return error.exitCode;
  }
  const stack = (error as Error)?.stack;
  io.stderr.write(`${stack ? sourceMappedStack(stack) : String(error)}\n`);
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
  // 130 after Ctrl-C (SIGINT), 143 after SIGTERM (a CI runner cancelling the job): 128 + the signal.
  let signalled: number = ExitCode.interrupted;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      signalled = signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
      process.stderr.write(`\ndockmk: ${signal === 'SIGTERM' ? 'terminated' : 'interrupting'} — cancelling running steps (Ctrl-C again to quit at once)\n`);
      controller.abort();
    } else {
      // At once: the engine stops the builds whose connection closes; history notes them (its exit hook).
      process.stderr.write('dockmk: quitting at once — the engine stops the running builds as the connection closes\n');
      process.exit(signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
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
  process.exitCode = code === ExitCode.interrupted ? signalled : code;
}
