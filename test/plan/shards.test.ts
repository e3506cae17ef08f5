import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config/config.js';
import { buildDurations, readBuildDurations } from '../../src/discover/history.js';
import type { BuildRecord } from '../../src/discover/runs.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { buildWaves } from '../../src/model/graph.js';
import { parseLegacyConfig } from '../../src/model/legacy-config.js';
import { githubMatrix } from '../../src/plan/matrix.js';
import { balanceShards, parseShard, weighServices, type Weight } from '../../src/plan/shards.js';
import { fixturePath, loadCheckout, tempDir, test } from '../helpers.js';

const LEGACY = fixturePath('legacy-config');

test('--shard K/N: 1-based, K <= N; other forms are refused', () => {
  assert.equal(parseShard('1/4'), { index: 1, count: 4 });
  assert.equal(parseShard('4/4'), { index: 4, count: 4 });
  assert.equal(parseShard('256/256'), { index: 256, count: 256 });
  for (const bad of ['0/4', '5/4', '1/0', '-1/4', '1.5/4', '1/4/', '01/4', ' 1/4', '1-4', '1 of 4', '1/', '/4', '', 'a/b', '1/257']) {
    assert.throws(() => parseShard(bad), (error: unknown) => error instanceof UsageError && /--shard/.test((error as Error).message), bad);
  }
});

