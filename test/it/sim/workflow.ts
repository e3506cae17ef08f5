// Runs a GitHub Actions workflow file as GitHub would for one event, on this machine: whether
// the event triggers it, the jobs in `needs` order (those whose needs are done, side by side),
// each job's `if:` (with GitHub's implicit `success() &&`), its matrix expanded from
// `strategy.matrix` (every entry side by side, each on a fresh runner), its result as GitHub
// computes it (failure if any entry failed, skipped when its `if:` is false) and its outputs.
// The steps themselves run in runner.ts. Keys, triggers, actions and expressions this driver
// does not know are errors: the workflow cannot use something the simulation silently ignores.

import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { condition, interpolate, type Scope, type Value } from './expressions.js';
import { runInstance, type InstanceRecord, type RunnerSetup } from './runner.js';

export interface GithubEvent {
  /** `push`, `schedule`, `workflow_dispatch`, `create`, `pull_request`. */
  readonly name: string;
  /** `refs/heads/main`, `refs/tags/v1.2.0`. */
  readonly ref: string;
  /** The commit the run is for. */
  readonly sha: string;
  /** `github.event`: the webhook payload (before, after, created…). */
  readonly payload: Record<string, Value>;
  /** workflow_dispatch: the inputs given (the others take their defaults). */
  readonly inputs?: Record<string, string>;
}

export type JobResult = 'success' | 'failure' | 'skipped';

export interface JobRecord {
  readonly id: string;
  readonly result: JobResult;
  readonly outputs: Record<string, string>;
  /** One per matrix entry (one for a job without a matrix); none when skipped. */
  readonly instances: readonly InstanceRecord[];
}

export interface RunRecord {
  readonly event: GithubEvent;
  /** False when the workflow's `on:` does not fire for the event: then no job ran. */
  readonly triggered: boolean;
  readonly jobs: ReadonlyMap<string, JobRecord>;
  /** Where upload-artifact put each artifact: `<artifacts>/<name>/<file>`. */
  readonly artifacts: string;
  readonly ms: number;
}

const TOP_KEYS = ['name', 'on', 'concurrency', 'env', 'jobs'];
const JOB_KEYS = ['name', 'needs', 'if', 'runs-on', 'outputs', 'strategy', 'steps', 'env'];
const STRATEGY_KEYS = ['matrix', 'fail-fast', 'max-parallel'];

interface Job {
  readonly name?: string;
  readonly needs?: string | string[];
  readonly if?: string | boolean;
  readonly outputs?: Record<string, string>;
  readonly strategy?: { matrix?: unknown; 'fail-fast'?: unknown; 'max-parallel'?: unknown };
  readonly steps: readonly Record<string, unknown>[];
  readonly env?: Record<string, unknown>;
}

export interface Workflow {
  readonly on: Record<string, unknown>;
  readonly concurrency?: unknown;
  readonly env?: Record<string, unknown>;
  readonly jobs: Record<string, Job>;
}

export function loadWorkflow(path: string): Workflow {
  const workflow = parse(readFileSync(path, 'utf8')) as Workflow & Record<string, unknown>;
  unknownKeys(workflow, TOP_KEYS, path);
  for (const [id, job] of Object.entries(workflow.jobs)) {
    unknownKeys(job, JOB_KEYS, `${path}: job ${id}`);
    if (job.strategy) unknownKeys(job.strategy, STRATEGY_KEYS, `${path}: job ${id}.strategy`);
    for (const need of needsOf(job)) if (!(need in workflow.jobs)) throw new Error(`${path}: job ${id} needs ${need}, which is no job`);
  }
  return workflow;
}

function unknownKeys(object: object, known: readonly string[], where: string): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`${where}: ${unknown.join(', ')} is not simulated by test/it/sim (knows ${known.join(', ')})`);
}

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat());

/** Whether `on:` fires for the event (the branch and tag filters of a push). */
export function triggers(workflow: Workflow, event: GithubEvent): boolean {
  const on = workflow.on;
  if (!(event.name in on)) return false;
  const filters = (on[event.name] ?? {}) as Record<string, unknown>;
  if (event.name !== 'push' && event.name !== 'pull_request') return true;
  for (const key of Object.keys(filters)) {
    if (!['branches', 'tags', 'types'].includes(key) || (key === 'types' && event.name === 'push')) throw new Error(`on.${event.name}.${key} is not simulated`);
  }
  const branches = filters.branches as string[] | undefined;
  const tags = filters.tags as string[] | undefined;
  if (event.name === 'pull_request') return branches === undefined || branches.some((pattern) => glob(pattern, String(event.payload.base_ref ?? '')));
  if (branches === undefined && tags === undefined) return true;
  if (event.ref.startsWith('refs/heads/')) return (branches ?? []).some((pattern) => glob(pattern, event.ref.slice(11)));
  if (event.ref.startsWith('refs/tags/')) return (tags ?? []).some((pattern) => glob(pattern, event.ref.slice(10)));
  return false;
}

