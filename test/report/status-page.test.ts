import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { statusOf } from '../../src/cli/status.js';
import { readHistory } from '../../src/discover/runs.js';
import { INPUT_LABEL, inputState } from '../../src/execute/steps.js';
import { parseGitLog, parsePorcelain } from '../../src/model/git-log.js';
import { parseImageRef, type ImageRef } from '../../src/model/image-ref.js';
import type { BuildStep } from '../../src/plan/types.js';
import type { AttributedRecord } from '../../src/report/actor.js';
import { actorOf } from '../../src/report/actor.js';
import type { Graph } from '../../src/report/graph.js';
import { logView } from '../../src/report/log-view.js';
import { writeStatusPage, checkPageDir } from '../../src/report/page.js';
import { statusPageData, type Attribution } from '../../src/report/page-data.js';
import { durationChartSvg, graphSvg, layoutGraph } from '../../src/report/svg.js';
import { RecordingEngine } from '../execute/fake-engine.js';
import { indexImages } from '../../src/execute/images.js';
import { fixturePath, tempDir, test } from '../helpers.js';

const STATE = fixturePath('status-page/state');
const ref = (text: string): ImageRef => {
  const parsed = parseImageRef(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.ref;
};

function buildStep(service: string, parts: Record<string, string>, bases: string[]): BuildStep {
  return {
    kind: 'build',
    id: `build ${service}`,
    needs: [],
    service,
    tag: ref(`${service}:test`),
    flavor: 'plain',
    dockerfile: `docker/build/${service}/Dockerfile`,
    context: '.',
    from: bases.map(ref),
    content: 'FROM x\n',
    bases: bases.map(ref),
    buildArgs: {},
    noCache: false,
    files: {},
    labels: {},
    cacheFrom: [],
    key: null,
    keyRef: null,
    reuse: 'local',
    fetch: [],
    overrides: null,
    inputs: { digest: `digest-of-${JSON.stringify(parts)}`, parts },
  };
}

const GRAPH: Graph = {
  kind: 'services',
  nodes: [
    { id: 's_app', kind: 'service', label: 'app' },
    { id: 's_base', kind: 'service', label: 'base' },
    { id: 's_broken', kind: 'service', label: 'broken' },
    { id: 'x_debian_bookworm', kind: 'external', label: 'debian:bookworm' },
  ],
  edges: [
    { from: 's_base', to: 's_app', kind: 'from' },
    { from: 's_base', to: 's_broken', kind: 'from' },
    { from: 'x_debian_bookworm', to: 's_base', kind: 'from' },
  ],
};

const attribute: Attribution = (path) => {
  const owned = /^docker\/(?:build\/([^/]+)\/|plays\/([^/]+)\.yml$)/.exec(path);
  if (owned) return [owned[1] ?? owned[2] ?? ''].filter((name) => ['app', 'base', 'broken'].includes(name));
  if (path.startsWith('playbooks/roles/shared/')) return ['app', 'broken'];
  if (path === 'README.md') return []; // as if .dockerignore left it out
  return 'all';
};

/** The three states from a fake engine and the recorded history; then the page's data. */
async function fixture() {
  const engine = new RecordingEngine();
  engine.images.set('debian:bookworm', { id: 'sha256:debian', labels: {} });
  const base = buildStep('base', { dockerfile: 'd1', 'play docker/plays/base.yml': 'p1' }, ['debian:bookworm']);
  const app = buildStep('app', { dockerfile: 'd2', 'play docker/plays/app.yml': 'p2-new' }, ['base:test']);
  const broken = buildStep('broken', { dockerfile: 'd3' }, ['base:test']);
  // base: its image carries the hash of its current inputs.
  engine.images.set('base:test', { id: 'sha256:base-image', labels: {} });
  const baseHash = (await inputState(base, { images: indexImages(engine) })).inputHash as string;
  engine.images.set('base:test', { id: 'sha256:base-image', labels: { [INPUT_LABEL]: baseHash } });
  // app: made by the recorded build whose play differs; broken: never built.
  engine.images.set('app:test', { id: `sha256:${'2'.repeat(64)}`, labels: { [INPUT_LABEL]: 'sha256:app-made' } });
  const history = readHistory(STATE) as AttributedRecord[];
  const entries = [];
  const images = indexImages(engine);
  for (const step of [base, app, broken]) entries.push(await statusOf(step, images, history, 'this-checkout'));
  const data = statusPageData({
    title: 'configuration',
    generatedAt: '2026-11-24T00:00:00.000Z',
    entries,
    history,
    git: { commits: parseGitLog(readFileSync(fixturePath('status-page/git-log.txt'), 'utf8')), uncommitted: ['docker/plays/app.yml', 'README.md'], note: null },
    buildDir: 'docker/build',
    attribute,
    graph: GRAPH,
    run: null,
  });
  return { entries, data };
}

test('the three states: built (image has the current hash), modified (which input), not built', async () => {
  const { entries } = await fixture();
  assert.equal(
    entries.map((entry) => [entry.service, entry.state, entry.changed]),
    [
      ['base', 'built', []],
      ['app', 'modified', ['play docker/plays/app.yml']],
      ['broken', 'not-built', []],
    ],
  );
  assert.is(entries[2]?.last?.status, 'failed', 'the last build of broken is its failure');
});

test('the history of each service: created and modified from git, last built from history.jsonl', async () => {
  const { data } = await fixture();
  const by = new Map(data.services.map((service) => [service.service, service]));
  assert.equal([by.get('base')?.history.created?.short, by.get('base')?.history.modified?.short], ['aaaaaaa', 'aaaaaaa']);
  assert.equal([by.get('app')?.history.created?.short, by.get('app')?.history.modified?.subject], ['aaaaaaa', 'Tune the app play']);
  assert.equal([by.get('broken')?.history.created?.author, by.get('broken')?.history.modified?.short], ['Bob Builder', 'bbbbbbb']);
  assert.equal(by.get('app')?.history.uncommitted, ['docker/plays/app.yml']);
  assert.equal(by.get('base')?.history.uncommitted, []);
  // base:test was last really built in run-1 (run-2 found it up to date; run-3 built base:latest).
  assert.equal(by.get('base')?.history.lastBuilt, { at: '2026-11-20T10:00:00.000Z', durationMs: 61000, command: 'test', actor: null });
  assert.equal(by.get('app')?.history.lastBuilt?.actor, 'github:octocat');
  assert.is(by.get('broken')?.history.lastBuilt, null);
  assert.equal(by.get('app')?.parents, ['base']);
});

test('builds newest first with their logs; durations of real builds only; torn history line skipped', async () => {
  const { data } = await fixture();
  const base = data.services.find((service) => service.service === 'base');
  assert.equal(base?.builds.map((build) => [build.run, build.status, build.tag]), [
    ['run-3', 'built', 'base:latest'],
    ['run-1', 'built', 'base:test'],
  ]);
  const broken = data.services.find((service) => service.service === 'broken');
  assert.equal(broken?.builds.map((build) => [build.status, build.log, build.raw, build.actor]), [['failed', 'logs/run-2/broken.html', 'logs/run-2/broken.log', 'jdoe']]);
  assert.equal(data.durations.map((point) => [point.run, point.service, point.durationMs]), [
    ['run-1', 'base', 61000],
    ['run-1', 'app', 30000],
    ['run-3', 'base', 45000],
  ]);
});

test('written: index.html without script or remote reference, status.json of the data, the log view', async () => {
  const { data } = await fixture();
  const dir = tempDir('dockmk-page-');
  try {
    const files = writeStatusPage(join(dir, 'page'), data, STATE);
    const html = readFileSync(files.index, 'utf8');
    assert.not.match(html, /<script|<link|<img|@import|url\((?!#)/i);
    assert.equal([...new Set(html.match(/https?:\/\/[^"' ]+/g))], ['http://www.w3.org/2000/svg'], 'only the SVG namespace, which is no request');
    assert.match(html, /<article class="tile modified" id="svc-app" data-service="app" data-state="modified">/);
    assert.match(html, /href="logs\/run-2\/broken\.html#failing-step"/);
    const json = JSON.parse(readFileSync(files.data, 'utf8')) as typeof data;
    assert.equal(json.services.map((service) => service.state), ['built', 'modified', 'not-built']);
    assert.is(json.generator, 'dockmk');
    const log = readFileSync(join(dir, 'page', 'logs/run-2/broken.html'), 'utf8');
    assert.ok(log.indexOf('id="failing-step"') < log.indexOf('id="full-log"'), 'the failing step first');
    assert.match(log, /<span style="color:rgb\(187,0,0\)">fatal<\/span>: it failed/);
    assert.is(readFileSync(join(dir, 'page', 'logs/run-2/broken.log'), 'utf8'), readFileSync(join(STATE, 'logs/run-2/broken.log'), 'utf8'));
    // Written again over itself: allowed. Over another directory's files: refused.
    checkPageDir(join(dir, 'page'), '--html');
    assert.throws(() => checkPageDir(fixturePath('status-page'), '--html'), /holds other files/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log view: the failing step runs from the last step header to the end; redraws collapse', () => {
  const view = logView('Step 1/2 : FROM x\nprogress 10%\rprogress 100%\nStep 2/2 : RUN false\n\x1b[31mboom\x1b[0m\n', true);
  assert.equal(view.failing?.title, 'Step 2/2 : RUN false');
  assert.equal(view.failing?.lines.map((line) => line.number), [3, 4]);
  assert.is(view.lines[1]?.html, 'progress 100%');
  assert.is(view.lines[2]?.html, 'Step 2/2 : RUN false');
  assert.is(logView('Step 1/1 : RUN true\n', false).failing, null);
  assert.is(logView('no steps here\n', true).failing, null);
  assert.is(logView('<b>&</b>\n', false).lines[0]?.html, '&lt;b&gt;&amp;&lt;/b&gt;');
  const long = logView('Step 1/1 : RUN x\n1\n2\n3\n4\n', true, 3);
  assert.equal([long.omitted, long.lines.map((line) => line.number), long.failing?.firstLine, long.failing?.lines.length], [2, [3, 4, 5], 1, 3]);
});

test('graph: parents above children, states as classes, links to the tiles; the chart draws a line per service', async () => {
  const layout = layoutGraph(GRAPH);
  const layer = new Map(layout.map((node) => [node.label, node.layer]));
  assert.equal([layer.get('debian:bookworm'), layer.get('base'), layer.get('app'), layer.get('broken')], [0, 1, 2, 2]);
  const svg = graphSvg(GRAPH, new Map([['app', 'modified'], ['base', 'built'], ['broken', 'not-built']]));
  assert.match(svg, /<a href="#svc-app" class="node service modified" data-service="app" data-state="modified">/);
  assert.match(svg, /<g class="node external"><title>debian:bookworm \(external base\)<\/title>/);
  assert.is((svg.match(/<path class="edge/g) ?? []).length, 3);
  const { data } = await fixture();
  const chart = durationChartSvg(data.durations);
  assert.is((chart.match(/<g class="series"/g) ?? []).length, 2);
  assert.match(chart, /base 2026-11-22T08:00:00.000Z: 45s/);
  assert.match(durationChartSvg([]), /No build recorded yet/);
});

test('git output parsers and who ran it', () => {
  const commits = parseGitLog(readFileSync(fixturePath('status-page/git-log.txt'), 'utf8'));
  assert.equal(commits.map((commit) => [commit.sha.slice(0, 3), commit.files.length]), [['ccc', 2], ['bbb', 2], ['aaa', 4]]);
  assert.equal(commits[2]?.files[2], { status: 'R', path: 'docker/plays/app.yml', previous: 'docker/plays/old.yml' });
  assert.equal(parsePorcelain(' M a.yml\0R  new.yml\0old.yml\0?? x/y\0'), ['a.yml', 'new.yml', 'old.yml', 'x/y']);
  assert.is(actorOf({ GITHUB_ACTOR: 'octocat', USER: 'root' }), 'github:octocat');
  assert.is(actorOf({ USER: 'jdoe' }), 'jdoe');
  assert.is(actorOf({}, () => 'fallback'), 'fallback');
  assert.is(actorOf({}), undefined);
});

test.run();
