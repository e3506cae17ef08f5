// Records every build step of a run: one line appended to history.jsonl when it ends (a
// single write of a whole line, so a crash can only tear the line being written; a write that
// fails midway, as on a full disk, is cut back off), and its full log under
// logs/<run>/<service>.log.
//
// The history serves status, logs and shard weights; it is never worth failing a run for. A
// file that cannot be written (full disk, read-only, not a directory) is one warning naming
// it, once, and the run and its result go on.

import {
  closeSync,
  createWriteStream,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  type WriteStream,
} from 'node:fs';
import { join } from 'node:path';
import { fsReason, STATE_DIR_FIX } from '../errors.js';
import { HISTORY_FILE, HISTORY_VERSION, type BuildOutcome } from '../discover/runs.js';
import type { PlanStep } from '../plan/types.js';
import type { RunEvent, StepResult } from '../execute/events.js';
import { formatImageRef } from '../model/image-ref.js';
import type { AttributedRecord } from './actor.js';

export interface HistoryOptions {
  readonly stateDir: string;
  readonly runId: string;
  readonly flavor: string;
  /** Wall-clock time, for startedAt. */
  readonly clock: () => Date;
  /** Who runs it (report/actor.ts), recorded with every build. */
  readonly actor?: string | undefined;
  /** One line for a file that could not be written (each file once). */
  readonly warn?: (message: string) => void;
}

export interface HistoryRecorder {
  readonly emit: (event: RunEvent) => void;
  /** Resolves once every log is flushed. */
  readonly close: () => Promise<void>;
}

/** Makes the state directory, ignored by git whatever the checkout's .gitignore says. */
export function ensureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const ignore = join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# dockmk state: history, logs, caches\n*\n');
}

interface Log {
  readonly stream: WriteStream | null;
  /** Relative to the state directory. */
  readonly path: string;
  failed: boolean;
}

