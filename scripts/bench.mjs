#!/usr/bin/env node
// npm run bench: generates a checkout of 2,000 services and 5,000 roles (scripts/gen-repo.mjs)
// into a temporary directory and times dockmk on it, each sample in a fresh Node process (a CLI
// run is always cold). Prints the machine it ran on. A benchmark, not a test: it fails nothing.
//
// When an engine answers, it also times no-op builds against the legacy flow, on this
// repository's examples and on a generated checkout that builds for real (scripts/gen-buildable.mjs,
// built once untimed, its images removed at the end), and a cold build of the examples.
//
// Sections are a list of { name, run(context) → lines }: add one to measure something else on
// the same generated checkout.
//
//   DOCKMK_LEGACY_PARSEFILES=/tmp/parsefiles.py npm run bench   # also time the legacy script
//   BENCH_SAMPLES=7 npm run bench                               # more samples (default 5)
//   BENCH_COLD=0 BENCH_BUILDABLE=0 BENCH_BUILDERS=0 npm run bench   # skip the long engine sections

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILDABLE_BASE, generateBuildable } from './gen-buildable.mjs';
import { generateRepo } from './gen-repo.mjs';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => pathToFileURL(join(root, 'dist', path)).href;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const TARGET_MS = 1000;
/** The generated checkout that is built for real (scripts/gen-buildable.mjs): ~2,700 files, ~25 MB. */
const BUILDABLE = { services: 20, roles: 600, payloadMb: 24 };

