// The status page in a real browser: Debian's chromium driven by playwright-core. Real builds on
// the real engine of a tiny checkout of this file's own (four services FROM debian:bookworm,
// names unique to this run): one build fails, one play is edited, the page is written by
// `docker:status --html` and by `--report` of the failing run, then opened from file://.
// Checked: the three states on the right tiles (and in the graph), the failed build's log opening
// at its failing step with its ANSI colour, and that no request leaves file://.
//
// Without /usr/bin/chromium (npm run setup installs it) the test says so loudly; under CI=true
// that is a failure. DOCKMK_SCREENSHOT=docs/status-page.png also saves the page there (how the
// README's screenshot is made).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as assert from 'uvu/assert';
import { REPO_ROOT, tempDir } from '../helpers.js';
import { docker, dockmk, test } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ID = randomBytes(3).toString('hex');
const BASE = `spg-base-${ID}`;
const APP = `spg-app-${ID}`;
const WORKER = `spg-worker-${ID}`;
const BROKEN = `spg-broken-${ID}`;
const ci = process.env.CI === 'true' || process.env.CI === '1';

const tmp = tempDir('dockmk-it-status-page-');
// Named like the repository it stands for: the page's title is the checkout's directory.
const root = join(tmp, 'configuration');
const env = { DOCKMK_STATE_DIR: join(tmp, 'state'), USER: 'status-page-test' };

function git(...args: string[]): void {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
}