/** GitHub's filter patterns, the part this simulator knows: `*` (not `/`) and `**`. */
function glob(pattern: string, name: string): boolean {
  if (/[?+[\]!]/.test(pattern)) throw new Error(`filter pattern "${pattern}" is not simulated (only * and **)`);
  const source = pattern.split('**').map((part) => part.split('*').map((text) => text.replace(/[.^$(){}|\\]/g, '\\$&')).join('[^/]*')).join('.*');
  return new RegExp(`^${source}$`).test(name);
}

/** The github context of an event, as the expressions and the environment see it. */
export function githubContext(event: GithubEvent, repository: string): Record<string, Value> {
  const refName = event.ref.replace(/^refs\/(heads|tags)\//, '');
  return {
    event_name: event.name,
    event: event.payload,
    ref: event.ref,
    ref_name: refName,
    ref_type: event.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: event.sha,
    base_ref: event.name === 'pull_request' ? (event.payload.base_ref ?? '') : '',
    head_ref: event.name === 'pull_request' ? (event.payload.head_ref ?? '') : '',
    repository,
    server_url: 'https://github.com',
    workflow: 'images',
    actor: 'release-sim',
    run_id: String(Date.now()),
    run_number: '1',
    run_attempt: '1',
  };
}

export interface Simulation extends Omit<RunnerSetup, 'runDir'> {
  readonly workflowPath: string;
  /** Each run gets a directory below this one. */
  readonly dir: string;
}

/** Runs the workflow for `event`; every job's result, outputs and what its runners did. */
export async function runWorkflow(sim: Simulation, event: GithubEvent): Promise<RunRecord> {
  const started = Date.now();
  const workflow = loadWorkflow(sim.workflowPath);
  const jobs = new Map<string, JobRecord>();
  const runDir = mkdtempSync(join(sim.dir, 'run-'));
  const artifacts = join(runDir, 'artifacts');
  if (!triggers(workflow, event)) return { event, triggered: false, jobs, artifacts, ms: 0 };
  const setup: RunnerSetup = { ...sim, runDir };
  const github = githubContext(event, sim.repository);
  const dispatchInputs = (workflow.on.workflow_dispatch as { inputs?: Record<string, { default?: unknown }> } | null)?.inputs ?? {};
  const inputs: Record<string, Value> =
    event.name === 'workflow_dispatch' ? Object.fromEntries(Object.entries(dispatchInputs).map(([name, spec]) => [name, event.inputs?.[name] ?? (spec.default as Value) ?? ''])) : {};
  const base: Scope['contexts'] = { github, inputs, vars: sim.vars, secrets: sim.secrets };
  // Evaluated, so a concurrency expression the simulator cannot read is an error too (runs here are one at a time).
  interpolate(workflow.concurrency ?? null, { contexts: base }, 'concurrency');
  const workflowEnv = stringValues(interpolate(workflow.env ?? {}, { contexts: base }, 'env'), 'env');

  const ancestors = (id: string): string[] => {
    const seen = new Set<string>();
    const walk = (job: string): void => {
      for (const need of needsOf(workflow.jobs[job] as Job)) if (!seen.has(need)) (seen.add(need), walk(need));
    };
    walk(id);
    return [...seen];
  };
  const pending = new Set(Object.keys(workflow.jobs));
  while (pending.size > 0) {
    const ready = [...pending].filter((id) => needsOf(workflow.jobs[id] as Job).every((need) => jobs.has(need)));
    if (ready.length === 0) throw new Error(`jobs ${[...pending].join(', ')} wait on each other`);
    for (const id of ready) pending.delete(id);
    await Promise.all(
      ready.map(async (id) => {
        const job = workflow.jobs[id] as Job;
        const needs = Object.fromEntries(needsOf(job).map((need) => [need, { result: jobs.get(need)?.result ?? null, outputs: jobs.get(need)?.outputs ?? {} }])) as Record<string, Value>;
        const results = ancestors(id).map((a) => jobs.get(a)?.result);
        const scope: Scope = {
          contexts: { ...base, needs },
          status: { success: () => results.every((r) => r === 'success'), failure: () => results.includes('failure'), cancelled: () => false, always: () => true },
        };
        if (!condition(job.if, scope, `job ${id}: if`)) {
          jobs.set(id, { id, result: 'skipped', outputs: {}, instances: [] });
          return;
        }
        jobs.set(id, await runJob(setup, id, job, { ...base, needs }, workflowEnv, event));
      }),
    );
  }
  return { event, triggered: true, jobs, artifacts, ms: Date.now() - started };
}

async function runJob(sim: RunnerSetup, id: string, job: Job, contexts: Scope['contexts'], workflowEnv: Record<string, string>, event: GithubEvent): Promise<JobRecord> {
  const entries = job.strategy?.matrix === undefined ? [null] : expandMatrix(interpolate(job.strategy.matrix, { contexts }, `job ${id}: strategy.matrix`), id);
  const failFast = job.strategy?.['fail-fast'] ?? true;
  if (entries[0] !== null && failFast !== false) throw new Error(`job ${id}: fail-fast (cancelling the other entries) is not simulated; the workflow sets fail-fast: false`);
  const maxParallel = Number(job.strategy?.['max-parallel'] ?? entries.length);
  const instances: InstanceRecord[] = new Array(entries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const index = next++;
      const matrix = entries[index] ?? null;
      const strategy = { 'job-index': index, 'job-total': entries.length, 'fail-fast': false, 'max-parallel': maxParallel };
      const scope: Scope['contexts'] = { ...contexts, ...(matrix === null ? {} : { matrix, strategy }) };
      const name = String(interpolate(job.name ?? id, { contexts: scope }, `job ${id}: name`));
      const env = { ...workflowEnv, ...stringValues(interpolate(job.env ?? {}, { contexts: scope }, `job ${id}: env`), `job ${id}: env`) };
      instances[index] = await runInstance(sim, { id, name, steps: job.steps, outputs: job.outputs ?? {}, env, contexts: scope, event });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(maxParallel, entries.length)) }, worker));
  const result: JobResult = instances.some((instance) => instance.result === 'failure') ? 'failure' : 'success';
  // A matrix job's outputs: the entries' outputs merged, as GitHub keeps the last one written.
  const outputs = Object.assign({}, ...instances.map((instance) => instance.outputs)) as Record<string, string>;
  return { id, result, outputs, instances };
}

