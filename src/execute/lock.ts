// One run at a time on one checkout: two runs would build the same tags, move them under each
// other and interleave their history. The second run waits for the first, and says once who it
// waits for; a lock left by a run that died (its pid is gone) is taken over, and said so.
// A state directory that cannot hold a lock is a warning: the lock only guards, it decides nothing.

import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsReason, InterruptedError, STATE_DIR_FIX } from '../errors.js';
import { abortableSleep } from './retry.js';

export const LOCK_FILE = 'run.lock';

interface Holder {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
}

export interface LockOptions {
  readonly signal: AbortSignal;
  /** One line for people (waiting, a stale lock taken over, no lock possible). */
  readonly say: (line: string) => void;
  readonly clock?: () => Date;
  /** Between looks at a held lock; injected by tests. */
  readonly pollMs?: number;
}

export interface Lock {
  release(): void;
}

export async function lockCheckout(stateDir: string, command: string, options: LockOptions): Promise<Lock> {
  const path = join(stateDir, LOCK_FILE);
  const me: Holder = { pid: process.pid, command, startedAt: (options.clock ?? (() => new Date()))().toISOString() };
  let waitingFor: number | null = null;
  const unguarded = (error: unknown): Lock => {
    options.say(`warning: ${path}: cannot hold the run lock (${fsReason(error)}); another dockmk run on this checkout would not be waited for — ${STATE_DIR_FIX}`);
    return { release: () => undefined };
  };
  for (;;) {
    if (options.signal.aborted) throw new InterruptedError('interrupted while waiting for the other run');
    // Written whole under another name, then linked into place: a reader never sees it half written,
    // and the link fails if another run holds the lock.
    const temporary = `${path}.${process.pid}`;
    try {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(temporary, `${JSON.stringify(me)}\n`);
    } catch (error) {
      forget(temporary);
      return unguarded(error);
    }
    try {
      linkSync(temporary, path);
    } catch (error) {
      forget(temporary);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return unguarded(error);
      const holder = readHolder(path);
      if (holder === null || !alive(holder.pid)) {
        forget(path);
        options.say(`dockmk: took over the run lock ${path}${holder ? ` of pid ${holder.pid} (dockmk ${holder.command}, since ${holder.startedAt}), which is no longer running` : ', which was unreadable'}`);
        continue;
      }
      if (waitingFor !== holder.pid) {
        waitingFor = holder.pid;
        options.say(`dockmk: waiting for dockmk ${holder.command} (pid ${holder.pid}, since ${holder.startedAt}) to finish on this checkout (${path}); Ctrl-C to stop waiting`);
      }
      await abortableSleep(options.pollMs ?? 500, options.signal).catch(() => undefined);
      continue;
    }
    forget(temporary);
    const release = (): void => {
      process.removeListener('exit', release);
      if (readHolder(path)?.pid === me.pid) rmSync(path, { force: true });
    };
    // A second Ctrl-C ends the process at once: the lock goes with it.
    process.once('exit', release);
    return { release };
  }
}

function readHolder(path: string): Holder | null {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof holder.pid === 'number' ? { pid: holder.pid, command: String(holder.command ?? '?'), startedAt: String(holder.startedAt ?? '?') } : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function forget(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // where nothing can be written, nothing was
  }
}
