// Records every build step of a run: one line appended to history.jsonl when it ends (a
// single write of a whole line, so a crash can only tear the line being written), and its
// full log under logs/<run>/<service>.log.

import {
  appendFileSync,
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { join } from 'node:path';
import { HISTORY_FILE, HISTORY_VERSION, type BuildOutcome } from '../discover/runs.js';
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

export function createHistoryRecorder(options: HistoryOptions): HistoryRecorder {
  const started = new Map<string, string>();
  const logs = new Map<string, { stream: WriteStream; path: string }>();
  const closing: Promise<void>[] = [];
  let command = '';
  let engine = '';
  let ready = false;
  let appended = false;
  const logDir = join('logs', options.runId);
  // A log is opened at a step's first line, or when it ends having built (or failed) without
  // one: a run where everything is up to date writes no log file and no logs/<run> directory.
  const openLog = (id: string, service: string): { stream: WriteStream; path: string } => {
    if (!ready) {
      ensureStateDir(options.stateDir);
      mkdirSync(join(options.stateDir, logDir), { recursive: true });
      ready = true;
    }
    const log = { stream: createWriteStream(join(options.stateDir, logDir, `${service}.log`)), path: join(logDir, `${service}.log`) };
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
        break;
      case 'step-output':
        if (event.step.kind !== 'build' || !started.has(event.step.id)) break;
        (logs.get(event.step.id) ?? openLog(event.step.id, event.step.service)).stream.write(`${event.line}\n`);
        break;
      case 'step-end': {
        const { step } = event.result;
        if (step.kind !== 'build') break;
        // Nothing was built, so there is no log worth keeping.
        const keep = event.result.status !== 'up-to-date' && event.result.status !== 'skipped' && event.result.status !== 'reused';
        const opened = logs.get(step.id) ?? (keep && started.has(step.id) ? openLog(step.id, step.service) : undefined);
        const startedAt = started.get(step.id);
        logs.delete(step.id);
        started.delete(step.id);
        const log = keep ? opened : undefined;
        if (opened) {
          closing.push(
            new Promise((done) =>
              opened.stream.end(() => {
                if (log === undefined) rmSync(join(options.stateDir, opened.path), { force: true });
                done();
              }),
            ),
          );
        }
        ensureStateDir(options.stateDir);
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
        // After a crash mid-write the file may end in a torn line: start on a fresh one.
        const separator = appended ? '' : tornEnd(file) ? '\n' : '';
        appendFileSync(file, `${separator}${JSON.stringify(record)}\n`);
        appended = true;
        break;
      }
      default:
        break;
    }
  };
  return { emit, close: async () => void (await Promise.all(closing)) };
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
