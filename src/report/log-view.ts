// A build log as HTML: ANSI colours kept as colours (ansi_up: escapes the text, turns SGR codes
// into styled spans, and carries the colour state across lines), carriage-return redraws
// collapsed to what a terminal would show last, numbered lines, and for a failed build the
// failing step first: from its header (`Step N/M :`, Buildah's `STEP N/M:`, BuildKit's
// `#7 [2/4] RUN …`, model/build-steps.ts) to the end of the log.

import { AnsiUp } from 'ansi_up';
import { failingHeaderIndex } from '../model/build-steps.js';

export interface LogLine {
  readonly number: number;
  readonly html: string;
}

export interface LogView {
  /** The step that failed, from its header on; null when the build did not fail or no step header is in the log. */
  readonly failing: { readonly title: string; readonly firstLine: number; readonly lines: readonly LogLine[] } | null;
  readonly lines: readonly LogLine[];
  /** Lines left out at the start of a very long log (the text file beside it has them all). */
  readonly omitted: number;
}

/** More lines than a browser shows comfortably in one page. */
export const MAX_LOG_LINES = 20_000;

/** What a terminal would show of a line redrawn with `\r` (a progress bar), colour codes kept. */
export function lastRedraw(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const at = trimmed.lastIndexOf('\r');
  return at === -1 ? trimmed : trimmed.slice(at + 1);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function logView(text: string, failed: boolean, maxLines = MAX_LOG_LINES): LogView {
  const raw = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const convert = (from: number, to: number): LogLine[] => {
    const ansi = new AnsiUp();
    const lines: LogLine[] = [];
    for (let i = from; i < to; i++) lines.push({ number: i + 1, html: ansi.ansi_to_html(lastRedraw(raw[i] ?? '')) });
    return lines;
  };
  const omitted = Math.max(0, raw.length - maxLines);
  const lines = convert(omitted, raw.length);
  if (!failed) return { failing: null, lines, omitted };
  const header = failingHeaderIndex(raw.map((line) => stripAnsi(lastRedraw(line))));
  if (header === -1) return { failing: null, lines, omitted };
  const from = Math.max(header, raw.length - maxLines);
  return { failing: { title: stripAnsi(lastRedraw(raw[header] ?? '')), firstLine: header + 1, lines: convert(from, raw.length) }, lines, omitted };
}
