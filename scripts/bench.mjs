#!/usr/bin/env node
// npm run bench: times dockmk, each sample a fresh process (a CLI run is always cold), side by
// side with its peers in the same run: the legacy util/parsefiles.py, `node -e 0`, and with
// BENCH_BASELINE another build of dockmk. A benchmark, not a test: it fails nothing. It prints
// the machine it ran on; docs/benchmarks.md says how to read it.
//
// - Start-up: what loading each module costs (the bundle's chunks and the packages they hold).
// - A generated checkout of 2,000 services and 5,000 roles (scripts/gen-repo.mjs), cold (no
//   .dockmk state) and warm (the state the same command left): the dry-run plan of every
//   service, `affected` for a typical change and for a change to role `common`, parsefiles.py.
// - When an engine answers: a no-op `docker:test` of the examples against `node -e 0`, and of a
//   generated checkout of tiny Dockerfiles (BENCH_NOOP_SERVICES, default 300, built once
//   untimed); the legacy flow on a checkout that builds (scripts/gen-buildable.mjs); a cold build
//   of the examples against its critical path. Every image it builds is named `benchnoop-…` or
//   `bench-…` (the engine is shared) and removed at the end.
//
//   BENCH_SAMPLES=7                     samples per figure (default 5; 3 for a figure over 10 s)
//   BENCH_BASELINE=/path/to/dockmk      also time that checkout's bin/dockmk.js (built), e.g. a
//                                       worktree of main, on the same checkouts
//   DOCKMK_LEGACY_REPO=/git/dir         where util/parsefiles.py is taken from (default
//                                       /work/.mirror/openedx+configuration/repo); or
//   DOCKMK_LEGACY_PARSEFILES=/x.py      the script itself
//   BENCH_NOOP_SERVICES=300 BENCH_LARGE=0 BENCH_BUILDABLE=0 BENCH_COLD=0 BENCH_BUILDERS=0 BENCH_RELEASE=0 BENCH_ENGINE=0
//                                       sizes and skips
//   BENCH_SERVICES=200 BENCH_ROLES=500   a smaller generated checkout, to try the bench quickly
//   BENCH_KEEP_NOOP=1                    keep the benchnoop- images of the tiny checkout, so that
//                                       the next run finds them up to date (BENCH_NOOP_SERVICES=2000
//                                       builds ~50 min the first time, seconds after)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILDABLE_BASE, generateBuildable } from './gen-buildable.mjs';
import { generateRepo } from './gen-repo.mjs';
import { largeCheckout } from './bench-large.mjs';
import { checkoutSize, legacyFlow, legacyOrder, ms, prefixedExamples, ratio, removeImages, SAMPLES, sideBySide, timeLegacy, timeOnce } from './bench-lib.mjs';

const root = resolve(import.meta.dirname, '..');
const BIN = join(root, 'bin', 'dockmk.js');
const BASELINE = process.env.BENCH_BASELINE ? join(resolve(process.env.BENCH_BASELINE), 'bin', 'dockmk.js') : null;
const NOOP_SERVICES = Number(process.env.BENCH_NOOP_SERVICES ?? 300);
const BUILDABLE = { services: 20, roles: 600, payloadMb: 24 };
/** Images this run tagged, removed at the end. */
const tagged = [];

const dockmk = (label, bin, args, env, extra = {}) => ({ label, command: process.execPath, args: [bin, ...args], options: { env: { ...process.env, ...env } }, ...extra });
const fresh = (dir) => () => rmSync(dir, { recursive: true, force: true });
const builds = BASELINE ? [['dockmk', BIN], ['baseline', BASELINE]] : [['dockmk', BIN]];

