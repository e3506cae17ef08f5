// One release from many runners, proven on this machine: `.github/workflows/images.yml` run job
// by job as GitHub would (test/it/sim/workflow.ts parses it and evaluates its expressions), every
// runner a fresh dockerd of this test's own with an empty data root, one registry with auth of
// the test's own as the hand-off, the base image reaching each engine from that registry. The
// checkout is legacy-shaped (test/it/sim/checkout.ts). What happened is read from the registry's
// API and access log and from the engines' own events, not from what dockmk says:
//   a. a first push to main publishes every service; every latest is its sha-<7>
//   b. a change to one role: only the services it reaches are built; the others are found in the
//      registry (no build, no layer upload); promotion moves every latest
//   c. a wave-2 service fails: no published ref moves, the key refs of what built are there; the
//      push that fixes it builds only what failed and its descendants
//   e. v1.2.0, then a branch release-1.1 from the first commit (a new branch: every image under
//      its name) and the hotfix v1.1.5 on it: the hotfix publishes its own refs and leaves latest
//      and 1 where v1.2.0 put them (before d: all three find their images in the registry)
//   d. the weekly schedule after the base image changed under its tag rebuilds every service (main
//      and latest move to the rebuilt images, sha-<7> stays on the commit's first build), and a
//      release of that commit afterwards publishes the rebuilt images

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { tempDir, test } from './helpers.js';
import { startRegistry, type OwnRegistry } from './registry.js';
import { createRepo, dockerfile, roleTasks, SERVICE_NAMES, writeServices, type SimRepo } from './sim/checkout.js';
import { EnginePool } from './sim/engines.js';
import {
  artifactPath,
  builtBy,
  configOf,
  createEvent,
  describeRun,
  expectJobs,
  instances,
  keyTags,
  layersOf,
  mutableRefs,
  planned,
  pushBase,
  pushedBy,
  pushEvent,
  refreshBase,
  scheduleEvent,
  simulate,
  snapshot,
  withTimeout,
  type Refs,
  type RunContext,
} from './sim/scenario.js';
import { logMark, trafficSince } from './sim/traffic.js';
import type { RunRecord } from './sim/workflow.js';

const dir = tempDir('dockmk-it-release-');
let registry: OwnRegistry | null = null;
let engines: EnginePool | null = null;
let ctx: RunContext | null = null;
/** Each scenario's time and what it built, printed at the end; and which passed (later ones build on them). */
const figures: string[] = [];
const passed = new Set<string>();
/** Commits the scenarios made, by name. */
const commits: Record<string, string> = {};

test.before(async () => {
  const own = await startRegistry();
  registry = own;
  engines = new EnginePool(join(dir, 'engines'));
  // Interrupted or crashed: the pool and the registry kill their processes (their exit hooks
  // come first), then their files go too.
  process.once('exit', () => {
    if (process.env.DOCKMK_SIM_KEEP) return;
    for (const path of [dir, own.dir]) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        // a mount the kernel has not let go of yet
      }
    }
  });
  await pushBase(own);
  const repo = createRepo(join(dir, 'repo'));
  ctx = { dir, repo, registry: own, engines, workflowPath: join(repo.work, '.github/workflows/images.yml'), signal: new AbortController().signal, current: 'nothing yet' };
});

