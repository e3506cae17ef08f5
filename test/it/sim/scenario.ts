// What test/it/release.test.ts needs around the driver: the base image in the test's registry
// (pushed once from the shared engine, refreshed later from a fresh engine of the test's own),
// one simulated run per event, and reading the outcome: the registry's refs, what each runner's
// engine built and pushed, and a failure message that names the jobs and steps that failed.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { docker } from '../helpers.js';
import type { OwnRegistry } from '../registry.js';
import { SERVICE_NAMES, ZERO_SHA, type SimRepo } from './checkout.js';
import type { EnginePool } from './engines.js';
import type { InstanceRecord } from './runner.js';
import { runWorkflow, type GithubEvent, type RunRecord } from './workflow.js';

export const NAMESPACE = 'edxops';
export const baseRef = (registry: OwnRegistry): string => `${registry.address}/base/debian:bookworm`;

interface Progress {
  error?: string;
  errorDetail?: { message?: string };
}

async function follow(client: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  const output = await new Promise<Progress[]>((resolve, reject) => client.modem.followProgress(stream, (error: Error | null, out: Progress[]) => (error ? reject(error) : resolve(out))));
  const failed = output.find((entry) => entry.error !== undefined || entry.errorDetail !== undefined);
  if (failed) throw new Error(`${what}: ${failed.error ?? failed.errorDetail?.message}`);
}

const authOf = (registry: OwnRegistry) => ({ username: registry.username, password: registry.password, serveraddress: registry.address });

/** debian:bookworm of the shared engine into the test's registry, once; the tag given for it is removed again. */
export async function pushBase(registry: OwnRegistry): Promise<void> {
  const shared = docker;
  const ref = baseRef(registry);
  try {
    await shared.getImage('debian:bookworm').tag({ repo: `${registry.address}/base/debian`, tag: 'bookworm' });
  } catch (error) {
    throw new Error(`debian:bookworm of the shared engine could not be tagged for the test's registry (${(error as Error).message}): \`npm run setup\` makes it`);
  }
  try {
    await follow(shared, await shared.getImage(ref).push({ authconfig: authOf(registry) }), `push ${ref} from the shared engine`);
  } finally {
    await shared.getImage(ref).remove({ noprune: true });
  }
}

/**
 * A new base under the same tag, as when Debian publishes a point release: one more layer on
 * the old one, built on a fresh engine that pulled the old one from the registry. Returns the
 * digest of the new layer, which every image built on the new base has.
 */
export async function refreshBase(registry: OwnRegistry, engines: EnginePool): Promise<string> {
  const ref = baseRef(registry);
  const engine = await engines.start('base refresh');
  try {
    await follow(engine.client, await engine.client.pull(ref, { authconfig: authOf(registry) }), `pull ${ref}`);
    const pack = tar.pack();
    pack.entry({ name: 'Dockerfile' }, `FROM ${ref}\nRUN echo "point release ${randomBytes(4).toString('hex')}" > /etc/debian-point-release\n`);
    pack.finalize();
    await follow(engine.client, await engine.client.buildImage(pack as unknown as NodeJS.ReadableStream, { t: ref }), `build the new ${ref}`);
    await follow(engine.client, await engine.client.getImage(ref).push({ authconfig: authOf(registry) }), `push the new ${ref}`);
  } finally {
    await engine.stop();
  }
  const manifest = JSON.parse((await registry.api('GET', 'base/debian/manifests/bookworm', 'application/vnd.docker.distribution.manifest.v2+json')).body) as { layers: { digest: string }[] };
  if (manifest.layers.length < 2) throw new Error(`the new ${ref} has ${manifest.layers.length} layer(s), expected one more than before`);
  return (manifest.layers.at(-1) as { digest: string }).digest;
}

/** The layers of a published image, from its manifest. */
export async function layersOf(registry: OwnRegistry, service: string, tag: string): Promise<string[]> {
  const reply = await registry.api('GET', `${NAMESPACE}/${service}/manifests/${tag}`, 'application/vnd.docker.distribution.manifest.v2+json');
  if (reply.status !== 200) throw new Error(`GET ${NAMESPACE}/${service}/manifests/${tag}: HTTP ${reply.status}`);
  return (JSON.parse(reply.body) as { layers: { digest: string }[] }).layers.map((layer) => layer.digest);
}