/** node -e 0, then each package dockmk loads, imported alone; then the bundle, chunk by chunk. */
function startUp() {
  const node = (code, args = []) => ({ label: code, command: process.execPath, args: [...args, '--input-type=module', '-e', code], options: { cwd: root } });
  const timed = (body) => `const t = performance.now(); ${body}; process.stdout.write(String(performance.now() - t));`;
  const lines = [];
  const floor = sideBySide([node('0'), dockmk('dockmk --version', BIN, ['--version'], {})]);
  lines.push(`node -e 0: ${ms(floor['0'].ms)}; dockmk --version (yargs and the entry chunk loaded, no command): ${ms(floor['dockmk --version'].ms)}`);
  // In-process times of several snippets, each in fresh processes, taking turns.
  const inTurns = (...codes) => {
    const values = codes.map(() => []);
    for (let i = 0; i < SAMPLES; i++) codes.forEach((code, k) => values[k].push(Number(timeOnce(node(code)).stdout)));
    return values.map((list) => list.sort((a, b) => a - b)[Math.floor((SAMPLES - 1) / 2)]);
  };
  const inProcess = (code) => inTurns(code)[0];
  const packages = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies);
  lines.push(`each package imported alone from node_modules (what it would cost unbundled): ${packages.map((name) => `${name} ${ms(inProcess(timed(`await import('${name}')`)))}`).join(', ')}`);
  const meta = JSON.parse(readFileSync(join(root, 'dist', 'bundle.json'), 'utf8'));
  const main = pathToFileURL(join(root, 'dist', 'main.js')).href;
  const buildChunk = pathToFileURL(join(root, Object.entries(meta.outputs).find(([, output]) => output.entryPoint === 'src/cli/build.ts')[0])).href;
  const loadBuild = `await import('${main}'); await import('${buildChunk}')`;
  const [entry, plain, mapped] = inTurns(timed(`await import('${main}')`), timed(loadBuild), `process.setSourceMapsEnabled(true); ${timed(loadBuild)}`);
  lines.push(`the bundle's entry (dist/main.js: yargs, cliui unevaluated, the command table): ${ms(entry)}; with the chunks of build/test: ${ms(plain)}, and with Node's source maps on: ${ms(mapped)} (${mapped >= plain ? '+' : ''}${ms(mapped - plain)}: dockmk maps a stack itself when it prints one)`);
  const commands = Object.entries(meta.outputs).filter(([, output]) => /^src\/cli\/[a-z]+\.ts$/.test(output.entryPoint ?? '') && output.entryPoint !== 'src/cli/main.ts');
  const loadedBy = (file, seen = new Set()) => {
    if (seen.has(file)) return seen;
    seen.add(file);
    for (const next of meta.outputs[file]?.imports ?? []) if (next.kind === 'import-statement' && meta.outputs[next.path]) loadedBy(next.path, seen);
    return seen;
  };
  const atStart = loadedBy('dist/main.js');
  const costs = commands.map(([file, output]) => {
    const chunk = pathToFileURL(join(root, file)).href;
    const total = inProcess(`await import('${main}'); ${timed(`await import('${chunk}')`)}`);
    const files = [...loadedBy(file)].filter((path) => !atStart.has(path));
    const bytes = new Map();
    for (const path of files) {
      for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[path].inputs)) {
        const name = input.startsWith('node_modules/') ? input.slice(13).split('/').slice(0, input.slice(13).startsWith('@') ? 2 : 1).join('/') : 'dockmk';
        bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
      }
    }
    const top = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, size]) => `${name} ${Math.round(size / 1024)} kB`);
    return `${output.entryPoint.slice(8, -3)} +${ms(total)} (${top.join(', ')})`;
  });
  lines.push(`then each command's chunks, beyond the entry's (the largest parts of them): ${costs.join('; ')}`);
  // Loaded only for a declared layout (discover/layout.ts): globby when services: has patterns,
  // @cdktn/hcl2json (from node_modules, WebAssembly) for an HCL bake file. In-process, then the
  // whole `dockmk list` of the images-layout fixture each way (a process, exit included).
  const globbyChunk = Object.entries(meta.outputs).find(([, output]) => Object.keys(output.inputs).some((input) => input.startsWith('node_modules/globby/')))?.[0];
  const hcl = `const { parse } = await import('@cdktn/hcl2json'); await parse('docker-bake.hcl', 'target "base" {\\n  context = "./base"\\n}\\n')`;
  const [globbyMs, hclMs] = inTurns(timed(`await import('${pathToFileURL(join(root, globbyChunk)).href}')`), timed(hcl));
  lines.push(`declared layouts only: globby's chunk (services: with patterns) ${ms(globbyMs)}; @cdktn/hcl2json imported and a one-target bake file parsed (its WebAssembly started) ${ms(hclMs)}`);
  // What the first YAML parse of a run costs (src/model/yaml-lib.ts): dist/yaml.cjs required.
  const yamlBundle = join(root, 'dist', 'yaml.cjs');
  const [yamlMs] = inTurns(timed(`const { createRequire } = await import('node:module'); createRequire(import.meta.url)(${JSON.stringify(yamlBundle)})`));
  lines.push(`yaml and js-yaml (dist/yaml.cjs), required on a run's first YAML parse, not by a run its caches answer: ${ms(yamlMs)}`);
  const layout = join(root, 'test', 'fixtures', 'images-layout');
  const state = { DOCKMK_STATE_DIR: mkdtempSync(join(tmpdir(), 'dockmk-bench-layout-')) };
  const bake = (file) => ['list', '--root', layout, '--bake', join(layout, 'images', file)];
  const listed = sideBySide([
    dockmk('legacy', BIN, ['list', '--root', root], state),
    dockmk('services', BIN, ['list', '--root', layout], state),
    dockmk('hcl', BIN, bake('docker-bake.hcl'), state),
    dockmk('json', BIN, bake('docker-bake.json'), state),
  ]);
  lines.push(`dockmk list: the examples (legacy layout) ${ms(listed.legacy.ms)}; the images-layout fixture by dockmk.yml services: (globby) ${ms(listed.services.ms)}, by --bake docker-bake.hcl ${ms(listed.hcl.ms)}, by --bake docker-bake.json ${ms(listed.json.ms)}`);
  return lines;
}

