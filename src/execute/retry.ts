// Retries a registry transfer (push, pull) after a transient error: the registry restarting,
// a reset connection, a 5xx. Refused credentials, unknown images and everything else fail at
// once. The wait doubles each time (with jitter) and ends early on an interrupt.

import { InterruptedError, type DockmkError } from '../errors.js';

export interface RetryPolicy {
  /** Attempts after the first. */
  readonly retries: number;
  /** Wait before the first retry, in ms; doubled for each one after. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** The longest wait a registry's Retry-After gets. */
export const MAX_RETRY_AFTER_MS = 60_000;

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 3, baseDelayMs: 1000, maxDelayMs: 16_000 });

export interface RetryHooks {
  readonly signal: AbortSignal;
  /** Waits `ms`, or rejects with an InterruptedError when `signal` aborts. Injected by tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1), for jitter. */
  readonly random?: () => number;
  /** Told before each wait: the attempt about to be made (2 for the first retry) of how many. */
  readonly onRetry: (retry: { attempt: number; of: number; delayMs: number; reason: string }) => void;
}

const AUTH = /unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden|\b40[13]\b/i;

const TRANSIENT = [
  /connection re(set|fused)/i,
  /\bEOF\b/,
  /broken pipe/i,
  /i\/o timeout|timed? ?out|deadline exceeded/i,
  /no route to host|network is unreachable|host is down/i,
  /server misbehaving|temporary failure|try again/i,
  /TLS handshake/i,
  /\b50[0-4]\b|internal server error|bad gateway|service unavailable|gateway timeout/i,
  /too many requests|\b429\b/i,
  // a layer the registry had not committed yet when the manifest came (pushes racing)
  /blob unknown/i,
  /the engine connection broke/i,
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH/,
];

/** Whether a failed transfer may succeed when tried again. Refused credentials never do. */
export function isTransient(message: string): boolean {
  if (AUTH.test(message)) return false;
  return TRANSIENT.some((pattern) => pattern.test(message));
}

/** The wait before retry number `n` (1-based): base·2^(n-1), capped, ±20 %. */
export function retryDelay(policy: RetryPolicy, n: number, random: () => number = Math.random): number {
  const plain = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.round(plain * (0.8 + 0.4 * random()));
}

export async function withRetry<T>(policy: RetryPolicy, hooks: RetryHooks, run: () => Promise<T>): Promise<T> {
  const sleep = hooks.sleep ?? abortableSleep;
  for (let n = 1; ; n += 1) {
    try {
      return await run();
    } catch (error) {
      const message = (error as DockmkError).message ?? String(error);
      if (hooks.signal.aborted || error instanceof InterruptedError || n > policy.retries || !isTransient(message)) throw error;
      // A registry that says when to come back (429, 503 with Retry-After) is taken at its word, up to a minute.
      const asked = (error as { retryAfterMs?: number }).retryAfterMs;
      const delayMs = Math.max(retryDelay(policy, n, hooks.random), Math.min(asked ?? 0, MAX_RETRY_AFTER_MS));
      hooks.onRetry({ attempt: n + 1, of: policy.retries + 1, delayMs, reason: message });
      await sleep(delayMs, hooks.signal);
    }
  }
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new InterruptedError('interrupted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new InterruptedError('interrupted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
