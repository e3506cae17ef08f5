// The shipped GitHub Actions workflow: valid by a real validator (action-validator, GitHub's
// own schema), every job runs dockmk (no hand-written docker tag/push), and the release is one
// promotion after every wave. test/it/release.test.ts runs its jobs on real engines.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { REPO_ROOT, test } from './helpers.js';

const WORKFLOW = join(REPO_ROOT, '.github/workflows/images.yml');
const PLAN = join(REPO_ROOT, '.github/scripts/plan.sh');

interface Step {
  run?: string;
  uses?: string;
}
interface Job {
  needs?: string | string[];
  if?: string;
  steps: Step[];
}
const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { on: Record<string, unknown>; jobs: Record<string, Job> };

test('action-validator accepts the workflow', () => {
  const bin = join(REPO_ROOT, 'node_modules/@action-validator/cli/cli.mjs');
  const result = spawnSync(process.execPath, [bin, WORKFLOW], { encoding: 'utf8' });
  assert.is(result.status, 0, `action-validator: ${result.stdout}${result.stderr}`);
});

test('every command a job runs is dockmk (through the npm scripts), npm ci, or the plan script', () => {
  const allowed = [/^npm ci$/, /^npm run -s docker:(test|push|promote) -- /, /^bash \.github\/scripts\/plan\.sh$/];
  for (const [name, job] of Object.entries(workflow.jobs)) {
    for (const step of job.steps) {
      if (step.run === undefined) continue;
      const command = step.run.trim();
      assert.ok(allowed.some((pattern) => pattern.test(command)), `job ${name} runs "${command}"`);
      assert.not.match(command, /\bdocker (tag|push|build|buildx)\b/, `job ${name} tags or pushes by hand`);
    }
  }
  const plan = readFileSync(PLAN, 'utf8');
  assert.not.match(plan, /\bdocker (tag|push|build|buildx|pull)\b/);
  for (const line of plan.split('\n').filter((l) => /\bdockmk /.test(l) && !l.trim().startsWith('#'))) assert.match(line, /dockmk (affected|matrix) /, line);
});

test("the seeds' triggers: main, v* tags, pull requests, new branches, a weekly schedule, manual dispatch", () => {
  const on = workflow.on as { push: { branches: string[]; tags: string[] }; schedule: { cron: string }[] };
  assert.equal(on.push.branches, ['main']);
  assert.equal(on.push.tags, ['v*']);
  for (const event of ['pull_request', 'create', 'schedule', 'workflow_dispatch']) assert.ok(event in workflow.on, event);
  assert.match(on.schedule[0]?.cron ?? '', /^\S+ \S+ \* \* [0-6]$/, 'weekly');
  // Every release run (the schedule too) resolves the bases' digests: they are part of the keys.
  assert.match(readFileSync(PLAN, 'utf8'), /^pull=always$/m, 'release runs pull the bases again');
  assert.not.match(readFileSync(PLAN, 'utf8'), /^\s*(pull=auto|\w+\) pull=)/m, 'no release run plans with other keys');
});

test('waves stage (immutable refs only), one promote after every wave, nothing promoted when one failed', () => {
  const waves = Object.keys(workflow.jobs).filter((name) => /^wave-\d$/.test(name));
  assert.ok(waves.length >= 3);
  for (const wave of waves) {
    const run = workflow.jobs[wave]?.steps.find((step) => step.run?.includes('docker:push'))?.run ?? '';
    assert.match(run, /--stage/, `${wave} stages`);
    const n = Number(wave.slice(5));
    if (n > 1) {
      assert.ok([workflow.jobs[wave]?.needs ?? []].flat().includes(`wave-${n - 1}`), `${wave} needs wave-${n - 1}`);
      assert.match(workflow.jobs[wave]?.if ?? '', /!failure\(\)/, `${wave} does not run after a failure`);
    }
  }
  const promote = workflow.jobs.promote as Job;
  assert.equal([promote.needs].flat().sort(), ['plan', ...waves].sort());
  assert.match(promote.if ?? '', /!cancelled\(\) && !failure\(\)/);
  assert.ok(promote.steps.some((step) => step.run?.includes('docker:promote')));
});

test.run();
