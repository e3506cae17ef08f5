// The actions the workflow `uses:`, done as they would be on a runner of this simulation:
//   actions/checkout@v4       a fresh clone of the test's origin, fetched as the action fetches
//                             (the event's commit only, or everything with fetch-depth: 0)
//   actions/setup-node@v4     Node is there already: checks the version asked for, and that
//                             `cache: npm` has the lock file the action needs
//   docker/login-action@v3    checks the credentials on the registry's /v2/ and writes them to
//                             ~/.docker/config.json, as `docker login` does
//   actions/upload-artifact@v4  copies the file into the run's artifacts (a name used twice in a
//                             run fails, as v4 does; a missing file is a warning)
// Any other action, or an input these do not take, is an error.

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, join } from 'node:path';
import type { StepRecord } from './runner.js';
import type { GithubEvent } from './workflow.js';

export interface ActionContext {
  readonly workspace: string;
  readonly home: string;
  readonly env: Record<string, string>;
  readonly event: GithubEvent;
  readonly origin: string;
  readonly artifacts: string;
  readonly where: string;
}

type Outcome = Omit<StepRecord, 'ms' | 'name' | 'command'>;

const INPUTS: Record<string, readonly string[]> = {
  'actions/checkout@v4': ['fetch-depth'],
  'actions/setup-node@v4': ['node-version', 'cache'],
  'docker/login-action@v3': ['registry', 'username', 'password'],
  'actions/upload-artifact@v4': ['name', 'path', 'if-no-files-found'],
};

export async function runAction(uses: string, inputs: Record<string, string>, ctx: ActionContext): Promise<Outcome> {
  const known = INPUTS[uses];
  if (known === undefined) throw new Error(`${ctx.where}: action ${uses} is not simulated (knows ${Object.keys(INPUTS).join(', ')})`);
  const unknown = Object.keys(inputs).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`${ctx.where}: ${uses} input ${unknown.join(', ')} is not simulated`);
  switch (uses) {
    case 'actions/checkout@v4':
      return checkout(inputs, ctx);
    case 'actions/setup-node@v4':
      return setupNode(inputs, ctx);
    case 'docker/login-action@v3':
      return login(inputs, ctx);
    default:
      return uploadArtifact(inputs, ctx);
  }
}

const ok = (stdout: string): Outcome => ({ result: 'success', exitCode: 0, stdout, stderr: '' });
const failed = (stderr: string): Outcome => ({ result: 'failure', exitCode: 1, stdout: '', stderr });

async function checkout(inputs: Record<string, string>, ctx: ActionContext): Promise<Outcome> {
  const depth = Number(inputs['fetch-depth'] ?? '1');
  if (!Number.isInteger(depth) || depth < 0) return failed(`fetch-depth "${inputs['fetch-depth']}" is not a number`);
  const { ref, sha } = ctx.event;
  const git = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile('git', args, { cwd: ctx.workspace, env: { PATH: ctx.env.PATH as string, HOME: ctx.home, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C.UTF-8' }, encoding: 'utf8' }, (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
      ),
    );
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
  if (branch === null && !ref.startsWith('refs/tags/')) return failed(`checkout of ${ref} is not simulated`);
  try {
    await git('init', '-q');
    await git('remote', 'add', 'origin', `file://${ctx.origin}`);
    // What the action fetches: everything with fetch-depth 0; else the one commit, under its ref.
    const refspecs = depth === 0 ? ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'] : [branch !== null ? `+${sha}:refs/remotes/origin/${branch}` : `+${ref}:${ref}`];
    await git('-c', 'protocol.version=2', 'fetch', '-q', '--no-tags', '--prune', ...(depth > 0 ? [`--depth=${depth}`] : []), 'origin', ...refspecs);
    if (branch !== null) await git('checkout', '-q', '--force', '-B', branch, `refs/remotes/origin/${branch}`);
    else await git('checkout', '-q', '--force', ref);
    const head = (await git('rev-parse', 'HEAD')).trim();
    if (head !== sha) return failed(`checked out ${head}, the event is for ${sha}`);
    return ok(`checked out ${ref} at ${head}${depth === 0 ? ' (full history)' : ` (depth ${depth})`}`);
  } catch (error) {
    return failed((error as Error).message);
  }
}

function setupNode(inputs: Record<string, string>, ctx: ActionContext): Outcome {
  const wanted = inputs['node-version'];
  const major = process.versions.node.split('.')[0];
  if (wanted !== undefined && wanted.split('.')[0] !== major) {
    throw new Error(`${ctx.where}: the workflow asks for Node ${wanted}, this machine runs ${process.versions.node}: the simulation cannot stand for that runner`);
  }
  if (inputs.cache === 'npm' && !['package-lock.json', 'npm-shrinkwrap.json'].some((file) => existsSync(join(ctx.workspace, file)))) {
    return failed('Dependencies lock file is not found in the workspace. Supported file patterns: package-lock.json,npm-shrinkwrap.json,yarn.lock');
  }
  if (inputs.cache !== undefined && inputs.cache !== 'npm') throw new Error(`${ctx.where}: setup-node cache ${inputs.cache} is not simulated`);
  return ok(`node ${process.versions.node} (asked: ${wanted ?? 'any'})`);
}

async function login(inputs: Record<string, string>, ctx: ActionContext): Promise<Outcome> {
  const registry = inputs.registry ?? '';
  if (registry === '') throw new Error(`${ctx.where}: login to Docker Hub (registry empty): vars.DOCKMK_REGISTRY must name the test's registry`);
  if (!/^127\.0\.0\.1:\d+$/.test(registry)) throw new Error(`${ctx.where}: login to ${registry}: the simulation only reaches loopback registries`);
  if (!inputs.username || !inputs.password) return failed('Username and password required');
  const auth = Buffer.from(`${inputs.username}:${inputs.password}`).toString('base64');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(registry.split(':')[1]), path: '/v2/', headers: { authorization: `Basic ${auth}` }, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  }).catch((error: Error) => error);
  if (status instanceof Error) return failed(`Error response from daemon: Get "http://${registry}/v2/": ${status.message}`);
  if (status !== 200) return failed(`Error response from daemon: login attempt to http://${registry}/v2/ failed with status: ${status}`);
  const dir = join(ctx.home, '.docker');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.json');
  const config = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { auths?: Record<string, unknown> }) : {};
  config.auths = { ...config.auths, [registry]: { auth } };
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return ok('Login Succeeded');
}

function uploadArtifact(inputs: Record<string, string>, ctx: ActionContext): Outcome {
  const name = inputs.name ?? 'artifact';
  const path = inputs.path;
  if (path === undefined || path.includes('\n') || /[*?]/.test(path)) throw new Error(`${ctx.where}: upload-artifact path "${path}" (one file or directory) is all that is simulated`);
  const target = join(ctx.artifacts, name);
  if (existsSync(target)) return failed(`Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run`);
  const source = join(ctx.workspace, path);
  if (!existsSync(source)) {
    if (inputs['if-no-files-found'] === 'error') return failed(`No files were found with the provided path: ${path}. No artifacts will be uploaded.`);
    return ok(`Warning: No files were found with the provided path: ${path}. No artifacts will be uploaded.`);
  }
  mkdirSync(target, { recursive: true });
  cpSync(source, join(target, basename(source)), { recursive: true });
  return ok(`uploaded ${path} as ${name}`);
}