/** The examples under benchnoop-ex- names: a no-op test against node -e 0 and the legacy flow. */
function examplesNoop(work) {
  const dir = join(work, 'examples');
  const names = prefixedExamples(root, dir, 'benchnoop-ex-');
  tagged.push(...names.flatMap((name) => [`${name}:test`, `${name}:legacytest`]));
  const env = (name) => ({ DOCKMK_STATE_DIR: join(work, `examples-state-${name}`) });
  const lines = [`${names.length} services (the examples, copied as ${names.join(', ')})`];
  for (const [name, bin] of builds) timeOnce(dockmk('warm-up', bin, ['test', '--progress', 'plain', '--root', dir], env(name))); // builds what is missing
  const runs = [{ label: 'node -e 0', command: process.execPath, args: ['-e', '0'], options: {} }, ...builds.map(([name, bin]) => dockmk(name, bin, ['test', '--json', '--root', dir], env(name)))];
  // A ratio of two short times: on a shared machine one sample of either can be off by a third,
  // so this figure takes three times the samples (still under a minute).
  const r = sideBySide(runs, SAMPLES * 3);
  const summary = JSON.parse(r.dockmk.stdout.trim().split('\n').at(-1));
  lines.push(`no-op dockmk test (${r.dockmk.samples} samples): ${ms(r.dockmk.ms)} (${summary.upToDate.length} up to date, ${summary.built.length} built), node -e 0: ${ms(r['node -e 0'].ms)}: ${ratio(r.dockmk.ms, r['node -e 0'].ms)} (target ≤ 3×: ${r.dockmk.ms <= 3 * r['node -e 0'].ms ? 'met' : 'NOT met'})` +
    (BASELINE ? `; baseline ${ms(r.baseline.ms)}: ${ratio(r.baseline.ms, r['node -e 0'].ms)}` : ''));
  const services = legacyOrder(JSON.parse(timeOnce(dockmk('list', BIN, ['list', '--json', '--root', dir], env('dockmk'))).stdout));
  const flow = legacyFlow(dir, services);
  try {
    const legacyMs = timeLegacy(flow);
    lines.push(`legacy flow (a cached docker build per service, parents first): ${ms(legacyMs)}: dockmk ${ratio(legacyMs, r.dockmk.ms)} faster`);
  } finally {
    flow.cleanup();
  }
  return lines;
}

