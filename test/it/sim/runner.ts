// One runner of a simulated GitHub Actions job: a fresh engine, a fresh directory (workspace,
// HOME, temp), the environment GitHub gives a step and nothing of this process's (an
// allow-list), and the job's steps in order. `run:` steps run with `bash -e` in the workspace,
// with GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY files; `uses:` steps are
// the four actions the workflow uses, done as they would be here (actions.ts). A step's `if:`
// and `env:` are evaluated as GitHub would; its result, output and exit code are recorded.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EngineRecord, EnginePool } from './engines.js';
import { runAction } from './actions.js';
import { condition, interpolate, type Scope, type Value } from './expressions.js';
import type { GithubEvent } from './workflow.js';

export interface RunnerSetup {
  /** `owner/name`, as github.repository. */
  readonly repository: string;
  /** The bare repository actions/checkout fetches from. */
  readonly origin: string;
  readonly vars: Record<string, Value>;
  readonly secrets: Record<string, Value>;
  readonly engines: EnginePool;
  /** This run's directory: runners and artifacts go below it. */
  readonly runDir: string;
  /** For the engines' names: which run of the test this is. */
  readonly label: string;
  /** Aborting stops the step that runs and every later one. */
  readonly signal?: AbortSignal;
  /** Told of each step as it starts (progress for the test's log). */
  readonly onStep?: (line: string) => void;
  /** Told of each step as it ends, with its result and how long it took. */
  readonly onStepEnd?: (line: string) => void;
}

export type StepResult = 'success' | 'failure' | 'skipped';

