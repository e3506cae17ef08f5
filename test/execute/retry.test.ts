import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError, InterruptedError } from '../../src/errors.js';
import { RegistryError, retryAfterMs } from '../../src/execute/registry.js';
import { isTransient, MAX_RETRY_AFTER_MS, retryDelay, withRetry, type RetryPolicy } from '../../src/execute/retry.js';

const POLICY: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 16_000 };

test('transient: the registry restarting, a reset connection, 5xx; never refused credentials', () => {
  for (const message of [
    'push 127.0.0.1:5077/ns/app:latest failed: Get "http://127.0.0.1:5077/v2/": dial tcp 127.0.0.1:5077: connect: connection refused',
    'Put "https://ghcr.io/v2/x/blobs/uploads/1": read tcp 10.0.0.2:5123->140.82.1.1:443: read: connection reset by peer',
    'received unexpected HTTP status: 502 Bad Gateway',
    'unexpected EOF',
    'net/http: TLS handshake timeout',
    'toomanyrequests: Too Many Requests',
    'the engine connection broke: ECONNRESET socket hang up',
  ]) {
    assert.ok(isTransient(message), message);
  }
  for (const message of [
    'unauthorized: authentication required',
    'denied: requested access to the resource is denied',
    'no basic auth credentials',
    'manifest unknown: manifest unknown',
    'An image does not exist locally with the tag: ns/app',
    // a 5xx in the words of a refusal is still a refusal
    'unauthorized: 503 is not the point',
  ]) {
    assert.not.ok(isTransient(message), message);
  }
});

test('delays double from the base, capped, with at most ±20 % jitter', () => {
  assert.equal([1, 2, 3, 4].map((n) => retryDelay(POLICY, n, () => 0.5)), [1000, 2000, 4000, 8000]);
  assert.is(retryDelay({ ...POLICY, maxDelayMs: 3000 }, 5, () => 0.5), 3000);
  assert.is(retryDelay(POLICY, 1, () => 0), 800);
  assert.is(retryDelay(POLICY, 1, () => 0.999999), 1200);
});

function harness(failures: string[]) {
  const waits: number[] = [];
  const retries: { attempt: number; of: number; delayMs: number; reason: string }[] = [];
  let calls = 0;
  const run = async (): Promise<string> => {
    calls += 1;
    const failure = failures.shift();
    if (failure !== undefined) throw new EngineError(failure);
    return 'pushed';
  };
  const hooks = {
    signal: new AbortController().signal,
    sleep: async (ms: number) => void waits.push(ms),
    random: () => 0.5,
    onRetry: (retry: (typeof retries)[number]) => void retries.push(retry),
  };
  return { run, hooks, waits, retries, calls: () => calls };
}

test('a transient failure is tried again after a wait, and told before each wait', async () => {
  const h = harness(['connection refused', '503 Service Unavailable']);
  assert.is(await withRetry(POLICY, h.hooks, h.run), 'pushed');
  assert.is(h.calls(), 3);
  assert.equal(h.waits, [1000, 2000]);
  assert.equal(h.retries.map((r) => [r.attempt, r.of, r.delayMs]), [[2, 4, 1000], [3, 4, 2000]]);
  assert.is(h.retries[0]?.reason, 'connection refused');
});

test("a registry's Retry-After is waited for, when longer than the backoff, up to a minute", async () => {
  const errors = [new RegistryError('HTTP 429 TOOMANYREQUESTS', 429, { retryAfterMs: 7000 }), new RegistryError('HTTP 503', 503, { retryAfterMs: 10 * 60_000 }), new RegistryError('HTTP 503', 503, { retryAfterMs: 10 })];
  const waits: number[] = [];
  let calls = 0;
  const result = await withRetry(
    POLICY,
    { signal: new AbortController().signal, random: () => 0.5, sleep: async (ms) => void waits.push(ms), onRetry: () => {} },
    async () => {
      const error = errors[calls++];
      if (error) throw error;
      return 'written';
    },
  );
  assert.is(result, 'written');
  assert.equal(waits, [7000, MAX_RETRY_AFTER_MS, 4000]);
  assert.is(retryAfterMs('5'), 5000);
  assert.is(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5000);
  assert.is(retryAfterMs('soon'), undefined);
});

test('gives up after the last retry with the last error', async () => {
  const h = harness(['connection refused', 'connection refused', 'connection refused', 'connection refused: the last']);
  await withRetry(POLICY, h.hooks, h.run).then(
    () => assert.unreachable('should fail'),
    (error: Error) => assert.is(error.message, 'connection refused: the last'),
  );
  assert.is(h.calls(), 4);
  assert.equal(h.waits, [1000, 2000, 4000]);
});

test('refused credentials fail at once; so does anything not transient', async () => {
  for (const message of ['unauthorized: authentication required', 'manifest unknown']) {
    const h = harness([message]);
    await withRetry(POLICY, h.hooks, h.run).then(() => assert.unreachable(), () => undefined);
    assert.is(h.calls(), 1, message);
    assert.equal(h.retries, []);
  }
});

test('an interrupt during the wait ends it at once, without another try', async () => {
  const controller = new AbortController();
  let calls = 0;
  const started = Date.now();
  const pending = withRetry({ ...POLICY, baseDelayMs: 60_000 }, { signal: controller.signal, onRetry: () => controller.abort() }, async () => {
    calls += 1;
    throw new EngineError('connection refused');
  });
  await pending.then(() => assert.unreachable(), (error: unknown) => assert.instance(error, InterruptedError));
  assert.is(calls, 1);
  assert.ok(Date.now() - started < 5000, 'did not wait out the delay');
});

test.run();
