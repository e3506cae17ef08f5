#!/usr/bin/env node
// npm run bench: generates a checkout of 2,000 services and 5,000 roles (scripts/gen-repo.mjs)
// into a temporary directory and times dockmk on it, each sample in a fresh Node process (a CLI
// run is always cold). Prints the machine it ran on. A benchmark, not a test: it fails nothing.
//
// Sections are a list of { name, run(context) → lines }: add one to measure something else on
// the same generated checkout.
//
//   DOCKMK_LEGACY_PARSEFILES=/tmp/parsefiles.py npm run bench   # also time the legacy script
//   BENCH_SAMPLES=7 npm run bench                               # more samples (default 5)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateRepo } from './gen-repo.mjs';

const root = resolve(import.meta.dirname, '..');
const dist = (path) => pathToFileURL(join(root, 'dist', path)).href;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const TARGET_MS = 1000;

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
  console.log(`machine: ${cpu.length} cores, ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`);
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
} finally {
  rmSync(work, { recursive: true, force: true });
}