/** A small seeded generator: the same cases on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function weights(entries: [string, number][]): Map<string, Weight> {
  return new Map(entries.map(([name, minutes]) => [name, { minutes, source: 'config' as const }]));
}

test('shards are disjoint, complete and balanced within the largest weight (200 random cases)', () => {
  const next = random(7);
  for (let round = 0; round < 200; round++) {
    const count = 1 + Math.floor(next() * 12);
    const input = weights(Array.from({ length: Math.floor(next() * 60) }, (_, i) => [`svc-${i}`, Math.ceil(next() * 40 * next())]));
    const shards = balanceShards(input, count);
    assert.is(shards.length, count);
    const all = shards.flatMap((shard) => shard.services);
    assert.is(new Set(all).size, all.length, 'disjoint');
    assert.equal(all.sort(), [...input.keys()].sort(), 'complete');
    const loads = shards.map((shard) => shard.weight);
    const largest = Math.max(0, ...[...input.values()].map((w) => w.minutes));
    assert.ok(Math.max(...loads) - Math.min(...loads) <= largest, `balanced: ${loads} vs ${largest}`);
    assert.equal(shards.map((s) => s.index), Array.from({ length: count }, (_, i) => i + 1));
  }
});

test('longest first, each to the lightest shard; ties by name, so every runner computes the same shards', () => {
  const shards = balanceShards(weights([['a', 5], ['b', 4], ['c', 3], ['d', 3], ['e', 2], ['f', 1]]), 2);
  assert.equal(shards.map((s) => [s.services, s.weight]), [[['a', 'd', 'f'], 9], [['b', 'c', 'e'], 9]]);
  assert.equal(balanceShards(weights([['x', 1]]), 3).map((s) => s.services), [['x'], [], []]);
});

test('weights: dockmk.yml, then the legacy list, then the median of recent builds, else 1 — nobody is dropped', () => {
  const history = new Map([['c', [60_000, 600_000, 120_000]], ['a', [1]]]);
  const result = weighServices(['a', 'b', 'c', 'd'], { config: { a: 3 }, legacy: { a: 9, b: 7 }, history });
  assert.equal([...result], [
    ['a', { minutes: 3, source: 'config' }],
    ['b', { minutes: 7, source: 'legacy-config' }],
    ['c', { minutes: 2, source: 'history' }],
    ['d', { minutes: 1, source: 'default' }],
  ]);
});

test('legacy-config: images without a weight are sharded too (balancecontainers.py dropped them)', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const legacy = parseLegacyConfig({ path: 'util/parsefiles_config.yml', text: `weights:\n  - edxapp: 31\n  - forum: 9\n` });
  const names = [...checkout.services.keys()];
  const shards = balanceShards(weighServices(names, { config: {}, legacy: legacy.weights, history: new Map() }), 4);
  assert.equal(shards.flatMap((s) => s.services).sort(), names.sort());
  assert.ok(shards[0]?.services.includes('edxapp'));
  assert.ok(shards.some((s) => s.services.includes('tableau')), 'tableau has no weight and is still built');
});

function record(service: string, status: BuildRecord['status'], durationMs: number): BuildRecord {
  return { v: 1, run: 'r', command: 'test', service, flavor: 'plain', tag: `${service}:test`, status, startedAt: '2024-01-01T00:00:00Z', durationMs, engine: 'e' };
}

test('history: durations of the most recent builds that built; a torn line is skipped', () => {
  const records = [record('a', 'built', 1), record('a', 'up-to-date', 5), record('a', 'failed', 7), ...[2, 3, 4, 5, 6, 7].map((ms) => record('a', 'built', ms))];
  assert.equal([...buildDurations(records, 5)], [['a', [3, 4, 5, 6, 7]]]);
  const dir = tempDir('dockmk-history-');
  assert.equal(readBuildDurations(dir).size, 0, 'no history file: no durations');
  writeFileSync(join(dir, 'history.jsonl'), `${JSON.stringify(record('b', 'built', 90_000))}\nnot json\n${JSON.stringify(record('b', 'built', 30_000)).slice(0, 40)}`);
  assert.equal([...readBuildDurations(dir)], [['b', [90_000]]]);
});

test('dockmk.yml weights: a mapping or the legacy list form; a bad value names file:line', () => {
  const root = tempDir('dockmk-weights-');
  mkdirSync(join(root, 'docker'));
  writeFileSync(join(root, 'dockmk.yml'), 'weights:\n  forum: 9\n  edxapp: 31.5\n');
  assert.equal(loadConfig({}, {}, root).weights, { forum: 9, edxapp: 31.5 });
  writeFileSync(join(root, 'dockmk.yml'), 'weights:\n  - forum: 9\n  - edxapp: 31\n');
  assert.equal(loadConfig({}, {}, root).weights, { forum: 9, edxapp: 31 });
  assert.equal(loadConfig({}, {}, tempDir('dockmk-weights-')).weights, {});
  writeFileSync(join(root, 'dockmk.yml'), 'weights:\n  forum: 9\n  edxapp: -1\n');
  assert.throws(() => loadConfig({}, {}, root), (error: unknown) => error instanceof ConfigError && /dockmk\.yml:3: the weight of "edxapp"/.test((error as Error).message));
  writeFileSync(join(root, 'dockmk.yml'), 'weights: 3\n');
  assert.throws(() => loadConfig({}, {}, root), /dockmk\.yml:1: weights must be a mapping/);
});

test('matrix: non-empty shards only, each naming its services; waves put affected parents first', async () => {
  const { checkout } = await loadCheckout(LEGACY);
  const names = ['focal-common', 'edxapp', 'zz-chain-leaf', 'forum', 'xenial-common', 'tableau'];
  const w = weighServices(names, { config: {}, legacy: {}, history: new Map() });
  const flat = githubMatrix(checkout, w, { shards: 8, waves: false });
  assert.equal(flat.include.length, 6, 'two shards left empty are left out');
  assert.equal(flat.include.map((e) => e.services.split(' ')).flat().sort(), [...names].sort());
  assert.ok(flat.include.every((e) => /^\d+\/8$/.test(e.shard) && e.wave === undefined));
  const waved = githubMatrix(checkout, w, { shards: 2, waves: true });
  const waveOf = new Map(waved.include.flatMap((e) => e.services.split(' ').map((s) => [s, e.wave as number] as const)));
  assert.equal([...waveOf.keys()].sort(), [...names].sort());
  for (const name of names) {
    for (const parent of checkout.services.get(name)?.parents ?? []) {
      if (waveOf.has(parent)) assert.ok((waveOf.get(parent) as number) < (waveOf.get(name) as number), `${parent} before ${name}`);
    }
  }
  assert.equal(Math.max(...waveOf.values()), buildWaves(checkout, new Set(names)).length);
  assert.equal(waveOf.get('zz-chain-leaf'), 3);
});

test.run();