export function createHistoryRecorder(options: HistoryOptions): HistoryRecorder {
  const started = new Map<string, string>();
  /** Build steps started and not ended: what a process that quits at once leaves unrecorded. */
  const running = new Map<string, PlanStep>();
  const logs = new Map<string, Log>();
  const closing: Promise<void>[] = [];
  let command = '';
  let engine = '';
  let ready: boolean | null = false;
  let appended = false;
  const logDir = join('logs', options.runId);
  const warned = new Set<string>();
  const cannotWrite = (file: string, what: string, lost: string, error: unknown): void => {
    if (warned.has(file)) return;
    warned.add(file);
    const why = fsReason(error);
    options.warn?.(`${file}: cannot write ${what} (${why}): ${lost}; the run goes on and its result stands — ${STATE_DIR_FIX}`);
  };
  // A log is opened at a step's first line, or when it ends having built (or failed) without
  // one: a run where everything is up to date writes no log file and no logs/<run> directory.
  const openLog = (id: string, service: string): Log => {
    const path = join(logDir, `${service}.log`);
    const file = join(options.stateDir, path);
    if (ready === false) {
      try {
        ensureStateDir(options.stateDir);
        mkdirSync(join(options.stateDir, logDir), { recursive: true });
        ready = true;
      } catch (error) {
        cannotWrite(join(options.stateDir, logDir), 'the build logs', '`dockmk logs` will not have this run', error);
        ready = null;
      }
    }
    let log: Log = { stream: null, path, failed: true };
    if (ready === true) {
      const stream = createWriteStream(file);
      log = { stream, path, failed: false };
      const opened = log;
      stream.on('error', (error) => {
        opened.failed = true;
        cannotWrite(file, `the log of ${service}`, 'it is not kept', error);
      });
    }
    logs.set(id, log);
    return log;
  };

  const emit = (event: RunEvent): void => {
    switch (event.kind) {
      case 'run-start':
        command = event.plan.command;
        engine = event.engine;
        break;
      case 'step-start':
        if (event.step.kind !== 'build') break;
        started.set(event.step.id, options.clock().toISOString());
        running.set(event.step.id, event.step);
        break;
      case 'step-output': {
        if (event.step.kind !== 'build' || !started.has(event.step.id)) break;
        const log = logs.get(event.step.id) ?? openLog(event.step.id, event.step.service);
        if (!log.failed) log.stream?.write(`${event.line}\n`);
        break;
      }
      case 'step-end': {
        const { step } = event.result;
        if (step.kind !== 'build') break;
        running.delete(step.id);
        // Nothing was built, so there is no log worth keeping.
        const keep = event.result.status !== 'up-to-date' && event.result.status !== 'skipped' && event.result.status !== 'reused';
        const opened = logs.get(step.id) ?? (keep && started.has(step.id) ? openLog(step.id, step.service) : undefined);
        const startedAt = started.get(step.id);
        logs.delete(step.id);
        started.delete(step.id);
        const log = keep && opened?.stream && !opened.failed ? opened : undefined;
        if (opened?.stream) {
          const stream = opened.stream;
          closing.push(
            new Promise((done) => {
              // 'close' comes after the last write, or after an error (the stream destroys itself).
              const closed = (): void => {
                try {
                  if (log === undefined || opened.failed) rmSync(join(options.stateDir, opened.path), { force: true });
                } catch {
                  // A log that cannot be removed is left; the history does not point at it.
                }
                done();
              };
              if (stream.closed) closed();
              else stream.once('close', closed);
              stream.end();
            }),
          );
        }
        const record: AttributedRecord = {
          v: HISTORY_VERSION,
          run: options.runId,
          command,
          service: step.service,
          flavor: options.flavor,
          tag: formatImageRef(step.tag),
          status: outcome(event.result),
          startedAt: startedAt ?? options.clock().toISOString(),
          durationMs: Math.round(event.result.durationMs),
          engine,
          ...(options.actor ? { actor: options.actor } : {}),
          ...(event.result.imageId ? { imageId: event.result.imageId } : {}),
          ...(event.result.inputHash ? { inputHash: event.result.inputHash } : {}),
          // What each input was, for status to say what changed since: only on the records of
          // builds. An up-to-date step's inputs are those of the build that made its image, so
          // a no-op adds a short record, not a copy of every part's digest.
          ...(step.inputs && event.result.status !== 'up-to-date' ? { inputs: step.inputs.parts } : {}),
          ...(event.result.baseIds && event.result.status !== 'up-to-date' ? { bases: event.result.baseIds } : {}),
          ...(event.result.reason ? { reason: event.result.reason } : {}),
          ...(log ? { log: log.path } : {}),
        };
        const file = join(options.stateDir, HISTORY_FILE);
        try {
          ensureStateDir(options.stateDir);
          // After a crash mid-write the file may end in a torn line: start on a fresh one.
          const separator = appended ? '' : tornEnd(file) ? '\n' : '';
          appendWhole(file, `${separator}${JSON.stringify(record)}\n`);
          appended = true;
        } catch (error) {
          cannotWrite(file, 'the build history', `the record of ${step.service} (and of later builds, while this lasts) is lost`, error);
        }
        break;
      }
      default:
        break;
    }
  };
  // A second Ctrl-C ends the process at once (process.exit): the builds it leaves are recorded
  // as interrupted, synchronously, as the process goes.
  const onExit = (): void => {
    for (const step of [...running.values()]) emit({ kind: 'step-end', result: { step, status: 'cancelled', durationMs: 0, reason: 'interrupted' }, output: [] });
  };
  process.once('exit', onExit);
  return {
    emit,
    close: async () => {
      process.removeListener('exit', onExit);
      await Promise.all(closing);
    },
  };
}

function outcome(result: StepResult): BuildOutcome {
  switch (result.status) {
    case 'done':
      return 'built';
    case 'up-to-date':
    case 'present':
      return 'up-to-date';
    case 'reused':
    case 'kept':
      return 'reused';
    case 'cancelled':
      return result.reason === 'interrupted' ? 'interrupted' : 'cancelled';
    case 'failed':
      return 'failed';
    case 'skipped':
    case 'unavailable':
      return result.reason?.includes('interrupted') ? 'interrupted' : 'skipped';
  }
}

/** Appends `text` in one write; a write that fails midway (a full disk) is cut off again, so the file never keeps half a line. */
function appendWhole(file: string, text: string): void {
  const fd = openSync(file, 'a');
  try {
    const before = fstatSync(fd).size;
    const bytes = Buffer.from(text);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
    } catch (error) {
      try {
        ftruncateSync(fd, before);
      } catch {
        // The line may stay torn; the reader skips it with a warning, the next append starts a fresh line.
      }
      throw error;
    }
  } finally {
    closeSync(fd);
  }
}

function tornEnd(file: string): boolean {
  if (!existsSync(file)) return false;
  const size = statSync(file).size;
  if (size === 0) return false;
  const fd = openSync(file, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