/** Services whose "play" a stand-in ansible-playbook prints: real builds in a second each. */
function writeCheckout(): void {
  const child = (name: string, extra: string[] = []): string =>
    [`FROM edxops/${BASE}:latest`, 'ADD . /edx/app/edx_ansible/edx_ansible', 'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays', `RUN ansible-playbook ${name}.yml -i '127.0.0.1,' -c local`, ...extra, ''].join('\n');
  const files: Record<string, string> = {
    '.dockerignore': '.git\n',
    [`docker/build/${BASE}/Dockerfile`]: [
      'FROM debian:bookworm',
      `RUN printf '#!/bin/sh\\nfor a; do case "$a" in *.yml) echo "PLAY [$a]"; cat "$a";; esac; done\\n' > /usr/local/bin/ansible-playbook && chmod +x /usr/local/bin/ansible-playbook`,
      'ADD . /edx/app/edx_ansible/edx_ansible',
      'WORKDIR /edx/app/edx_ansible/edx_ansible/docker/plays',
      `RUN ansible-playbook ${BASE}.yml -i '127.0.0.1,' -c local`,
      '',
    ].join('\n'),
    [`docker/build/${APP}/Dockerfile`]: child(APP),
    [`docker/build/${WORKER}/Dockerfile`]: child(WORKER),
    [`docker/build/${BROKEN}/Dockerfile`]: child(BROKEN, [`RUN printf '\\033[1;31mfatal: made to fail by the test\\033[0m\\n' && exit 3`]),
    'playbooks/roles/spg_common/tasks/main.yml': '- name: Say hello\n  debug: msg=hello\n',
  };
  for (const name of [BASE, APP, WORKER, BROKEN]) files[`docker/plays/${name}.yml`] = `- name: Deploy ${name}\n  hosts: all\n  roles:\n    - spg_common\n`;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Status Page Author');
  git('config', 'user.email', 'status-page@dockmk.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '-m', 'Add the status page services');
}

// What the callbacks run inside the page use (test/ compiles without the DOM library).
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
declare function getComputedStyle(element: unknown): { borderLeftColor: string; color: string };

type PageState = { service: string; state: string; words: string; graph: string | null };

if (!existsSync(CHROMIUM)) {
  const banner = '!'.repeat(78);
  console.error(`\n${banner}\n!! STATUS PAGE BROWSER TEST SKIPPED: ${CHROMIUM} is missing (npm run setup installs Debian's chromium)\n${banner}\n`);
  test('the browser test needs chromium', () => {
    if (ci) assert.unreachable(`CI=true and ${CHROMIUM} is missing: the browser test cannot run`);
  });
} else {
  test('the status page in chromium: three states on the right tiles, the failing step first, nothing fetched', async () => {
    writeCheckout();
    const report = join(tmp, 'report');
    const failing = await dockmk(['test', '--root', root, '--keep-going', '--report', report], { env });
    assert.is(failing.code, 1, `the broken build fails the run\n${failing.stderr}`);
    assert.match(failing.stderr, new RegExp(`status page: ${report}/index.html`));
    const reported = JSON.parse(readFileSync(join(report, 'status.json'), 'utf8')) as { run: { ok: boolean; failed: string[] }; services: { service: string; state: string }[] };
    assert.equal([reported.run.ok, reported.run.failed], [false, [BROKEN]], 'the page of the failing run says it failed');

    // A second run, so that the page has a history to chart and a failed build listed twice.
    const again = await dockmk(['test', '--root', root, '--keep-going', '--force'], { env });
    assert.is(again.code, 1, again.stderr);

    appendFileSync(join(root, `docker/plays/${APP}.yml`), '# edited by the status page test\n');
    const pageDir = join(tmp, 'page');
    const status = await dockmk(['status', '--root', root, '--html', pageDir], { env });
    assert.is(status.code, 0, status.stderr);

    const { chromium } = await import('playwright-core');
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmp, 'chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    const requests: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    try {
      const page = await context.newPage();
      await page.goto(pathToFileURL(join(pageDir, 'index.html')).href);
      const states = await page.$$eval('article.tile', (tiles) =>
        tiles.map((tile) => {
          const service = tile.getAttribute('data-service') ?? '';
          const node = document.querySelector(`svg.graph a[data-service="${service}"]`);
          return { service, state: tile.getAttribute('data-state') ?? '', words: tile.querySelector('h3 .state')?.textContent ?? '', graph: node?.getAttribute('data-state') ?? null };
        }),
      );
      const expected: PageState[] = [
        { service: BASE, state: 'built', words: 'built', graph: 'built' },
        { service: APP, state: 'modified', words: 'modified since last build', graph: 'modified' },
        { service: BROKEN, state: 'not-built', words: 'not built', graph: 'not-built' },
        { service: WORKER, state: 'built', words: 'built', graph: 'built' },
      ];
      assert.equal(states, expected);
      const colours = await page.$$eval('article.tile', (tiles) => tiles.map((tile) => getComputedStyle(tile).borderLeftColor));
      assert.is(new Set(colours).size, 3, `three colours for three states: ${colours.join(', ')}`);
      assert.match((await page.textContent(`#svc-${APP}`)) ?? '', `play docker/plays/${APP}.yml`);
      assert.match((await page.textContent(`#svc-${APP}`)) ?? '', /Add the status page services — Status Page Author/);
      assert.match((await page.textContent(`#svc-${BASE}`)) ?? '', /by dockmk test, status-page-test/);
      assert.ok((await page.$$('svg.chart .series')).length >= 3, 'a duration line per service that built');
      const screenshot = join(tmp, 'status-page.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      const wanted = process.env.DOCKMK_SCREENSHOT;
      if (wanted) {
        const target = isAbsolute(wanted) ? wanted : resolve(REPO_ROOT, wanted);
        copyFileSync(screenshot, target);
        console.log(`status page screenshot: ${target}`);
      }

      await page.click(`#svc-${BROKEN} tr.build[data-status="failed"] a.log-link`);
      assert.match(page.url(), /\/logs\/[^/]+\/spg-broken-[0-9a-f]+\.html#failing-step$/);
      const sections = await page.$$eval('main section', (nodes) => nodes.map((node) => node.id));
      assert.equal(sections, ['failing-step', 'full-log'], 'the failing step comes first');
      assert.match((await page.textContent('#failing-step h2')) ?? '', /RUN printf/);
      const fatal = page.locator('#failing-step .t span', { hasText: 'fatal: made to fail by the test' });
      assert.is(await fatal.evaluate((span) => getComputedStyle(span).color), 'rgb(187, 0, 0)', 'the ANSI red is kept as a colour');
      const box = await page.locator('#failing-step').boundingBox();
      assert.ok(box !== null && box.y >= 0 && box.y < 900, `the failing step is on screen (${JSON.stringify(box)})`);
      await page.screenshot({ path: join(tmp, 'failing-log.png') });

      const runPage = await context.newPage();
      await runPage.goto(pathToFileURL(join(report, 'index.html')).href);
      assert.match((await runPage.textContent('header')) ?? '', /dockmk test FAILED/);
      console.log(`status page screenshots: ${tmp}`);
    } finally {
      await context.close();
    }
    assert.ok(requests.length >= 3, requests.join('\n'));
    assert.equal(requests.filter((url) => !url.startsWith('file://')), [], 'no request leaves file://');
  });
}

test.after(async () => {
  const images = await docker.listImages();
  for (const image of images) for (const tag of image.RepoTags ?? []) if (tag.includes(ID)) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  // Keep the screenshots where the test said they are; the rest goes.
  for (const entry of ['configuration', 'state']) rmSync(join(tmp, entry), { recursive: true, force: true });
});

test.run();