// --probe <repo> <changes file>: one cold in-process run of affected + plan, phase by phase.
if (process.argv[2] === '--probe') {
  const [repo, changesFile] = process.argv.slice(3);
  const t0 = performance.now();
  const { loadConfig } = await import(dist('config/config.js'));
  const { loadCheckout, planOptions } = await import(dist('cli/session.js'));
  const { ansibleSetup, computeAffected } = await import(dist('cli/selection.js'));
  const { parsePathList } = await import(dist('discover/git.js'));
  const { planBuild } = await import(dist('plan/plan.js'));
  const { readFileSync } = await import('node:fs');
  const t1 = performance.now();
  const config = loadConfig({ root: repo }, { HOME: tmpdir() }, repo);
  const checkout = await loadCheckout(config);
  const t2 = performance.now();
  const changes = parsePathList(readFileSync(changesFile, 'utf8'));
  const affected = computeAffected({ config, checkout }, ansibleSetup(config), changes, false);
  const t3 = performance.now();
  const plan = affected.services.length > 0 ? planBuild(checkout, 'test', affected.services, planOptions(config)) : { steps: [] };
  const t4 = performance.now();
  console.log(JSON.stringify({ load: t1 - t0, checkout: t2 - t1, affected: t3 - t2, plan: t4 - t3, services: affected.services.length, steps: plan.steps.length }));
  process.exit(0);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const ms = (value) => `${Math.round(value)} ms`;

/** Runs a command `SAMPLES` times; the median wall time and the last output. */
function timeCommand(command, args, options = {}, samples = SAMPLES) {
  const times = [];
  let last;
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    last = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
    times.push(performance.now() - started);
    if (last.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(last.stderr || last.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  return { ms: median(times), stdout: last.stdout, stderr: last.stderr };
}

function probe(context, changes) {
  const runs = [];
  for (let i = 0; i < SAMPLES; i++) {
    const result = spawnSync(process.execPath, [import.meta.filename, '--probe', context.repo, changes.file], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`probe failed: ${result.stderr}`);
    runs.push(JSON.parse(result.stdout));
  }
  const pick = (key) => median(runs.map((run) => run[key]));
  return { checkout: pick('checkout'), affected: pick('affected'), plan: pick('plan'), load: pick('load'), services: runs[0].services, steps: runs[0].steps };
}

const sections = [
  {
    name: 'affected + plan, in process (median of cold runs)',
    run(context) {
      return context.changeSets.map((changes) => {
        const r = probe(context, changes);
        const total = r.checkout + r.affected + r.plan;
        context.figures[changes.name] = total;
        return (
          `${changes.name}: ${ms(total)} ${total < TARGET_MS ? '(under' : '(OVER'} the ${TARGET_MS} ms target) for ${r.services} affected services, ${r.steps} plan steps\n` +
          `    read and model the checkout ${ms(r.checkout)}, roles + plays + affected ${ms(r.affected)}, plan ${ms(r.plan)}; module loading ${ms(r.load)} more`
        );
      });
    },
  },
  {
    name: 'dockmk affected, end to end (a whole CLI process)',
    run(context) {
      return context.changeSets.map((changes) => {
        const result = timeCommand(process.execPath, [join(root, 'bin', 'dockmk.js'), 'affected', '--files', changes.file, '--root', context.repo], { env: { ...process.env, DOCKMK_STATE_DIR: context.state } });
        context.cli[changes.name] = result.ms;
        return `${changes.name}: ${ms(result.ms)}, ${result.stdout.trim().split('\n').filter(Boolean).length} services`;
      });
    },
  },
  {
    name: 'legacy util/parsefiles.py on the same checkout and changes',
    run(context) {
      const script = process.env.DOCKMK_LEGACY_PARSEFILES;
      const skip = (why) => [`NOT MEASURED: ${why}`];
      if (!script) return skip('set DOCKMK_LEGACY_PARSEFILES to a copy of the legacy util/parsefiles.py (and install python3-networkx python3-yaml)');
      const python = spawnSync('python3', ['-c', 'import networkx, yaml, six'], { encoding: 'utf8' });
      if (python.error) return skip('python3 is not installed');
      if (python.status !== 0) return skip(`python3 lacks a module the script imports (networkx, yaml, six): ${python.stderr.trim().split('\n').at(-1)}`);
      const env = { ...process.env, TRAVIS_BUILD_DIR: context.repo };
      const lines = [];
      if (spawnSync('python3', ['-c', 'import pathlib2']).status !== 0) {
        // pathlib2 is a backport of pathlib that Debian does not package: stand in with pathlib.
        const shim = mkdtempSync(join(tmpdir(), 'dockmk-bench-pathlib2-'));
        writeFileSync(join(shim, 'pathlib2.py'), 'from pathlib import *  # stand-in for the pathlib2 backport\n');
        env.PYTHONPATH = [shim, process.env.PYTHONPATH].filter(Boolean).join(':');
        lines.push('(pathlib2 is not installed: the standard pathlib stands in for it)');
      }
      for (const changes of context.changeSets) {
        const result = timeCommand('python3', [script], { env, input: changes.text }, Math.min(SAMPLES, 3));
        const ratio = result.ms / context.cli[changes.name];
        lines.push(`${changes.name}: ${ms(result.ms)}, ${result.stdout.trim().split(/\s+/).filter(Boolean).length} images; dockmk affected is ${ratio.toFixed(1)}× ${ratio >= 1 ? 'faster' : 'slower'}`);
      }
      return lines;
    },
  },
];

// Sections on the real engine, on this repository's own example services and on a generated
// checkout that builds here. They run when an engine answers (`npm run setup` starts one) and say
// so when none does.
const engineSections = [
  {
    name: 'no-op docker:test of every example service vs the legacy flow (a cached docker build per service, in dependency order)',
    run(context) {
      const dockmk = (args) => [join(root, 'bin', 'dockmk.js'), ...args, '--root', root];
      const env = { ...process.env, DOCKMK_STATE_DIR: context.examplesState };
      timeCommand(process.execPath, dockmk(['test', '--progress', 'plain']), { env }, 1); // warm-up: build what is missing
      const ours = timeCommand(process.execPath, dockmk(['test', '--json']), { env });
      const summary = JSON.parse(ours.stdout.trim().split('\n').at(-1));
      const services = legacyOrder(JSON.parse(timeCommand(process.execPath, dockmk(['list', '--json']), { env }, 1).stdout));
      const legacy = legacyFlow(root, services);
      try {
        const legacyMs = timeLegacy(legacy);
        return [
          `dockmk test (nothing to do): ${ms(ours.ms)} for ${services.length} services (${summary.upToDate.length} up to date, ${summary.built.length} built)`,
          `legacy flow, every layer cached: ${ms(legacyMs)}`,
          `dockmk is ${(legacyMs / ours.ms).toFixed(1)}× faster`,
        ];
      } finally {
        legacy.cleanup();
      }
    },
  },
  {
    name: `no-op docker:test vs the legacy flow on a generated buildable checkout (${BUILDABLE.services} services FROM ${BUILDABLE_BASE}, ${BUILDABLE.roles} roles, ${BUILDABLE.payloadMb} MB of role files)`,
    run(context) {
      if (process.env.BENCH_BUILDABLE === '0') return ['NOT MEASURED: BENCH_BUILDABLE=0'];
      const repo = join(context.work, 'buildable');
      const made = generateBuildable(repo, BUILDABLE);
      const size = checkoutSize(repo);
      const env = { ...process.env, DOCKMK_STATE_DIR: join(context.work, 'buildable-state') };
      const dockmk = (args) => [join(root, 'bin', 'dockmk.js'), ...args, '--root', repo];
      const legacy = legacyFlow(repo, made.services);
      try {
        // Untimed: build every image once, dockmk's and the legacy flow's (they share no layer).
        const cold = timeCommand(process.execPath, dockmk(['test', '--jobs', '2', '--progress', 'plain']), { env }, 1);
        const ours = timeCommand(process.execPath, dockmk(['test', '--json']), { env });
        const summary = JSON.parse(ours.stdout.trim().split('\n').at(-1));
        const legacyMs = timeLegacy(legacy);
        return [
          `checkout: ${size.files} files, ${(size.bytes / 2 ** 20).toFixed(1)} MB, the context of every build (no .dockerignore); first build of all (dockmk, --jobs 2, untimed): ${(cold.ms / 1000).toFixed(0)} s`,
          `dockmk test (nothing to do): ${ms(ours.ms)} for ${made.services.length} services (${summary.upToDate.length} up to date, ${summary.built.length} built)`,
          `legacy flow, every layer cached (${made.services.length} docker build, each sending the checkout): ${(legacyMs / 1000).toFixed(1)} s`,
          `dockmk takes ${((100 * ours.ms) / legacyMs).toFixed(1)}% of the legacy time: ${(legacyMs / ours.ms).toFixed(1)}× faster`,
        ];
      } finally {
        legacy.cleanup();
        spawnSync('docker', ['rmi', ...made.services.map((service) => `${service.name}:test`)], { encoding: 'utf8' });
      }
    },
  },
  {
    name: 'cold docker:test of every example service with --jobs 2 --no-cache vs the critical-path bound',
    run(context) {
      if (process.env.BENCH_COLD === '0') return ['NOT MEASURED: BENCH_COLD=0'];
      const env = { ...process.env, DOCKMK_STATE_DIR: context.examplesState };
      const run = timeCommand(process.execPath, [join(root, 'bin', 'dockmk.js'), 'test', '--no-cache', '--jobs', '2', '--json', '--root', root], { env }, 1);
      const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
      const took = new Map(events.filter((e) => e.event === 'step-end' && e.step.startsWith('build ')).map((e) => [e.step.slice(6), e.durationMs]));
      const services = JSON.parse(spawnSync(process.execPath, [join(root, 'bin', 'dockmk.js'), 'list', '--json', '--root', root], { encoding: 'utf8' }).stdout);
      const parents = new Map(services.map((service) => [service.name, service.parents]));
      const finish = new Map();
      const chain = (name) => {
        if (!finish.has(name)) finish.set(name, (took.get(name) ?? 0) + Math.max(0, ...(parents.get(name) ?? []).map(chain)));
        return finish.get(name);
      };
      const bound = Math.max(...services.map((service) => chain(service.name)));
      const serial = [...took.values()].reduce((a, b) => a + b, 0);
      return [
        `wall time ${ms(run.ms)} (the builds alone: ${ms(serial)} one after another)`,
        `critical path (longest FROM chain of build durations, what unlimited parallelism could reach): ${ms(bound)}`,
        `wall / bound = ${(run.ms / bound).toFixed(2)} (1.00 is the best possible)`,
      ];
    },
  },
  { name: 'cold docker:test of every example service, --jobs 2 --no-cache, classic builder vs BuildKit', run: builderComparison },
];

/**
 * Cold docker:test of the examples (--no-cache --force) on the classic builder and on BuildKit, one
 * after the other in one run, with the build time of each service. BENCH_BUILDERS=0 skips it.
 */
function builderComparison(context) {
  if (process.env.BENCH_BUILDERS === '0') return ['NOT MEASURED: BENCH_BUILDERS=0'];
  const env = { ...process.env, DOCKMK_STATE_DIR: context.examplesState };
  const runs = ['classic', 'buildkit'].map((builder) => {
    const args = [join(root, 'bin', 'dockmk.js'), 'test', '--no-cache', '--force', '--jobs', '2', '--builder', builder, '--json', '--root', root];
    const run = timeCommand(process.execPath, args, { env }, 1);
    const ends = run.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((e) => e.event === 'step-end' && e.step.startsWith('build '));
    return { builder, ms: run.ms, builds: new Map(ends.map((e) => [e.step.slice(6), e.durationMs])) };
  });
  const [classic, buildkit] = runs;
  const services = [...classic.builds.keys()];
  return [
    `wall time: classic ${ms(classic.ms)}, BuildKit ${ms(buildkit.ms)} (BuildKit/classic = ${(buildkit.ms / classic.ms).toFixed(2)})`,
    ...services.map((service) => `${service}: classic ${ms(classic.builds.get(service) ?? 0)}, BuildKit ${ms(buildkit.builds.get(service) ?? 0)}`),
  ];
}

/** Services in the order the legacy Makefile's recursion builds them: parents first. */
function legacyOrder(services) {
  const byName = new Map(services.map((service) => [service.name, service]));
  const done = new Set();
  const order = [];
  const visit = (service) => {
    if (done.has(service.name)) return;
    done.add(service.name);
    for (const parent of service.parents) visit(byName.get(parent));
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
function legacyFlow(checkout, services) {
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
    spawnSync('docker', ['rmi', ...services.map((service) => `${service.name}:legacytest`)], { encoding: 'utf8' });
  };
  return { pass, cleanup };
}

/** One untimed pass (it fills the cache, as a contributor's second make run finds it), then the median of up to 3. */
function timeLegacy(flow) {
  flow.pass();
  const times = [];
  for (let i = 0; i < Math.min(SAMPLES, 3); i++) {
    const started = performance.now();
    flow.pass();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Files and bytes under `dir` (what a build without .dockerignore sends). */
function checkoutSize(dir) {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return { files, bytes };
}

function engineAnswers() {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' });
}

/** The changes a benchmark feeds: a typical pull request, and a change to the role everything uses. */
function changeSets(made, dir) {
  const roles = made.roles;
  const byLayer = (layer) => roles.filter((role) => role.layer === layer);
  const pick = (list, i) => list[(i * 7919) % list.length].name;
  const services = made.services.filter((s) => s.parent !== null);
  const copier = made.services.find((s) => s.copies);
  const typical = [
    `playbooks/roles/${pick(byLayer(3), 1)}/tasks/main.yml`,
    `playbooks/roles/${pick(byLayer(3), 2)}/defaults/main.yml`,
    `playbooks/roles/${pick(byLayer(2), 3)}/tasks/main.yml`,
    `playbooks/roles/${pick(byLayer(2), 4)}/meta/main.yml`,
    `playbooks/roles/${pick(byLayer(1), 5)}/tasks/main.yml`,
    `docker/plays/${services[10].play ?? services[10].name}.yml`,
    `docker/build/${services[20].name}/Dockerfile`,
    `docker/build/${services[30].name}/ansible_overrides.yml`,
    copier ? `docker/build/${copier.name}/files/${copier.name}.conf` : 'README.md',
    'playbooks/site-100.yml',
    'README.md',
  ];
  const worst = ['playbooks/roles/common/tasks/main.yml'];
  return [
    { name: `typical change (${typical.length} files)`, paths: typical },
    { name: 'role common changed (every service)', paths: worst },
  ].map((set, i) => {
    const text = `${set.paths.join('\n')}\n`;
    const file = join(dir, `changes-${i}.txt`);
    writeFileSync(file, text);
    return { ...set, text, file };
  });
}

const work = mkdtempSync(join(tmpdir(), 'dockmk-bench-'));
try {
  const repo = join(work, 'repo');
  const started = performance.now();
  const made = generateRepo(repo, { services: 2000, roles: 5000 });
  const cpu = cpus();
  console.log(`machine: ${cpu.length} CPUs (nproc ${availableParallelism()}), ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`);
  console.log(`checkout: ${made.services.length} services, ${made.roles.length} roles, generated in ${ms(performance.now() - started)} (seed 1); ${SAMPLES} samples per figure\n`);
  const context = { repo, state: join(work, 'state'), changeSets: changeSets(made, work), figures: {}, cli: {} };
  for (const section of sections) {
    console.log(`== ${section.name}`);
    try {
      for (const line of section.run(context)) console.log(`  ${line}`);
    } catch (error) {
      console.log(`  FAILED: ${error.message}`);
      process.exitCode = 1;
    }
    console.log('');
  }
  const engine = engineAnswers();
  if (engine.status !== 0) {
    console.log('== engine sections: NOT MEASURED, no engine answers (npm run setup starts one)');
  } else {
    console.log(`engine: Docker ${engine.stdout.trim()}; builds on dockmk's default builder (auto) unless a section says\n`);
    const state = join(work, 'examples-state');
    for (const section of engineSections) {
      console.log(`== ${section.name}`);
      try {
        for (const line of section.run({ examplesState: state, work })) console.log(`  ${line}`);
      } catch (error) {
        console.log(`  FAILED: ${error.message}`);
        process.exitCode = 1;
      }
      console.log('');
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
