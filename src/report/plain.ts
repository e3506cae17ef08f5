// Plain progress, for CI logs and pipes: every engine line prefixed by `[service]`, a line
// when each step starts and ends, the summary table at the end.

import type { RunEvent } from '../execute/events.js';
import { builderName, contextWarning, describeStep, retryLine, formatBytes, formatDuration, shortId, stepLabel, stepSubject, statusWord, type Output } from './describe.js';
import { createSummaryRenderer } from './summary.js';

export function createPlainReporter(out: Output): (event: RunEvent) => void {
  const summary = createSummaryRenderer();
  let command = '';
  return (event) => {
    switch (event.kind) {
      case 'run-start':
        command = event.plan.command;
        out.write(`dockmk ${command}: ${event.plan.steps.length} steps on ${event.engine}, ${event.jobs} at a time\n`);
        break;
      case 'builder':
        out.write(`builder: ${builderName(event.builder)} (${event.reason})\n`);
        break;
      case 'context':
        out.write(`context: ${event.files} entries, ${formatBytes(event.bytes)} from ${event.root}\n`);
        if (event.large) out.write(contextWarning(event.bytes, event.dockerignore));
        break;
      case 'step-start':
        out.write(`==> [${event.index + 1}/${event.total}] ${describeStep(event.step)}\n`);
        break;
      case 'step-output':
        if (event.line.trim() !== '') out.write(`[${stepLabel(event.step)}] ${event.line}\n`);
        break;
      case 'step-retry':
        out.write(`~~> ${retryLine(event)}`);
        break;
      case 'step-end': {
        const { result } = event;
        if (result.status === 'skipped') break;
        if (result.status === 'failed' || result.status === 'cancelled') {
          out.write(`!!! ${result.reason ?? result.status}\n`);
          break;
        }
        const id = result.imageId ? ` ${shortId(result.imageId)}` : result.digest ? ` ${result.digest}` : '';
        out.write(`--> ${statusWord(result.status, result.step.kind)} ${stepSubject(result.step)}${id} in ${formatDuration(result.durationMs)}\n`);
        break;
      }
      case 'run-end':
        out.write(`\n${summary(event, command)}`);
        break;
    }
  };
}