/** A generated checkout of tiny Dockerfiles, built once untimed: a real no-op of every service. */
function generatedNoop(work) {
  if (NOOP_SERVICES < 12) return ['NOT MEASURED: BENCH_NOOP_SERVICES below 12'];
  const repo = join(work, 'noop');
  const made = generateRepo(repo, { services: NOOP_SERVICES, roles: 600, playbooks: 50, prefix: 'benchnoop-', tiny: true });
  if (process.env.BENCH_KEEP_NOOP !== '1') tagged.push(...made.services.map((service) => `${service.name}:test`));
  const env = (name) => ({ DOCKMK_STATE_DIR: join(work, `noop-state-${name}`) });
  const built = builds.map(([name, bin]) => timeOnce(dockmk('build', bin, ['test', '--jobs', '2', '--progress', 'plain', '--root', repo], env(name))).took);
  const runs = builds.flatMap(([name, bin]) => [
    dockmk(`${name} no-op`, bin, ['test', '--json', '--root', repo], env(name)),
    dockmk(`${name} dry-run`, bin, ['test', '--dry-run', '--json', '--root', repo], env(name)),
  ]);
  const r = sideBySide(runs);
  const summary = JSON.parse(r['dockmk no-op'].stdout.trim().split('\n').at(-1));
  return [
    `${made.services.length} services benchnoop-… (scripts/gen-repo.mjs --tiny: FROM debian:bookworm or their parent, a LABEL, a COPY; a .dockerignore keeps the context to docker/build), 600 roles; first build (--jobs 2, untimed): ${ms(built[0])}`,
    // Both are answered by the plan memo: the no-op's plan is the one its first (untimed) run kept.
    ...builds.map(([name]) => `${name}: no-op test ${ms(r[`${name} no-op`].ms)} (${name === 'dockmk' ? `${summary.upToDate.length} up to date, ${summary.built.length} built; ` : ''}${(r[`${name} no-op`].ms / made.services.length).toFixed(1)} ms a service), its dry run ${ms(r[`${name} dry-run`].ms)} (from the plan memo)`),
    made.services.length >= 2000
      ? `target (2,000 up to date in < 3 s): ${r['dockmk no-op'].ms < 3000 ? 'met' : 'NOT met'}`
      : `target (2,000 up to date in < 3 s): not measured at ${made.services.length} (BENCH_NOOP_SERVICES=2000 BENCH_KEEP_NOOP=1 measures it)`,
  ];
}

function buildable(work) {
  if (process.env.BENCH_BUILDABLE === '0') return ['NOT MEASURED: BENCH_BUILDABLE=0'];
  const repo = join(work, 'buildable');
  const made = generateBuildable(repo, BUILDABLE);
  tagged.push(...made.services.map((service) => `${service.name}:test`));
  const size = checkoutSize(repo);
  const env = { DOCKMK_STATE_DIR: join(work, 'buildable-state') };
  const flow = legacyFlow(repo, made.services);
  try {
    const cold = timeOnce(dockmk('build', BIN, ['test', '--jobs', '2', '--progress', 'plain', '--root', repo], env));
    const ours = sideBySide([dockmk('dockmk', BIN, ['test', '--json', '--root', repo], env)]).dockmk;
    const summary = JSON.parse(ours.stdout.trim().split('\n').at(-1));
    const legacyMs = timeLegacy(flow);
    return [
      `${size.files} files, ${(size.bytes / 2 ** 20).toFixed(1)} MB, the context of every build (no .dockerignore); first build of all (--jobs 2, untimed): ${ms(cold.took)}`,
      `no-op dockmk test: ${ms(ours.ms)} for ${made.services.length} services (${summary.upToDate.length} up to date); legacy flow, every layer cached: ${ms(legacyMs)}: dockmk ${ratio(legacyMs, ours.ms)} faster`,
    ];
  } finally {
    flow.cleanup();
  }
}

function coldExamples(work) {
  if (process.env.BENCH_COLD === '0') return ['NOT MEASURED: BENCH_COLD=0'];
  const dir = join(work, 'examples');
  const env = { DOCKMK_STATE_DIR: join(work, 'examples-cold-state') };
  const run = timeOnce(dockmk('cold', BIN, ['test', '--no-cache', '--jobs', '2', '--json', '--root', dir], env));
  const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const took = new Map(events.filter((e) => e.event === 'step-end' && e.step.startsWith('build ')).map((e) => [e.step.slice(6), e.durationMs]));
  const services = JSON.parse(timeOnce(dockmk('list', BIN, ['list', '--json', '--root', dir], env)).stdout);
  const parents = new Map(services.map((service) => [service.name, service.parents]));
  const finish = new Map();
  const chain = (name) => {
    if (!finish.has(name)) finish.set(name, (took.get(name) ?? 0) + Math.max(0, ...(parents.get(name) ?? []).map(chain)));
    return finish.get(name);
  };
  const bound = Math.max(...services.map((service) => chain(service.name)));
  const serial = [...took.values()].reduce((a, b) => a + b, 0);
  return [`wall ${ms(run.took)}, the builds one after another ${ms(serial)}, critical path ${ms(bound)}: wall / critical path ${(run.took / bound).toFixed(2)}`];
}

