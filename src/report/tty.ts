// Live progress on a terminal: finished steps scroll above; below them a header with counts
// and one line per running step (name, Dockerfile step n/m, elapsed, last log line), redrawn
// in place. Failures print the last lines of their output.

import type { RunEvent } from '../execute/events.js';
import type { PlanStep } from '../plan/types.js';
import { parseStepHeader, stepPosition } from '../model/build-steps.js';
import { builderName, contextWarning, describeStep, formatDuration, retryLine, shortId, stepLabel, stepSubject, statusWord, type Output } from './describe.js';
import { createSummaryRenderer } from './summary.js';

export interface Terminal extends Output {
  readonly columns?: number;
}

export interface TtyOptions {
  readonly now: () => number;
  /** Calls `tick` every `ms` until the returned function is called (redraws elapsed times). */
  readonly every: (ms: number, tick: () => void) => () => void;
}

interface Running {
  readonly step: PlanStep;
  readonly started: number;
  position: string;
  last: string;
}

const CLEAR_LINE = '\x1b[2K';
const UP = '\x1b[1A';

export function createTtyReporter(out: Terminal, options: TtyOptions): (event: RunEvent) => void {
  const summary = createSummaryRenderer();
  const running = new Map<string, Running>();
  let command = '';
  let total = 0;
  let finished = 0;
  let failed = 0;
  let drawn = 0;
  let stopTicker: (() => void) | null = null;

  const width = (): number => Math.max(40, out.columns ?? 100);
  const fit = (text: string): string => (text.length > width() - 1 ? `${text.slice(0, width() - 2)}…` : text);

  const erase = (): void => {
    out.write(`${UP}${CLEAR_LINE}`.repeat(drawn));
    drawn = 0;
  };
  const draw = (): void => {
    const lines = [
      `dockmk ${command}: ${finished}/${total} done, ${running.size} running${failed ? `, ${failed} failed` : ''}`,
      ...[...running.values()].map((entry) => {
        const elapsed = formatDuration(options.now() - entry.started).padStart(6);
        const position = entry.position ? ` ${entry.position}` : '';
        return fit(`  ${stepLabel(entry.step)}${position} ${elapsed}  ${entry.last}`);
      }),
    ];
    out.write(lines.map((line) => `${CLEAR_LINE}${line}\n`).join(''));
    drawn = lines.length;
  };
  const above = (text: string): void => {
    erase();
    out.write(text);
    draw();
  };

  return (event) => {
    switch (event.kind) {
      case 'run-start':
        command = event.plan.command;
        total = event.plan.steps.length;
        out.write(`dockmk ${command}: ${total} steps on ${event.engine}, ${event.jobs} at a time\n`);
        draw();
        stopTicker = options.every(1000, () => {
          erase();
          draw();
        });
        break;
      case 'builder':
        above(`builder: ${builderName(event.builder)} (${event.reason})\n`);
        break;
      case 'context':
        if (event.large) above(contextWarning(event.bytes, event.dockerignore).trimEnd());
        break;
      case 'step-start':
        running.set(event.step.id, { step: event.step, started: options.now(), position: '', last: describeStep(event.step) });
        above('');
        break;
      case 'step-output': {
        const entry = running.get(event.step.id);
        if (!entry || event.line.trim() === '') break;
        const header = parseStepHeader(event.line);
        if (header) entry.position = `step ${stepPosition(header)}`;
        entry.last = event.line.trim();
        erase();
        draw();
        break;
      }
      case 'step-retry':
        above(`↻ ${retryLine(event)}`);
        break;
      case 'step-end': {
        const { result } = event;
        running.delete(result.step.id);
        finished += 1;
        if (result.status === 'skipped') {
          above('');
          break;
        }
        if (result.status === 'failed') failed += 1;
        let text: string;
        if (result.status === 'failed' || result.status === 'cancelled') {
          const tail = event.output.map((line) => `  ${stepLabel(result.step)} | ${line}\n`).join('');
          text = `${tail}✗ ${result.reason ?? result.status}\n`;
        } else {
          const id = result.imageId ? ` ${shortId(result.imageId)}` : '';
          text = `✓ ${statusWord(result.status, result.step.kind)} ${stepSubject(result.step)}${id} in ${formatDuration(result.durationMs)}\n`;
        }
        above(text);
        break;
      }
      case 'run-end':
        stopTicker?.();
        erase();
        out.write(`\n${summary(event, command)}`);
        break;
    }
  };
}