test.after(async () => {
  await engines?.stopAll();
  await registry?.dispose();
  // DOCKMK_SIM_KEEP=1 keeps every runner's step logs (step-N.log) for a look afterwards.
  if (process.env.DOCKMK_SIM_KEEP) console.log(`release simulation: runs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  if (figures.length > 0) console.log(`\nrelease simulation (${engines?.started ?? 0} engines started, at most ${engines?.peak ?? 0} at once):\n${figures.map((line) => `  ${line}`).join('\n')}`);
});

/**
 * A scenario with its own deadline (generous: a loaded 2-core machine takes several times as long
 * as an idle one; the deadline is there to turn a hang into a failure that says what was running);
 * `needs` are the scenarios whose registry state it starts from.
 */
function scenario(name: string, seconds: number, needs: readonly string[], body: (c: RunContext, reg: OwnRegistry, repo: SimRepo) => Promise<string>): void {
  test(name, async () => {
    const missing = needs.filter((need) => !passed.has(need));
    if (missing.length > 0) throw new Error(`${name}: starts from the registry scenario ${missing.join(', ')} left, and ${missing.join(', ')} failed`);
    const c = ctx as RunContext;
    const controller = new AbortController();
    c.signal = controller.signal;
    const started = Date.now();
    const detail = await withTimeout(seconds * 1000, name, controller, () => c.current, () => body(c, registry as OwnRegistry, c.repo));
    figures.push(`${name.split(' ')[0]} ${((Date.now() - started) / 1000).toFixed(1)} s: ${detail}`);
    passed.add(name.split(' ')[0] as string);
  });
}

const short = (sha: string): string => `sha-${sha.slice(0, 7)}`;

function builtExactly(run: RunRecord, expected: readonly string[]): void {
  const built = builtBy(run);
  assert.equal([...built.keys()].sort(), [...expected].sort(), `built ${JSON.stringify(Object.fromEntries(built))}, expected ${expected.join(' ')}\n${describeRun(run)}`);
  for (const [service, where] of built) assert.is(where.length, 1, `${service} was built by ${where.join(' and ')}`);
}

/** Every service's latest and branch ref on its sha-<7> (and key) ref of `sha`. */
function promotedTo(refs: Refs, sha: string, run: RunRecord): void {
  for (const service of SERVICE_NAMES) {
    const tags = refs[service] ?? {};
    const digest = tags[short(sha)];
    assert.ok(digest, `${service} has no ${short(sha)} (tags: ${Object.keys(tags).join(' ')})\n${describeRun(run)}`);
    assert.is(tags.latest, digest, `${service}:latest is not on ${short(sha)}`);
    assert.is(tags.main, digest, `${service}:main is not on ${short(sha)}`);
    assert.ok(Object.entries(tags).some(([tag, d]) => tag.startsWith('key-') && d === digest), `${service}:${short(sha)} is on no key ref`);
  }
}

scenario('a. a first push to main publishes every service, every latest on its sha-<7>', 600, [], async (c, reg, repo) => {
  writeServices(repo, reg.address);
  commits.a = repo.commit('Add the images');
  const mark = logMark(reg);
  const run = await simulate(c, 'a', pushEvent('refs/heads/main', repo.push('refs/heads/main')));
  expectJobs(run, { plan: 'success', test: 'skipped', 'wave-1': 'success', 'wave-2': 'success', 'wave-3': 'success', promote: 'success' });
  assert.equal(planned(run), { wave1: ['base', 'other', 'tools'], wave2: ['mid', 'side'], wave3: ['app', 'app2'] });
  assert.is(run.jobs.get('wave-1')?.instances.length, 3, 'wave 1 runs on three runners');
  builtExactly(run, SERVICE_NAMES);
  promotedTo(await snapshot(reg), commits.a, run);
  // The counting that scenario b relies on sees what a build uploads.
  const traffic = trafficSince(reg, mark);
  for (const service of SERVICE_NAMES) assert.ok((traffic.get(`edxops/${service}`)?.uploads ?? 0) > 0, `no upload to edxops/${service} seen in the registry log`);
  // The plan and the promotion talk to the registry only: their engines did nothing.
  for (const instance of instances(run).filter((i) => i.job === 'plan' || i.job === 'promote')) {
    assert.equal([instance.engine.pulled, instance.engine.pushed, instance.engine.containers], [[], [], 0], `${instance.name} used its engine`);
  }
  // The labels are on the published image, set by one LABEL instruction (not a builder step each).
  const config = await configOf(reg, 'base', 'latest');
  const labels = config.config.Labels ?? {};
  assert.equal([labels['org.opencontainers.image.title'], labels['org.opencontainers.image.revision'], labels['org.dockmk.key']?.startsWith('sha256:')], ['base', commits.a, true], JSON.stringify(labels));
  assert.is(config.history.filter((entry) => /\bLABEL\b/.test(entry.created_by ?? '')).length, 1, JSON.stringify(config.history.map((entry) => entry.created_by)));
  const promote = JSON.parse(readFileSync(artifactPath(run, 'promote-manifest', 'promote.json'), 'utf8')) as { complete: boolean; images: { service: string }[] };
  assert.equal([promote.complete, promote.images.map((image) => image.service).sort()], [true, SERVICE_NAMES]);
  return `7 builds on ${instances(run).length} runners`;
});

scenario('b. a role change builds only what it reaches; the rest is found in the registry, no build, no upload', 420, ['a.'], async (c, reg, repo) => {
  const before = await snapshot(reg);
  repo.write('playbooks/roles/web/tasks/main.yml', roleTasks('web', 2));
  commits.b = repo.commit('web: revision 2');
  const mark = logMark(reg);
  const run = await simulate(c, 'b', pushEvent('refs/heads/main', repo.push('refs/heads/main')));
  expectJobs(run, { plan: 'success', promote: 'success' });
  assert.equal(Object.values(planned(run)).flat().sort(), ['app', 'app2'], 'the registry lacks the keys of app and app2 only');
  builtExactly(run, ['app', 'app2']);
  // Each built FROM mid's key ref, pulled from the registry onto its empty engine.
  for (const instance of instances(run).filter((i) => builtBy(run).has(String(i.matrix?.services)))) {
    assert.ok(instance.engine.pulled.some((name) => name.endsWith('/edxops/mid')), `${instance.name} pulled ${instance.engine.pulled.join(', ')}`);
  }
  const traffic = trafficSince(reg, mark);
  const pushed = pushedBy(run);
  for (const service of SERVICE_NAMES.filter((s) => s !== 'app' && s !== 'app2')) {
    const seen = traffic.get(`edxops/${service}`);
    assert.equal([seen?.uploads ?? 0, seen?.mounts ?? 0], [0, 0], `blobs went to edxops/${service}`);
    assert.not.ok(pushed.has(`edxops/${service}`), `an engine pushed edxops/${service}: ${pushed.get(`edxops/${service}`)}`);
  }
  const after = await snapshot(reg);
  promotedTo(after, commits.b, run);
  for (const service of SERVICE_NAMES) {
    const changed = service === 'app' || service === 'app2';
    assert.is(keyTags(after, service).length, keyTags(before, service).length + (changed ? 1 : 0), `${service}: key refs`);
    assert.is(after[service]?.latest === before[service]?.latest, !changed, `${service}:latest ${changed ? 'is a new image' : 'is the same image'}`);
  }
  const uploads = ['app', 'app2'].map((s) => `${s} ${traffic.get(`edxops/${s}`)?.uploads ?? 0} blobs (${traffic.get(`edxops/${s}`)?.mounts ?? 0} mounted)`);
  return `2 builds (app, app2), 0 of the other 5; uploads: ${uploads.join(', ')}, none to the other 5 repositories`;
});

scenario('c. a failed wave-2 service moves no published ref; the fix builds only it and its descendants', 720, ['b.'], async (c, reg, repo) => {
  const before = await snapshot(reg);
  // common reaches every image built on base; mid cannot build.
  repo.write('playbooks/roles/common/tasks/main.yml', roleTasks('common', 2));
  repo.write('docker/build/mid/Dockerfile', dockerfile('mid', reg.address, ['RUN echo "mid: broken on purpose" >&2 && exit 3']));
  commits.c = repo.commit('common: revision 2; mid: a broken step');
  const failed = await simulate(c, 'c', pushEvent('refs/heads/main', repo.push('refs/heads/main')));
  expectJobs(failed, { plan: 'success', 'wave-1': 'success', 'wave-2': 'failure', 'wave-3': 'skipped', promote: 'skipped' });
  assert.equal(planned(failed), { wave1: ['base'], wave2: ['mid', 'side'], wave3: ['app', 'app2'] });
  builtExactly(failed, ['base', 'side']);
  const shards = failed.jobs.get('wave-2')?.instances ?? [];
  assert.equal(shards.map((shard) => [shard.matrix?.services, shard.result]).sort(), [['mid', 'failure'], ['side', 'success']]);
  const during = await snapshot(reg);
  assert.equal(mutableRefs(during), mutableRefs(before), 'no latest, branch or release ref moved');
  for (const service of ['base', 'side']) {
    assert.is(keyTags(during, service).length, keyTags(before, service).length + 1, `${service} staged its new key ref`);
    assert.ok(during[service]?.[short(commits.c)], `${service} staged ${short(commits.c)}`);
  }
  for (const service of ['mid', 'app', 'app2']) assert.equal(keyTags(during, service), keyTags(before, service), `${service} has no new key ref`);

  repo.write('docker/build/mid/Dockerfile', dockerfile('mid', reg.address));
  commits.fix = repo.commit('mid: the broken step out');
  const fixed = await simulate(c, 'c (fix)', pushEvent('refs/heads/main', repo.push('refs/heads/main')));
  expectJobs(fixed, { plan: 'success', promote: 'success' });
  builtExactly(fixed, ['app', 'app2', 'mid']);
  promotedTo(await snapshot(reg), commits.fix, fixed);
  return `failed run ${(failed.ms / 1000).toFixed(1)} s (built base, side; mid failed), fix ${(fixed.ms / 1000).toFixed(1)} s (built mid, app, app2)`;
});

scenario('e. v1.2.0, then the hotfix v1.1.5 on a release branch from an older commit: its own refs, latest and 1 stay', 420, ['c.'], async (c, reg, repo) => {
  const beforeRelease = await snapshot(reg);
  repo.git('tag', '-a', 'v1.2.0', '-m', 'v1.2.0', 'main');
  const tagged = repo.push('refs/tags/v1.2.0');
  // A tag push is a `create` too: the workflow leaves that one to the push.
  const create = await simulate(c, 'e (create v1.2.0)', createEvent('refs/tags/v1.2.0', tagged.after));
  assert.ok([...create.jobs.values()].every((job) => job.result === 'skipped'), describeRun(create));
  const release = await simulate(c, 'e (v1.2.0)', pushEvent('refs/tags/v1.2.0', tagged));
  expectJobs(release, { plan: 'success', promote: 'success' });
  builtExactly(release, []);
  const released = await snapshot(reg);
  for (const service of SERVICE_NAMES) {
    const tags = released[service] ?? {};
    // The commit main is at: the images its push published, nothing rebuilt.
    assert.is(tags['1.2.0'], beforeRelease[service]?.latest, `${service}:1.2.0 is the image main's latest is`);
    assert.equal([tags['1.2'], tags['1'], tags.latest], [tags['1.2.0'], tags['1.2.0'], tags['1.2.0']], `${service}: 1.2, 1 and latest follow 1.2.0`);
  }

  // The 1.1 line: a branch from the first commit. Creating it runs the workflow (every image under
  // the branch name); pushing to it does not (on.push.branches is main only).
  repo.git('branch', 'release-1.1', commits.a as string);
  const branch = repo.push('refs/heads/release-1.1');
  assert.not.ok((await simulate(c, 'e (push release-1.1)', pushEvent('refs/heads/release-1.1', branch))).triggered, 'a push to release-1.1 runs nothing');
  const created = await simulate(c, 'e (create release-1.1)', createEvent('refs/heads/release-1.1', branch.after));
  expectJobs(created, { plan: 'success', promote: 'success' });
  builtExactly(created, []);
  const branched = await snapshot(reg);
  for (const service of SERVICE_NAMES) {
    const tags = branched[service] ?? {};
    assert.is(tags['release-1.1'], tags[short(commits.a as string)], `${service}:release-1.1 is the image of the first commit`);
    assert.is(tags.latest, released[service]?.latest, `${service}:latest stays on 1.2.0`);
  }

  repo.git('tag', '-a', 'v1.1.5', '-m', 'v1.1.5', 'release-1.1');
  const hotfix = repo.push('refs/tags/v1.1.5');
  await simulate(c, 'e (create v1.1.5)', createEvent('refs/tags/v1.1.5', hotfix.after));
  const old = await simulate(c, 'e (v1.1.5)', pushEvent('refs/tags/v1.1.5', hotfix));
  expectJobs(old, { plan: 'success', promote: 'success' });
  // The registry still holds what scenario a built from that commit, under the same keys.
  builtExactly(old, []);
  const after = await snapshot(reg);
  for (const service of SERVICE_NAMES) {
    const tags = after[service] ?? {};
    assert.ok(tags['1.1.5'], `${service}:1.1.5 is published`);
    assert.is(tags['1.1'], tags['1.1.5'], `${service}:1.1 follows 1.1.5, the highest 1.1 release`);
    assert.is(tags['1.1.5'], tags[short(commits.a as string)], `${service}:1.1.5 is the image of the tagged commit`);
    assert.equal([tags['1'], tags['1.2'], tags.latest], [released[service]?.['1.2.0'], released[service]?.['1.2.0'], released[service]?.['1.2.0']], `${service}: 1, 1.2 and latest stay on 1.2.0`);
  }
  return `v1.2.0 ${(release.ms / 1000).toFixed(1)} s, new branch release-1.1 ${(created.ms / 1000).toFixed(1)} s, v1.1.5 ${(old.ms / 1000).toFixed(1)} s: 0 builds each`;
});