/**
 * A cold docker:test of the examples (--no-cache --force) on the classic builder and on BuildKit,
 * one after the other in one run, with the build time of each service.
 */
function builders(work) {
  if (process.env.BENCH_BUILDERS === '0') return ['NOT MEASURED: BENCH_BUILDERS=0'];
  const dir = join(work, 'examples');
  const env = { DOCKMK_STATE_DIR: join(work, 'examples-builders-state') };
  const runs = ['classic', 'buildkit'].map((builder) => {
    const run = timeOnce(dockmk(builder, BIN, ['test', '--no-cache', '--force', '--jobs', '2', '--builder', builder, '--json', '--root', dir], env));
    const ends = run.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((e) => e.event === 'step-end' && e.step.startsWith('build '));
    return { took: run.took, builds: new Map(ends.map((e) => [e.step.slice(6), e.durationMs])) };
  });
  const [classic, buildkit] = runs;
  return [
    `wall: classic ${ms(classic.took)}, BuildKit ${ms(buildkit.took)} (BuildKit / classic ${(buildkit.took / classic.took).toFixed(2)})`,
    ...[...classic.builds.keys()].map((service) => `${service}: classic ${ms(classic.builds.get(service) ?? 0)}, BuildKit ${ms(buildkit.builds.get(service) ?? 0)}`),
  ];
}

/** A second CI run of the examples on a fresh engine against rebuilding them all (scripts/bench-release.ts). */
function release() {
  if (process.env.BENCH_RELEASE === '0') return ['NOT MEASURED: BENCH_RELEASE=0'];
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench-release.ts')], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = result.stdout.trim().split('\n').filter(Boolean);
  if (result.status !== 0) throw new Error(lines.at(-1) ?? result.stderr.trim().split('\n').at(-1));
  return lines;
}

function section(name, run, work) {
  console.log(`== ${name}`);
  try {
    for (const line of run(work)) console.log(`  ${line}`);
  } catch (error) {
    console.log(`  FAILED: ${error.message}`);
    process.exitCode = 1;
  }
  console.log('');
}

const work = mkdtempSync(join(tmpdir(), 'dockmk-bench-'));
try {
  const cpu = cpus();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`machine: ${cpu.length} CPUs (nproc ${availableParallelism()}), ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}; load average ${load}`);
  console.log(`dockmk: ${spawnSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim() || root}${BASELINE ? `; baseline: ${BASELINE}` : ''}; ${SAMPLES} samples per figure (median)\n`);
  if (BASELINE && !existsSync(BASELINE)) throw new Error(`BENCH_BASELINE: no ${BASELINE}`);
  section('start-up', startUp, work);
  section('generated checkout (scripts/gen-repo.mjs, seed 1)', (dir) => largeCheckout(dir, { builds, dockmk, fresh, baseline: BASELINE }), work);
  const engine = process.env.BENCH_ENGINE === '0' ? null : spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' });
  if (engine === null || engine.status !== 0) {
    console.log(`!!! engine sections NOT MEASURED: ${engine === null ? 'BENCH_ENGINE=0' : 'no engine answers (npm run setup starts one)'}`);
  } else {
    console.log(`engine: Docker ${engine.stdout.trim()}; builds on dockmk's default builder (auto: BuildKit here) unless a section says\n`);
    section('no-op docker:test of the example services', examplesNoop, work);
    section('real no-op docker:test of a generated checkout of tiny images', generatedNoop, work);
    section(`no-op docker:test vs the legacy flow on a checkout that builds (${BUILDABLE.services} services FROM ${BUILDABLE_BASE}, ${BUILDABLE.roles} roles, ${BUILDABLE.payloadMb} MB of role files)`, buildable, work);
    section('cold docker:test of the example services, --jobs 2 --no-cache, vs the critical path', coldExamples, work);
    section('cold docker:test of the example services, --jobs 2 --no-cache, classic builder vs BuildKit', builders, work);
    section('a second CI run of the examples on a fresh engine, nothing changed, vs building them all again', release, work);
  }
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
} finally {
  removeImages(tagged);
  rmSync(work, { recursive: true, force: true });
}