/** `strategy.matrix` → its entries: the product of its vectors, or its `include` list alone. */
export function expandMatrix(matrix: Value, job: string): Record<string, Value>[] {
  if (matrix === null || typeof matrix !== 'object' || Array.isArray(matrix)) throw new Error(`job ${job}: strategy.matrix is not a mapping`);
  const { include, exclude, ...vectors } = matrix;
  let entries: Record<string, Value>[] = [{}];
  for (const [key, values] of Object.entries(vectors)) {
    if (!Array.isArray(values)) throw new Error(`job ${job}: matrix vector ${key} is not a list`);
    entries = entries.flatMap((entry) => values.map((value) => ({ ...entry, [key]: value })));
  }
  if (Object.keys(vectors).length === 0) entries = [];
  if (exclude !== undefined) {
    if (!Array.isArray(exclude)) throw new Error(`job ${job}: matrix exclude is not a list`);
    entries = entries.filter((entry) => !exclude.some((rule) => Object.entries(rule as Record<string, Value>).every(([key, value]) => entry[key] === value)));
  }
  if (include !== undefined) {
    if (!Array.isArray(include)) throw new Error(`job ${job}: matrix include is not a list`);
    if (entries.length > 0 && include.length > 0) throw new Error(`job ${job}: include over matrix vectors is not simulated`);
    if (entries.length === 0) entries = include.map((entry) => entry as Record<string, Value>);
  }
  // GitHub fails such a job at once ("Matrix vector does not contain any values"); the workflow must not start one.
  if (entries.length === 0) throw new Error(`job ${job}: the matrix has no entries, so GitHub would fail the job: its if: must leave it out`);
  if (entries.length > 256) throw new Error(`job ${job}: ${entries.length} matrix entries, GitHub allows 256`);
  return entries;
}

export function stringValues(value: Value, where: string): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} is not a mapping`);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (item !== null && typeof item === 'object') throw new Error(`${where}.${key} is not a scalar`);
      return [key, item === null ? '' : String(item)];
    }),
  );
}
