// Writes the status page: DIR/index.html (one self-contained file: inline CSS and SVG, no
// script, no request outside the directory), DIR/status.json (the data it shows) and, per
// build listed, DIR/logs/<run>/<svc>.html (the log view) and .log (the log as text). The
// directory must be new, empty, or hold an earlier page; logs are written first and index.html
// last, each file through a temp file and a rename.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type HandlebarsApi from 'handlebars';
import { ConfigError } from '../errors.js';
import type { ServiceState } from '../plan/changes.js';
import { formatDuration, shortId } from './describe.js';
import { logView } from './log-view.js';
export { checkPageDir } from './page-dir.js';
import type { PageBuild, StatusPageData } from './page-data.js';
import { durationChartSvg, graphSvg } from './svg.js';

const STATE_WORDS: Record<ServiceState, string> = { built: 'built', modified: 'modified', 'not-built': 'not built' };

type Templates = { page: HandlebarsApi.TemplateDelegate; log: HandlebarsApi.TemplateDelegate };
let templates: Templates | undefined;

function load(): Templates {
  if (templates) return templates;
  const Handlebars = (createRequire(import.meta.url)('handlebars') as typeof HandlebarsApi).create();
  const read = (name: string): string => readFileSync(new URL(`./templates/${name}`, import.meta.url), 'utf8');
  Handlebars.registerPartial('page-style', read('page-style.hbs'));
  templates = { page: Handlebars.compile(read('status-page.hbs'), { strict: false }), log: Handlebars.compile(read('build-log.hbs')) };
  return templates;
}

/** `2026-12-01T09:46:40.751Z` → `2026-12-01 09:46:40 UTC`. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export interface PageFiles {
  readonly index: string;
  readonly data: string;
  readonly logs: readonly string[];
}

/** Renders and writes the page. `stateDir` holds the recorded logs the page copies. */
export function writeStatusPage(dir: string, data: StatusPageData, stateDir: string): PageFiles {
  const { page, log } = load();
  mkdirSync(dir, { recursive: true });
  // Logs of builds the page no longer lists would only mislead: an earlier page's logs go.
  rmSync(join(dir, 'logs'), { recursive: true, force: true });
  const logs: string[] = [];
  const written = new Set<string>();
  for (const service of data.services) {
    for (const build of service.builds) {
      if (build.log === null || build.raw === null || build.source === null || written.has(build.log)) continue;
      let text: string;
      try {
        text = readFileSync(join(stateDir, build.source), 'utf8');
      } catch {
        continue; // pruned from the state directory: the page says "none"
      }
      written.add(build.log);
      const view = logView(text, build.status === 'failed');
      const back = relative(dirname(join(dir, build.log)), join(dir, 'index.html'));
      const html = log({
        service: service.service,
        status: build.status,
        stateClass: build.status === 'built' ? 'built' : 'not-built',
        when: formatWhen(build.at),
        duration: formatDuration(build.durationMs),
        command: build.command,
        tag: build.tag,
        actor: build.actor,
        reason: build.reason,
        failing: view.failing,
        lines: view.lines,
        lineCount: view.lines.length + view.omitted,
        omitted: view.omitted,
        raw: build.raw.split('/').at(-1),
        self: build.log.split('/').at(-1),
        back: `${back}#svc-${service.service}`,
      });
      replace(join(dir, build.raw), text);
      replace(join(dir, build.log), html);
      logs.push(join(dir, build.log));
    }
  }
  const kept = (build: PageBuild): boolean => build.log !== null && written.has(build.log);
  const publicData: StatusPageData = {
    ...data,
    services: data.services.map((service) => ({
      ...service,
      builds: service.builds.map((build) => ({ ...build, source: null, log: kept(build) ? build.log : null, raw: kept(build) ? build.raw : null })),
    })),
  };
  // `source` is where the log lies in the state directory: of no use beside the page.
  replace(join(dir, 'status.json'), `${JSON.stringify(publicData, (key, value: unknown) => (key === 'source' ? undefined : value), 2)}\n`);
  const counts = (['built', 'modified', 'not-built'] as const).map((state) => ({
    class: state,
    words: STATE_WORDS[state],
    count: data.services.filter((service) => service.state === state).length,
  }));
  const html = page({
    title: data.title,
    generatedAt: formatWhen(data.generatedAt),
    run: data.run,
    gitNote: data.git.note,
    counts,
    services: publicData.services.map((service) => ({
      name: service.service,
      state: service.state,
      stateClass: service.state,
      stateWords: service.state === 'modified' ? 'modified since last build' : STATE_WORDS[service.state],
      tag: service.tag,
      shortId: service.imageId ? shortId(service.imageId) : null,
      changed: service.changed,
      parents: service.parents,
      created: service.history.created && { ...service.history.created, date: formatWhen(service.history.created.date) },
      modified: service.history.modified && { ...service.history.modified, date: formatWhen(service.history.modified.date) },
      uncommitted: service.history.uncommitted,
      lastBuilt: service.history.lastBuilt && {
        when: formatWhen(service.history.lastBuilt.at),
        duration: formatDuration(service.history.lastBuilt.durationMs),
        command: service.history.lastBuilt.command,
        actor: service.history.lastBuilt.actor,
      },
      builds: service.builds.map((build) => ({
        ...build,
        // `log` is a Handlebars helper: the template reads logHref.
        logHref: build.log,
        rawHref: build.raw,
        when: formatWhen(build.at),
        duration: formatDuration(build.durationMs),
        failed: build.status === 'failed',
      })),
    })),
    graph: graphSvg(data.graph, new Map(data.services.map((service) => [service.service, service.state]))),
    chart: durationChartSvg(data.durations),
  });
  replace(join(dir, 'index.html'), html);
  return { index: join(dir, 'index.html'), data: join(dir, 'status.json'), logs };
}

function replace(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new ConfigError(`cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { hint: 'give a directory that can be written' });
  }
}
