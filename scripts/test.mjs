#!/usr/bin/env node
// npm test: type-checks the tests, runs the unit tests, then the integration tests (test/it/)
// on the real engine and registry whenever they answer. A skip is said loudly, and under
// CI=true a skip is a failure. The last line counts what passed.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';

const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const uvu = join(root, 'node_modules', 'uvu', 'bin.js');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const only = process.argv[2]; // optional: "unit" or "it"

function run(command, args, { capture = false } = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), output }));
  });
}

function counts(output) {
  const number = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
  return { total: number('Total'), passed: number('Passed'), skipped: number('Skipped') };
}

const suites = (dir, ...ignore) => ['--import', 'tsx', uvu, dir, '\\.test\\.ts$', '--no-color', ...ignore.flatMap((i) => ['-i', i])];

const typecheck = await run(process.execPath, [tsc, '-p', 'test/tsconfig.json']);
if (typecheck.code !== 0) {
  console.error('tests: type errors in test/ (see above)');
  process.exit(typecheck.code);
}

let unit = { total: 0, passed: 0, skipped: 0 };
let failed = false;
// The repository's own services must follow the conventions `dockmk lint` checks.
const lint = await run(process.execPath, [join(root, 'bin', 'dockmk.js'), 'lint']);
if (lint.code !== 0) {
  console.error('tests: `dockmk lint` found errors in the example services (see above)');
  failed = true;
}
if (only !== 'it') {
  const result = await run(process.execPath, suites('test', '^it/', '^fixtures/'), { capture: true });
  unit = counts(result.output);
  failed ||= result.code !== 0;
}

let integration = null;
let skipReason = null;
if (only !== 'unit') {
  skipReason = await integrationBlocker();
  if (skipReason === null) {
    const result = await run(process.execPath, suites('test/it'), { capture: true });
    integration = counts(result.output);
    failed ||= result.code !== 0;
  } else {
    const banner = '!'.repeat(78);
    console.error(`\n${banner}\n!! INTEGRATION TESTS SKIPPED: ${skipReason}\n!! They need a Docker engine and the test registry: run \`npm run setup\` (as root) first.\n${banner}\n`);
    if (ci) {
      console.error('tests: CI=true and the integration tests could not run: that is a failure');
      failed = true;
    }
  }
}

const parts = [];
if (only !== 'it') parts.push(`unit ${unit.passed}/${unit.total} passed`);
if (integration) parts.push(`integration ${integration.passed}/${integration.total} passed`);
else if (only !== 'unit') parts.push(`integration SKIPPED (${skipReason})`);
console.log(`tests: ${failed ? 'FAILED' : 'ok'}: ${parts.join(', ')}`);
process.exit(failed ? 1 : 0);

async function integrationBlocker() {
  const address = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const docker = new Docker(process.env.DOCKER_HOST ? undefined : { socketPath: '/var/run/docker.sock' });
  const answers = await docker.ping().then(() => true, () => false);
  if (!answers) return `no Docker engine answers at ${address}`;
  if (!existsSync(join(root, '.dockmk', 'setup', 'registry.json'))) return 'the test registry was never set up (.dockmk/setup/registry.json is missing)';
  const { address: registry } = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(root, '.dockmk', 'setup', 'registry.json'), 'utf8')));
  const up = await fetch(`http://${registry}/v2/`).then((response) => response.status === 401 || response.ok, () => false);
  if (!up) return `the test registry at ${registry} does not answer`;
  return null;
}
