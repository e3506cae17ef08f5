// The table printed when a run ends (templates/summary.hbs): every step with what happened
// to it and how long it took, failures and skips with their reason.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type HandlebarsApi from 'handlebars';
import type { RunEvent } from '../execute/events.js';
import { formatDuration, stepSubject, statusWord } from './describe.js';
import { summarize } from './json.js';

export type SummaryRenderer = (event: Extract<RunEvent, { kind: 'run-end' }>, command: string) => string;

/**
 * Handlebars and the template are loaded when the first summary is rendered, not when the
 * reporter is made: a run that prints JSON events never renders one, and a no-op run should not
 * pay for loading them (~15 ms).
 */
export function createSummaryRenderer(): SummaryRenderer {
  let template: HandlebarsApi.TemplateDelegate | undefined;
  const compile = (): HandlebarsApi.TemplateDelegate => {
    const Handlebars = createRequire(import.meta.url)('handlebars') as typeof HandlebarsApi;
    return Handlebars.compile(readFileSync(new URL('./templates/summary.hbs', import.meta.url), 'utf8'), { noEscape: true });
  };
  return (event, command) => {
    template ??= compile();
    const { results } = event;
    const summary = summarize(results);
    const counts = (
      [
        [summary.built.length, 'built'],
        [summary.upToDate.length, 'up to date'],
        [summary.reused.length, 'reused from the registry'],
        [summary.pulled.length, 'pulled'],
        [summary.pushed.length, 'pushed'],
        [summary.kept.length, 'kept (a higher release holds them)'],
        [summary.failed.length, 'failed'],
        [summary.skipped.length, 'skipped'],
      ] as const
    )
      .filter(([count]) => count !== 0)
      .map(([count, word]) => `${count} ${word}`);
    const statusWidth = Math.max(0, ...results.map((r) => statusWord(r.status, r.step.kind).length));
    const whatWidth = Math.max(0, ...results.map((r) => stepSubject(r.step).length));
    const rows = results.map((result) => ({
      status: statusWord(result.status, result.step.kind).padEnd(statusWidth),
      what: stepSubject(result.step).padEnd(whatWidth),
      duration: formatDuration(result.durationMs).padStart(6),
      detail: result.reason ?? '',
    }));
    return template({
      command,
      ok: event.ok,
      interrupted: event.interrupted,
      duration: formatDuration(event.durationMs),
      counts: counts.length ? counts : ['nothing to do'],
      rows,
    });
  };
}