/** The image config of a published image (its labels and history), from its config blob. */
export async function configOf(registry: OwnRegistry, service: string, tag: string): Promise<{ config: { Labels?: Record<string, string> }; history: { created_by?: string }[] }> {
  const manifest = await registry.api('GET', `${NAMESPACE}/${service}/manifests/${tag}`, 'application/vnd.docker.distribution.manifest.v2+json');
  if (manifest.status !== 200) throw new Error(`GET ${NAMESPACE}/${service}/manifests/${tag}: HTTP ${manifest.status}`);
  const digest = (JSON.parse(manifest.body) as { config: { digest: string } }).config.digest;
  const blob = await registry.api('GET', `${NAMESPACE}/${service}/blobs/${digest}`);
  if (blob.status !== 200) throw new Error(`GET ${NAMESPACE}/${service}/blobs/${digest}: HTTP ${blob.status}`);
  return JSON.parse(blob.body) as { config: { Labels?: Record<string, string> }; history: { created_by?: string }[] };
}

export type Refs = Record<string, Record<string, string>>;

/** Every tag of every service and the digest it points at, read from the registry API. */
export async function snapshot(registry: OwnRegistry): Promise<Refs> {
  const refs: Refs = {};
  for (const service of SERVICE_NAMES) {
    const tags = (await registry.tags(`${NAMESPACE}/${service}`)) ?? [];
    const entries = await Promise.all(tags.map(async (tag) => [tag, (await registry.digest(`${NAMESPACE}/${service}`, tag)) ?? 'missing'] as const));
    refs[service] = Object.fromEntries(entries);
  }
  return refs;
}

/** Refs other than key-<hex> and sha-<hex>: the ones people pull (latest, branch, release). */
export const mutableRefs = (refs: Refs): Refs =>
  Object.fromEntries(Object.entries(refs).map(([service, tags]) => [service, Object.fromEntries(Object.entries(tags).filter(([tag]) => !/^(key|sha)-[0-9a-f]+$/.test(tag)))]));

export const keyTags = (refs: Refs, service: string): string[] => Object.keys(refs[service] ?? {}).filter((tag) => tag.startsWith('key-')).sort();

export function pushEvent(ref: string, moved: { before: string; after: string }): GithubEvent {
  return { name: 'push', ref, sha: moved.after, payload: { ref, before: moved.before, after: moved.after, created: moved.before === ZERO_SHA, deleted: false, forced: false, base_ref: null, repository: { default_branch: 'main' } } };
}

