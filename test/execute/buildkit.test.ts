// BuildKit's status stream. The fixture is what dockerd 20.10 sent for a real build (POST
// /build?version=2 with a session): WORKDIR and one RUN cached from an earlier build, a RUN
// writing lines on stdout and stderr, one of them split across two messages, then a RUN that
// fails. Recorded once from this machine's engine; the test needs none.

import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { buildkitProgress, statusDecoder, type StatusResponse, type Vertex } from '../../src/execute/buildkit.js';
import { failedStep, instructionOf } from '../../src/model/build-steps.js';
import { fixturePath, test } from '../helpers.js';

async function replay(file: string, failed: boolean): Promise<string[]> {
  const decode = await statusDecoder();
  const lines: string[] = [];
  const progress = buildkitProgress((line) => lines.push(line));
  for (const raw of readFileSync(fixturePath(`buildkit/${file}`), 'utf8').trim().split('\n')) {
    const message = JSON.parse(raw) as { id?: string; aux?: unknown };
    if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') progress.apply(decode(message.aux));
  }
  progress.finish(failed);
  return lines;
}

test('a real trace: steps as they start, cached steps, output lines (split ones joined), the error, then the summary', async () => {
  const lines = await replay('failed-build.jsonl', true);
  const step = lines.filter((line) => /^#\d+ \[\d\/5\]/.test(line));
  assert.equal(step, [
    '#4 [1/5] FROM docker.io/library/debian:bookworm',
    '#5 [2/5] WORKDIR /work',
    '#6 [3/5] RUN echo cached-step',
    "#7 [4/5] RUN printf 'one\\ntwo\\npart' && sleep 1 && echo 'ial end' && echo to-stderr >&2",
    '#8 [5/5] RUN echo "made to fail" && false',
  ]);
  assert.ok(lines.includes('#5 CACHED') && lines.includes('#6 CACHED'));
  const seven = lines.filter((line) => line.startsWith('#7 ')).slice(1, -1);
  assert.equal(seven, ['#7 one', '#7 two', '#7 partial end', '#7 to-stderr']);
  assert.match(lines.find((line) => line.startsWith('#7 DONE')) ?? '', /^#7 DONE \d+\.\ds$/);
  assert.equal(lines.slice(-5), [
    '#8 made to fail',
    '#8 ERROR: executor failed running [/bin/sh -c echo "made to fail" && false]: exit code: 1',
    '------',
    ' > [5/5] RUN echo "made to fail" && false:',
    '------',
  ]);
});

test('the failure report finds the Dockerfile line from the last lines alone', async () => {
  const lines = await replay('failed-build.jsonl', true);
  const dockerfile = 'FROM debian:bookworm\nWORKDIR /work\nRUN echo cached-step\n\nRUN printf x\nRUN echo "made to fail" && false\n';
  const header = failedStep(lines.slice(-4));
  assert.is(header === null ? null : instructionOf(dockerfile, header)?.line, 6);
});

const vertex = (digest: string, name: string, rest: Partial<Vertex>): Vertex => ({ digest, name, cached: false, started: null, completed: null, error: '', ...rest });
const at = (seconds: number) => ({ seconds, nanos: 0 });
const status = (part: Partial<StatusResponse>): StatusResponse => ({ vertexes: [], statuses: [], logs: [], warnings: [], ...part });

test('cancelled steps say CANCELED, not ERROR; a successful build has no summary; statuses and warnings are shown once', () => {
  const lines: string[] = [];
  const progress = buildkitProgress((line) => lines.push(line));
  progress.apply(status({ vertexes: [vertex('a', '[1/2] RUN sleep 60', { started: at(1) })] }));
  progress.apply(status({ logs: [{ vertex: 'a', stream: 1, msg: Buffer.from('no newline yet') }] }));
  progress.apply(status({ vertexes: [vertex('a', '[1/2] RUN sleep 60', { started: at(1), completed: at(3), error: 'context canceled' })] }));
  progress.apply(status({ statuses: [{ ID: 'x', vertex: 'b', name: 'exporting layers', completed: at(4) }, { ID: 'x', vertex: 'b', name: 'exporting layers', completed: at(4) }] }));
  progress.apply(status({ warnings: [{ vertex: 'b', short: Buffer.from('something odd') }] }));
  progress.finish(false);
  assert.equal(lines, ['#1 [1/2] RUN sleep 60', '#1 no newline yet', '#1 CANCELED', '#2 b', '#2 exporting layers done', '#2 WARNING: something odd']);
});

test('the failed step\'s last lines come again in the summary when another step wrote after them', () => {
  const lines: string[] = [];
  const progress = buildkitProgress((line) => lines.push(line));
  progress.apply(status({ vertexes: [vertex('a', '[a 2/2] RUN make', { started: at(1) }), vertex('b', '[b 2/2] RUN sleep 5', { started: at(1) })] }));
  progress.apply(status({ logs: [{ vertex: 'a', stream: 2, msg: Buffer.from('make: *** Error 2\n') }, { vertex: 'b', stream: 1, msg: Buffer.from('still sleeping\n') }] }));
  progress.apply(status({ vertexes: [vertex('a', '[a 2/2] RUN make', { started: at(1), completed: at(2), error: 'exit code: 2' })] }));
  progress.finish(true);
  assert.equal(lines.slice(-4), ['------', ' > [a 2/2] RUN make:', '#1 make: *** Error 2', '------']);
});

test.run();