scenario('d. the weekly schedule after the base image changed under its tag rebuilds every service', 720, ['e.'], async (c, reg, repo) => {
  const before = await snapshot(reg);
  const newLayer = await refreshBase(reg, c.engines as EnginePool);
  const workflow = parse(readFileSync(c.workflowPath, 'utf8')) as { on: { schedule: { cron: string }[] } };
  const run = await simulate(c, 'd', scheduleEvent(repo.sha('main'), workflow.on.schedule[0]?.cron as string));
  expectJobs(run, { plan: 'success', 'wave-1': 'success', 'wave-2': 'success', 'wave-3': 'success', promote: 'success' });
  builtExactly(run, SERVICE_NAMES);
  const after = await snapshot(reg);
  const sha = short(commits.fix as string);
  for (const service of SERVICE_NAMES) {
    const tags = after[service] ?? {};
    // sha-<7> is immutable: it stays on the commit's first build; main and latest take the new one.
    assert.ok(before[service]?.[sha], `${service} had ${sha} before the schedule ran`);
    assert.is(tags[sha], before[service]?.[sha], `${service}:${sha} stays on the commit's first build`);
    assert.is(tags.main, tags.latest, `${service}:main is on latest`);
    assert.ok(Object.entries(tags).some(([tag, d]) => tag.startsWith('key-') && d === tags.latest), `${service}:latest is on no key ref`);
    assert.is.not(after[service]?.latest, before[service]?.latest, `${service}:latest is a new image`);
    assert.ok((await layersOf(reg, service, 'latest')).includes(newLayer), `${service}:latest is built on the new base`);
  }
  // A release of that commit now is the refreshed images, not those built before the refresh.
  repo.git('tag', '-a', 'v1.2.1', '-m', 'v1.2.1', 'main');
  const tagged = repo.push('refs/tags/v1.2.1');
  await simulate(c, 'd (create v1.2.1)', createEvent('refs/tags/v1.2.1', tagged.after));
  const release = await simulate(c, 'd (v1.2.1)', pushEvent('refs/tags/v1.2.1', tagged));
  expectJobs(release, { plan: 'success', promote: 'success' });
  builtExactly(release, []);
  const released = await snapshot(reg);
  for (const service of SERVICE_NAMES) {
    const tags = released[service] ?? {};
    assert.is(tags['1.2.1'], after[service]?.latest, `${service}:1.2.1 is the image the schedule built on the new base`);
    assert.equal([tags['1.2'], tags['1'], tags.latest], [tags['1.2.1'], tags['1.2.1'], tags['1.2.1']], `${service}: 1.2, 1 and latest follow 1.2.1`);
  }
  return `7 builds on the new base (${(run.ms / 1000).toFixed(1)} s); then v1.2.1 of that commit: 0 builds (${(release.ms / 1000).toFixed(1)} s)`;
});

test.run();
