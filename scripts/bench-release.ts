// The release bench (scripts/bench.mjs runs it: node --import tsx scripts/bench-release.ts): a
// second CI run of every example service, nothing changed, on a fresh engine (a dockerd of its
// own with an empty data root, as a new GitHub runner has), against the flow of before the
// build key: every image built again from nothing and pushed. Both in one run, against one
// registry with auth of the bench's own; names `benchrel-…`, so the shared engine's example
// tags are left alone. Prints one line per figure; a failure exits 1 with the reason.
//
// The fresh engine has no route out (no NAT: it leaves the shared daemon's networking alone),
// so the builds that need Debian's mirror run on the shared engine with --no-cache: the cost a
// fresh runner pays to build, without its base pull (in the old flow's favour).

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dockerConfig } from '../test/it/helpers.js';
import { startRegistry } from '../test/it/registry.js';
import { loadBaseImage, startSecondEngine } from '../test/it/second-engine.js';

const root = resolve(import.meta.dirname, '..');
const PREFIX = 'benchrel-';

interface Summary {
  built: string[];
  reused: string[];
  upToDate: string[];
}

function run(label: string, args: string[], env: Record<string, string>): { seconds: number; summary: Summary } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [join(root, 'bin', 'dockmk.js'), ...args, '--json'], { encoding: 'utf8', maxBuffer: 256 << 20, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env } });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${label}: dockmk ${args.join(' ')} exited ${result.status}: ${(result.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
  return { seconds, summary: JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Summary };
}

/** The examples in a git checkout of their own, under benchrel- names (a release needs a commit). */
function examples(dir: string): string[] {
  for (const path of ['docker', 'playbooks', '.dockerignore']) cpSync(join(root, path), join(dir, path), { recursive: true, verbatimSymlinks: true });
  const build = join(dir, 'docker', 'build');
  const names = readdirSync(build);
  for (const name of names) renameSync(join(build, name), join(build, `${PREFIX}${name}`));
  for (const name of names) {
    const file = join(build, `${PREFIX}${name}`, 'Dockerfile');
    let text = readFileSync(file, 'utf8');
    for (const other of names) text = text.replaceAll(`edxops/${other}:`, `edxops/${PREFIX}${other}:`).replaceAll(`docker/build/${other}/`, `docker/build/${PREFIX}${other}/`);
    writeFileSync(file, text);
  }
  const git = (...args: string[]) => spawnSync('git', ['-C', dir, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'the examples');
  return names.map((name) => `${PREFIX}${name}`);
}

const work = mkdtempSync(join(tmpdir(), 'dockmk-bench-release-'));
const registry = await startRegistry();
const engine = await startSecondEngine('br', 219);
try {
  const repo = join(work, 'repo');
  const services = examples(repo);
  const config = dockerConfig(registry.address, registry.username, registry.password);
  const push = (...more: string[]) => ['push', ...services, '--root', repo, '--registry', registry.address, '--namespace', 'benchrel', '--stage', ...more];
  const env = (state: string, host?: string): Record<string, string> => ({ DOCKER_CONFIG: config, DOCKMK_STATE_DIR: join(work, state), ...(host ? { DOCKER_HOST: host } : {}) });

  // The first CI run: every image built and staged (untimed: it fills the registry).
  run('first run', push(), env('first'));
  // The second, on a runner that has nothing: its base image, as the runner's pull would bring it.
  await loadBaseImage(engine);
  const second = run('second run', push(), env('second', engine.address));
  // The flow of before: nothing to ask the registry for, so every image is built again.
  const again = run('rebuild', push('--no-cache', '--force'), env('rebuild'));

  const count = (summary: Summary) => `${summary.built.length} built, ${summary.reused.length} reused`;
  console.log(`${services.length} example services, staged to a registry of the bench's own (127.0.0.1, htpasswd), nothing changed since the first run`);
  console.log(`second CI run on a fresh engine (empty data root): ${second.seconds.toFixed(1)} s (${count(second.summary)})`);
  console.log(`the flow of before (every image built again, --no-cache --force, and pushed): ${again.seconds.toFixed(1)} s (${count(again.summary)})`);
  console.log(`the second run takes ${((100 * second.seconds) / again.seconds).toFixed(1)}% of it: ${(again.seconds / second.seconds).toFixed(1)}× faster`);
  if (second.summary.built.length > 0) throw new Error(`the second run built ${second.summary.built.join(', ')}: its keys did not match the first run's`);
} catch (error) {
  console.log(`FAILED: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await engine.stop();
  await registry.dispose();
  // Every tag the runs left on the shared engine: <svc>:latest and the registry's refs.
  const listed = spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).stdout.split('\n');
  const ours = listed.filter((ref) => ref.includes(PREFIX));
  if (ours.length > 0) spawnSync('docker', ['rmi', ...ours], { encoding: 'utf8' });
  rmSync(work, { recursive: true, force: true });
}
