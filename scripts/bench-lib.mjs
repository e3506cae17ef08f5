// What scripts/bench.mjs measures with: timing of fresh processes, side by side; the legacy
// util/parsefiles.py, fetched from the legacy repository at bench time; the legacy docker.mk
// flow; a copy of this repository's example services under names of the bench's own.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
/** A figure whose first sample takes longer than this gets at most 3 samples. */
const SLOW_MS = 10_000;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export const ms = (value) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
export const ratio = (slow, fast) => `${(slow / fast).toFixed(1)}×`;

function runOnce(run) {
  run.before?.();
  const started = performance.now();
  const result = spawnSync(run.command, run.args, { encoding: 'utf8', maxBuffer: 256 << 20, ...run.options });
  const took = performance.now() - started;
  run.after?.();
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${run.label}: ${run.command} ${run.args.join(' ')} exited ${result.status}: ${why}`);
  }
  return { took, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Times each run (`{ label, command, args, options, before, after }`, `before` and `after` untimed) in fresh
 * processes, taking turns, so that a change of load on the machine shows in all of them alike.
 * Returns, by label, the median wall time and the last output.
 */
export function sideBySide(runs, samples = SAMPLES) {
  const times = new Map(runs.map((run) => [run.label, []]));
  const last = new Map();
  for (let i = 0; i < samples; i++) {
    for (const run of runs) {
      const took = times.get(run.label);
      if (i >= 3 && took[0] > SLOW_MS) continue;
      const result = runOnce(run);
      took.push(result.took);
      last.set(run.label, result);
    }
  }
  return Object.fromEntries(runs.map((run) => [run.label, { ms: median(times.get(run.label)), samples: times.get(run.label).length, ...last.get(run.label) }]));
}

export function timeOnce(run) {
  return runOnce(run);
}

/**
 * The legacy util/parsefiles.py and a python3 that runs it, or why not: DOCKMK_LEGACY_PARSEFILES
 * names the script, else it is taken from the legacy repository (DOCKMK_LEGACY_REPO, a git
 * directory, default /work/.mirror/openedx+configuration/repo) into `dir`. Never committed.
 */
export function legacyParsefiles(dir) {
  let script = process.env.DOCKMK_LEGACY_PARSEFILES;
  let source;
  if (script) {
    if (!existsSync(script)) return { error: `DOCKMK_LEGACY_PARSEFILES=${script}: no such file` };
    source = script;
  } else {
    const repo = process.env.DOCKMK_LEGACY_REPO ?? '/work/.mirror/openedx+configuration/repo';
    const git = (...args) => spawnSync('git', [`--git-dir=${repo}`, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const shown = git('show', 'HEAD:util/parsefiles.py');
    if (shown.status !== 0) {
      return { error: `no legacy repository at ${repo} (${(shown.stderr || shown.error?.message || '').trim().split('\n')[0]}): set DOCKMK_LEGACY_REPO to a git directory of openedx/configuration, or DOCKMK_LEGACY_PARSEFILES to util/parsefiles.py` };
    }
    script = join(dir, 'util', 'parsefiles.py');
    mkdirSync(join(dir, 'util'), { recursive: true });
    writeFileSync(script, shown.stdout);
    source = `${repo}, commit ${git('rev-parse', '--short', 'HEAD').stdout.trim()}`;
  }
  const imports = [...readFileSync(script, 'utf8').matchAll(/^(?:import|from)\s+([A-Za-z0-9_]+)/gm)].map((match) => match[1]);
  const env = { ...process.env };
  const notes = [];
  const probe = (module) => spawnSync('python3', ['-c', `import ${module}`], { encoding: 'utf8', env });
  if (probe('sys').error) return { error: 'python3 is not installed (apt-get install python3 python3-networkx python3-yaml python3-six)' };
  if (imports.includes('pathlib2') && probe('pathlib2').status !== 0) {
    // A backport of pathlib that Debian does not package: the standard pathlib stands in.
    const shim = join(dir, 'shim');
    mkdirSync(shim, { recursive: true });
    writeFileSync(join(shim, 'pathlib2.py'), 'from pathlib import *  # stand-in for the pathlib2 backport\n');
    env.PYTHONPATH = [shim, process.env.PYTHONPATH].filter(Boolean).join(':');
    notes.push('pathlib2 is not installed: the standard pathlib stands in for it');
  }
  const missing = imports.filter((module) => probe(module).status !== 0);
  if (missing.length > 0) return { error: `python3 lacks ${missing.join(', ')}, which the script imports (Debian: python3-networkx python3-yaml python3-six)` };
  return { script, source, env, imports, notes };
}

/** Services in the order the legacy Makefile's recursion builds them: parents first. */
export function legacyOrder(services) {
  const byName = new Map(services.map((service) => [service.name, service]));
  const done = new Set();
  const order = [];
  const visit = (service) => {
    if (done.has(service.name)) return;
    done.add(service.name);
    for (const parent of service.parents ?? []) visit(byName.get(parent));
    order.push(service);
  };
  services.forEach(visit);
  return order;
}

/**
 * The legacy docker.mk flow over `services` (parents first): for each, `FROM edxops/X` rewritten
 * to `X:legacytest` in a copy of the Dockerfile outside the context, as make's sed did, then
 * `docker build` with the whole checkout as the context. `pass` runs it once; `cleanup` removes
 * the rewritten files and the images it tagged.
 */
export function legacyFlow(checkout, services) {
  const dir = mkdtempSync(join(tmpdir(), 'dockmk-bench-legacy-'));
  const names = new Set(services.map((service) => service.name));
  const pass = () => {
    for (const service of services) {
      const source = readFileSync(join(checkout, service.dockerfile), 'utf8');
      const rewritten = source.replace(/^(\s*FROM\s+)edxops\/([A-Za-z0-9_.-]+)(:\S+)?/gim, (line, from, name) => (names.has(name) ? `${from}${name}:legacytest` : line));
      const file = join(dir, `${service.name}.Dockerfile`);
      writeFileSync(file, rewritten);
      const built = spawnSync('docker', ['build', '-q', '-f', file, '-t', `${service.name}:legacytest`, checkout], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (built.status !== 0) throw new Error(`docker build ${service.name} failed: ${built.stderr.trim().split('\n').at(-1)}`);
    }
  };
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
    removeImages(services.map((service) => `${service.name}:legacytest`));
  };
  return { pass, cleanup };
}

/** One untimed pass (it fills the cache, as a contributor's second make run finds it), then the median of up to 3. */
export function timeLegacy(flow) {
  flow.pass();
  const times = [];
  for (let i = 0; i < Math.min(SAMPLES, 3); i++) {
    const started = performance.now();
    flow.pass();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Removes images by reference, in batches; those that do not exist are no error. */
export function removeImages(refs) {
  for (let i = 0; i < refs.length; i += 200) spawnSync('docker', ['rmi', ...refs.slice(i, i + 200)], { encoding: 'utf8' });
}

/**
 * A copy of this repository's example services whose names start with `prefix` (directories,
 * FROM lines and COPY paths rewritten; plays, roles and .dockerignore as they are), so that the
 * bench builds images no one else on a shared engine builds (`hello-app:test` is the examples').
 */
export function prefixedExamples(repo, dir, prefix) {
  for (const path of ['docker', 'playbooks', '.dockerignore']) cpSync(join(repo, path), join(dir, path), { recursive: true, verbatimSymlinks: true });
  const build = join(dir, 'docker', 'build');
  const names = readdirSync(build).filter((name) => existsSync(join(build, name, 'Dockerfile')));
  for (const name of names) renameSync(join(build, name), join(build, `${prefix}${name}`));
  for (const name of names) {
    const file = join(build, `${prefix}${name}`, 'Dockerfile');
    let text = readFileSync(file, 'utf8');
    for (const other of names) {
      text = text.replaceAll(`edxops/${other}:`, `edxops/${prefix}${other}:`).replaceAll(`docker/build/${other}/`, `docker/build/${prefix}${other}/`);
    }
    writeFileSync(file, text);
  }
  return names.map((name) => `${prefix}${name}`);
}

/** Files and bytes under `dir` (what a build without .dockerignore sends). */
export function checkoutSize(dir) {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return { files, bytes };
}
