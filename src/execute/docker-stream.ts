// The Engine API's streamed answers (build, pull, push: one JSON message a line) and its errors,
// read the same way for every engine, and `dial`: one Engine API call through docker-modem. Only
// dockerode's types here: execute/docker.ts hands the streams and its client in.

import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { EngineError, InterruptedError } from '../errors.js';
import type { CallOptions } from './engine.js';

export interface Message {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  /** A result (an image ID, a pushed digest), or under BuildKit a trace payload (base64). */
  aux?: { ID?: string; Digest?: string; Tag?: string } | string;
}

export interface FollowOptions {
  /**
   * On an interrupt, ask the engine to stop instead of closing the connection (a BuildKit build
   * cancelled by its id), then read on until the engine ends the stream; it is closed after
   * `graceMs` if the engine has not.
   */
  readonly cancel?: () => Promise<void>;
  readonly graceMs?: number;
}

/** Reads a stream of JSON messages; an `error` message rejects with the engine's words. */
export function follow(stream: NodeJS.ReadableStream, options: CallOptions, onMessage: (message: Message) => void, how: FollowOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let failed: string | null = null;
    let grace: NodeJS.Timeout | undefined;
    const close = (): void => {
      (stream as Readable).destroy?.();
      reject(interrupted());
    };
    const onAbort = (): void => {
      if (how.cancel === undefined) return close();
      how.cancel().catch(() => undefined);
      grace = setTimeout(close, how.graceMs ?? 30_000);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) onAbort();
    const handle = (line: string): void => {
      if (line.trim() === '') return;
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        options.onLine(line);
        return;
      }
      if (message.error !== undefined || message.errorDetail?.message !== undefined) {
        failed ??= (message.errorDetail?.message ?? message.error ?? '').trim();
        return;
      }
      onMessage(message);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        handle(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.on('error', (error: Error) => {
      clearTimeout(grace);
      options.signal.removeEventListener('abort', onAbort);
      reject(options.signal.aborted ? interrupted() : connectionBroke(error));
    });
    stream.on('end', () => {
      clearTimeout(grace);
      options.signal.removeEventListener('abort', onAbort);
      handle(buffer);
      if (options.signal.aborted) reject(interrupted());
      else if (failed !== null) reject(new EngineError(failed));
      else resolve();
    });
  });
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export function interrupted(): InterruptedError {
  return new InterruptedError('interrupted');
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** The daemon's own words from a dockerode error ("(HTTP code 404) no such image - <json>"). */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } | string | null }).json;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  return describe(error).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  if (err.code && err.message) return err.message.includes(err.code) ? err.message : `${err.code} ${err.message}`;
  return err.message ?? String(error);
}

/**
 * The engine's stream ended in the middle: the engine died (killed, out of memory), restarted,
 * or the connection to it was cut.
 */
export function connectionBroke(error: unknown): EngineError {
  return new EngineError(`the engine connection broke: ${describe(error)}`, {
    hint: 'the engine stopped or restarted while it worked (killed, out of memory?): check that it runs (docker info, and its log), start it again (as root: `npm run setup`), and run the command again; what finished before stands',
  });
}

/** One Engine API call through docker-modem, as a promise. */
export function dial<T>(docker: Docker, options: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    (docker.modem as unknown as { dial(options: object, callback: (error: unknown, data: T) => void): void }).dial(options, (error, data) => (error ? reject(error) : resolve(data)));
  });
}
