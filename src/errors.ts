// Every error a user can cause or meet is a DockmkError: cli/main.ts prints it as one line
// (what, where, how to fix) and exits with its code. Anything else is a bug.

/** Exit codes: 1 a step failed, 2 bad input, 70 internal error, 130 interrupted, 143 terminated. */
export const ExitCode = {
  stepFailed: 1,
  badInput: 2,
  internal: 70,
  interrupted: 130,
  /** SIGTERM: 128 + 15. */
  terminated: 143,
} as const;

export interface ErrorOptions {
  /** How to fix it, printed after the message. */
  hint?: string | undefined;
  cause?: unknown;
}

export class DockmkError extends Error {
  readonly exitCode: number = ExitCode.badInput;
  readonly hint: string | undefined;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** A bad option, flag value or configuration file. */
export class ConfigError extends DockmkError {}

/** A name on the command line that is not usable (unknown service, path-like name). */
export class UsageError extends DockmkError {}

/** Something wrong in the checkout, with the file (and line) that holds it. */
export class DiscoveryError extends DockmkError {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string, options: ErrorOptions = {}) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${message}`, options);
    this.file = file;
    this.line = line;
  }
}

/** Services whose FROM lines depend on each other in a loop. */
export class CycleError extends DockmkError {
  readonly cycle: readonly string[];

  constructor(cycle: readonly string[], where: readonly string[]) {
    super(`FROM cycle between services: ${cycle.join(' → ')} (${where.join(', ')})`, {
      hint: 'a service cannot build FROM itself or its own descendants; break the loop in one of these FROM lines',
    });
    this.cycle = cycle;
  }
}

/** The Docker engine or a registry refused or could not be reached. */
export class EngineError extends DockmkError {
  override readonly exitCode: number = ExitCode.stepFailed;
}

/** A plan step (build, pull, tag, push) failed. */
export class StepFailedError extends DockmkError {
  override readonly exitCode: number = ExitCode.stepFailed;
}

/** The run was interrupted (Ctrl-C). */
export class InterruptedError extends DockmkError {
  override readonly exitCode: number = ExitCode.interrupted;
}

/** `dockmk lint` found errors (each already printed as `file:line: rule: message`). */
export class LintFailedError extends DockmkError {
  override readonly exitCode: number = ExitCode.stepFailed;
}

/** How to fix a state file dockmk cannot write (its caches, history, logs, run lock). */
export const STATE_DIR_FIX = 'free space there, or set DOCKMK_STATE_DIR to a writable directory';

/**
 * Why a file operation failed, in the words people know: "ENOSPC: no space left on device",
 * without what Node adds after the comma (the call and the path, which the caller names itself).
 */
export function fsReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(', ')[0] ?? message;
}