export interface StepRecord {
  readonly name: string;
  readonly result: StepResult;
  /** The command line of a run step, or the action of a uses step. */
  readonly command: string;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface InstanceRecord {
  readonly job: string;
  readonly name: string;
  readonly matrix: Record<string, Value> | null;
  readonly result: 'success' | 'failure';
  readonly outputs: Record<string, string>;
  readonly steps: readonly StepRecord[];
  readonly engine: EngineRecord;
  /** What the steps appended to GITHUB_STEP_SUMMARY. */
  readonly summary: string;
  readonly ms: number;
}

export interface InstanceSpec {
  readonly id: string;
  readonly name: string;
  readonly steps: readonly Record<string, unknown>[];
  readonly outputs: Record<string, string>;
  /** The workflow's and the job's env, evaluated. */
  readonly env: Record<string, string>;
  readonly contexts: Scope['contexts'];
  readonly event: GithubEvent;
}

const STEP_KEYS = ['name', 'id', 'if', 'env', 'run', 'uses', 'with', 'shell'];
let runners = 0;
/** Process groups of the steps running now: a process that exits takes them along. */
const groups = new Set<number>();
process.on('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export async function runInstance(setup: RunnerSetup, spec: InstanceSpec): Promise<InstanceRecord> {
  const started = Date.now();
  const dir = join(setup.runDir, 'runners', `${String((runners += 1)).padStart(2, '0')}-${spec.id}`);
  const workspace = join(dir, 'work');
  const home = join(dir, 'home');
  const temp = join(dir, 'tmp');
  for (const path of [workspace, home, temp]) mkdirSync(path, { recursive: true });
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, JSON.stringify(spec.event.payload));
  const github = spec.contexts.github as Record<string, Value>;
  const engineStart = Date.now();
  const engine = await setup.engines.start(`${setup.label}: ${spec.name}`);
  setup.onStepEnd?.(`${spec.name}: engine up in ${((Date.now() - engineStart) / 1000).toFixed(1)} s`);
  const steps: StepRecord[] = [];
  const stepsContext: Record<string, Value> = {};
  const addedEnv: Record<string, string> = {};
  const addedPath: string[] = [];
  let summary = '';
  let failed = false;
  let engineRecord: EngineRecord | null = null;
  try {
    for (const [index, step] of spec.steps.entries()) {
      const unknown = Object.keys(step).filter((key) => !STEP_KEYS.includes(key));
      if (unknown.length > 0) throw new Error(`job ${spec.id}, step ${index + 1}: ${unknown.join(', ')} is not simulated (knows ${STEP_KEYS.join(', ')})`);
      if ((step.run === undefined) === (step.uses === undefined)) throw new Error(`job ${spec.id}, step ${index + 1}: needs exactly one of run and uses`);
      if (step.shell !== undefined && step.shell !== 'bash') throw new Error(`job ${spec.id}, step ${index + 1}: shell ${String(step.shell)} is not simulated`);
      const envContext = { ...spec.env, ...addedEnv };
      const scope: Scope = {
        contexts: { ...spec.contexts, steps: stepsContext, env: envContext },
        status: { success: () => !failed, failure: () => failed, cancelled: () => false, always: () => true },
      };
      const where = `job ${spec.id}, step ${index + 1}`;
      const fallback = step.run !== undefined ? `Run ${String(step.run).trim().split('\n')[0]}` : String(step.uses);
      const name = String(interpolate(step.name ?? fallback, scope, `${where}: name`));
      const id = typeof step.id === 'string' ? step.id : null;
      const command = step.run !== undefined ? String(interpolate(step.run, scope, `${where}: run`)) : String(step.uses);
      if (setup.signal?.aborted) throw new Error(`cancelled before ${spec.name}: ${name}`);
      if (!condition(step.if, scope, `${where}: if`)) {
        steps.push({ name, result: 'skipped', command, exitCode: null, stdout: '', stderr: '', ms: 0 });
        if (id !== null) stepsContext[id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
        continue;
      }
      setup.onStep?.(`${spec.name}: ${name}`);
      const stepEnv = stepEnvOf(interpolate(step.env ?? {}, scope, `${where}: env`), where);
      const files = {
        GITHUB_OUTPUT: join(dir, `step-${index + 1}.output`),
        GITHUB_ENV: join(dir, `step-${index + 1}.env`),
        GITHUB_PATH: join(dir, `step-${index + 1}.path`),
        GITHUB_STEP_SUMMARY: join(dir, `step-${index + 1}.summary.md`),
      };
      for (const path of Object.values(files)) writeFileSync(path, '');
      const env: Record<string, string> = {
        PATH: [...addedPath, dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
        HOME: home,
        TMPDIR: temp,
        LANG: 'C.UTF-8',
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: workspace,
        GITHUB_EVENT_NAME: spec.event.name,
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_REF: spec.event.ref,
        GITHUB_REF_NAME: String(github.ref_name),
        GITHUB_REF_TYPE: String(github.ref_type),
        GITHUB_SHA: spec.event.sha,
        GITHUB_HEAD_REF: String(github.head_ref),
        GITHUB_BASE_REF: String(github.base_ref),
        GITHUB_REPOSITORY: setup.repository,
        GITHUB_REPOSITORY_OWNER: setup.repository.split('/')[0] as string,
        GITHUB_SERVER_URL: String(github.server_url),
        GITHUB_RUN_ID: String(github.run_id),
        GITHUB_RUN_NUMBER: String(github.run_number),
        GITHUB_RUN_ATTEMPT: String(github.run_attempt),
        GITHUB_WORKFLOW: String(github.workflow),
        GITHUB_JOB: spec.id,
        GITHUB_ACTION: id ?? `__run_${index + 1}`,
        GITHUB_ACTOR: String(github.actor),
        RUNNER_OS: 'Linux',
        RUNNER_ARCH: 'X64',
        RUNNER_NAME: engine.name,
        RUNNER_TEMP: temp,
        ...files,
        ...spec.env,
        ...addedEnv,
        ...stepEnv,
        DOCKER_HOST: engine.address,
      };
      const began = Date.now();
      let record: Omit<StepRecord, 'ms' | 'name' | 'command'>;
      if (step.run !== undefined) {
        const script = join(dir, `step-${index + 1}.sh`);
        writeFileSync(script, command);
        record = await bash(script, workspace, env, setup.signal);
      } else {
        const inputs = stepEnvOf(interpolate(step.with ?? {}, scope, `${where}: with`), `${where}: with`);
        record = await runAction(String(step.uses), inputs, { workspace, home, env, event: spec.event, origin: setup.origin, artifacts: join(setup.runDir, 'artifacts'), where });
      }
      steps.push({ name, command, ms: Date.now() - began, ...record });
      writeFileSync(join(dir, `step-${index + 1}.log`), `${name}\n$ ${command}\nexit ${record.exitCode}\n--- stdout\n${record.stdout}\n--- stderr\n${record.stderr}\n`);
      setup.onStepEnd?.(`${spec.name}: ${name}: ${record.result} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      const outputs = readCommandFile(files.GITHUB_OUTPUT, `${where}: GITHUB_OUTPUT`);
      Object.assign(addedEnv, readCommandFile(files.GITHUB_ENV, `${where}: GITHUB_ENV`));
      addedPath.unshift(...readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter((line) => line.trim() !== '').reverse());
      summary += readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
      if (id !== null) stepsContext[id] = { outcome: record.result, conclusion: record.result, outputs };
      failed ||= record.result === 'failure';
    }
  } finally {
    engineRecord = await engine.stop();
  }
  const scope: Scope = { contexts: { ...spec.contexts, steps: stepsContext, env: { ...spec.env, ...addedEnv } } };
  const outputs = stepEnvOf(interpolate(spec.outputs, scope, `job ${spec.id}: outputs`), `job ${spec.id}: outputs`);
  const matrix = (spec.contexts.matrix as Record<string, Value> | undefined) ?? null;
  return { job: spec.id, name: spec.name, matrix, result: failed ? 'failure' : 'success', outputs, steps, engine: engineRecord, summary, ms: Date.now() - started };
}

function stepEnvOf(value: Value, where: string): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} is not a mapping`);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (item !== null && typeof item === 'object') throw new Error(`${where}.${key}: an object or list where text is expected`);
      return [key, item === null ? '' : String(item)];
    }),
  );
}

/** `bash -e {0}`, GitHub's shell for a run step without `shell:`, in its own process group. */
function bash(script: string, cwd: string, env: Record<string, string>, signal: AbortSignal | undefined): Promise<Omit<StepRecord, 'ms' | 'name' | 'command'>> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) groups.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const abort = (): void => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', reject);
    child.on('close', (code, killed) => {
      if (child.pid !== undefined) groups.delete(child.pid);
      signal?.removeEventListener('abort', abort);
      const exitCode = code ?? (killed ? 128 : 1);
      resolve({ result: exitCode === 0 ? 'success' : 'failure', exitCode, stdout, stderr });
    });
  });
}

/** `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks, as GitHub reads GITHUB_OUTPUT and GITHUB_ENV. */
export function readCommandFile(path: string, where: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').split('\n');
  const values: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const heredoc = /^([^=]+)<<(.+)$/.exec(line);
    if (heredoc && !line.includes('=')) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) body.push(lines[i] as string);
      if (i >= lines.length) throw new Error(`${where}: ${name}<<${delimiter} has no closing ${delimiter}`);
      values[name] = body.join('\n');
      continue;
    }
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`${where}: "${line.slice(0, 80)}" is neither name=value nor name<<DELIMITER`);
    values[line.slice(0, at)] = line.slice(at + 1);
  }
  return values;
}