export function createEvent(ref: string, sha: string): GithubEvent {
  const tag = ref.startsWith('refs/tags/');
  return { name: 'create', ref, sha, payload: { ref: ref.replace(/^refs\/(heads|tags)\//, ''), ref_type: tag ? 'tag' : 'branch', master_branch: 'main' } };
}

export function scheduleEvent(sha: string, cron: string): GithubEvent {
  return { name: 'schedule', ref: 'refs/heads/main', sha, payload: { schedule: cron } };
}

export interface RunContext {
  readonly dir: string;
  readonly repo: SimRepo;
  readonly registry: OwnRegistry;
  readonly engines: EnginePool;
  readonly workflowPath: string;
  /** A new one for each scenario: its timeout aborts it. */
  signal: AbortSignal;
  /** The step that started last, for a timeout's message. */
  current: string;
}

/** One run of the workflow for `event`, as GitHub would run it, on fresh engines. */
export async function simulate(ctx: RunContext, label: string, event: GithubEvent): Promise<RunRecord> {
  const run = await runWorkflow(
    {
      workflowPath: ctx.workflowPath,
      dir: ctx.dir,
      repository: 'sim/configuration',
      origin: ctx.repo.origin,
      vars: { DOCKMK_REGISTRY: ctx.registry.address },
      secrets: { DOCKMK_REGISTRY_USER: ctx.registry.username, DOCKMK_REGISTRY_PASSWORD: ctx.registry.password },
      engines: ctx.engines,
      label,
      signal: ctx.signal,
      onStep: (line) => (ctx.current = `${label}: ${line}`),
      // DOCKMK_SIM_TRACE=1: each step's result and time on stderr, as it ends.
      ...(process.env.DOCKMK_SIM_TRACE ? { onStepEnd: (line: string) => process.stderr.write(`[${label}] ${line}\n`) } : {}),
    },
    event,
  );
  // GitHub masks secrets in logs; dockmk must not print them in the first place.
  for (const instance of instances(run)) {
    for (const step of instance.steps) {
      for (const secret of [ctx.registry.password, ctx.registry.basicAuth]) {
        if (`${step.stdout}${step.stderr}`.includes(secret)) throw new Error(`${label}: ${instance.name}, step "${step.name}" printed the registry password`);
      }
    }
    if (instance.summary.includes(ctx.registry.password)) throw new Error(`${label}: ${instance.name} put the registry password in the step summary`);
  }
  return run;
}

export const instances = (run: RunRecord): InstanceRecord[] => [...run.jobs.values()].flatMap((job) => job.instances);

const tail = (text: string, n = 1500): string => (text.length > n ? `…${text.slice(-n)}` : text);

/** The jobs' results, and for each failed step its command, exit code, stderr and the end of its stdout. */
export function describeRun(run: RunRecord): string {
  const lines = [`${run.event.name} ${run.event.ref} at ${run.event.sha.slice(0, 7)}: ${[...run.jobs.values()].map((job) => `${job.id} ${job.result}`).join(', ')}`];
  for (const instance of instances(run)) {
    for (const step of instance.steps.filter((s) => s.result === 'failure')) {
      lines.push(`  ${instance.name}, step "${step.name}" (${step.command.trim()}): exit ${step.exitCode}`, `    stderr: ${tail(step.stderr)}`, `    stdout: ${tail(step.stdout)}`);
    }
  }
  return lines.join('\n');
}

export function expectJobs(run: RunRecord, expected: Record<string, string>): void {
  const actual = Object.fromEntries([...run.jobs.values()].map((job) => [job.id, job.result]));
  for (const [job, result] of Object.entries(expected)) {
    if (actual[job] !== result) throw new Error(`job ${job} is ${actual[job] ?? 'absent'}, expected ${result}\n${describeRun(run)}`);
  }
}

/** Service → the runners whose engine built it (tagged `<svc>:latest`, the local tag of a push). */
export function builtBy(run: RunRecord): Map<string, string[]> {
  const built = new Map<string, string[]>();
  for (const instance of instances(run)) {
    for (const tag of instance.engine.tagged) {
      const service = /^([a-z0-9-]+):latest$/.exec(tag)?.[1];
      if (service !== undefined) built.set(service, [...(built.get(service) ?? []), instance.name]);
    }
  }
  return built;
}

/** Repositories the runners' engines pushed to (`edxops/app`), registry host left out. */
export function pushedBy(run: RunRecord): Map<string, string[]> {
  const pushed = new Map<string, string[]>();
  for (const instance of instances(run)) {
    for (const repository of instance.engine.pushed) {
      const name = repository.replace(/^[^/]+\//, '').replace(/:[^/]*$/, '');
      pushed.set(name, [...(pushed.get(name) ?? []), instance.name]);
    }
  }
  return pushed;
}

/** The services the plan job put in each wave's matrix. */
export function planned(run: RunRecord): Record<string, string[]> {
  const outputs = run.jobs.get('plan')?.outputs ?? {};
  return Object.fromEntries(
    Object.entries(outputs)
      .filter(([name]) => /^wave\d$/.test(name))
      .map(([name, text]) => [name, (JSON.parse(text) as { include: { services: string }[] }).include.flatMap((entry) => entry.services.split(' ')).sort()]),
  );
}

export const artifactPath = (run: RunRecord, name: string, file: string): string => join(run.artifacts, name, file);

/** Runs `body` with a deadline; on expiry aborts `controller` and says what was running. */
export async function withTimeout<T>(ms: number, name: string, controller: AbortController, running: () => string, body: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`${name}: no result within ${ms / 1000} s; running then: ${running()}`));
    }, ms);
  });
  try {
    return await Promise.race([body(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
