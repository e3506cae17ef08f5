import * as assert from 'uvu/assert';
import { failedStep, failingHeaderIndex, instructionOf, parseStepHeader, stepPosition, type StepHeader } from '../../src/model/build-steps.js';
import { test } from '../helpers.js';

const MULTI = [
  'ARG BASE=debian:bookworm', //  1
  'FROM $BASE AS builder', //     2
  'WORKDIR /src', //              3
  'ENV A=1', //                   4
  'RUN echo build > /out', //     5
  '', //                          6
  'FROM debian:bookworm', //      7
  'ARG X', //                     8
  'COPY --from=builder /out /', // 9
  'RUN <<EOF', //                10
  'RUN this is the script', //   11
  'EOF', //                      12
  'LABEL a=b', //                13
  'RUN echo "made to fail" && false', // 14
  '',
].join('\n');

const lineOf = (text: string, header: StepHeader | null) => (header === null ? null : (instructionOf(text, header)?.line ?? null));

test('the three kinds of headers parse, and anything else does not', () => {
  assert.equal(parseStepHeader('Step 5/9 : RUN echo hi'), { kind: 'classic', index: 5, total: 9, text: 'RUN echo hi' });
  assert.equal(parseStepHeader('[2/2] STEP 3/5: RUN echo two && false'), { kind: 'buildah', stage: 2, index: 3, total: 5, text: 'RUN echo two && false' });
  assert.equal(parseStepHeader('STEP 1/7: FROM debian:bookworm'), { kind: 'buildah', stage: 1, index: 1, total: 7, text: 'FROM debian:bookworm' });
  assert.equal(parseStepHeader('#7 [stage-1 2/4] COPY a /a'), { kind: 'buildkit', vertex: 7, stage: 'stage-1', index: 2, total: 4, text: 'COPY a /a' });
  assert.equal(parseStepHeader('#12 [ 3/10] RUN x'), { kind: 'buildkit', vertex: 12, stage: null, index: 3, total: 10, text: 'RUN x' });
  assert.equal(parseStepHeader('#4 [linux/amd64 builder 2/3] RUN x')?.kind === 'buildkit' && stepPosition(parseStepHeader('#4 [linux/amd64 builder 2/3] RUN x') as StepHeader), 'builder 2/3');
  for (const line of ['#3 [internal] load metadata for docker.io/library/debian:bookworm', ' ---> Running in 0123456789ab', '#7 DONE 0.3s', 'step 1/2: lower case']) {
    assert.is(parseStepHeader(line), null, line);
  }
});

test('classic: the N-th instruction of the file, global ARGs included', () => {
  const text = 'ARG V=1\nFROM debian:bookworm\nRUN a \\\n  && b\nRUN c\n';
  assert.is(lineOf(text, parseStepHeader('Step 4/4 : RUN c')), 5);
  assert.is(lineOf(text, parseStepHeader('Step 3/4 : RUN a   && b')), 3);
  assert.is(lineOf(text, parseStepHeader('Step 9/9 : RUN z')), null);
});

test('Buildah: per stage, FROM first; the labels it appends name no line', () => {
  assert.is(lineOf(MULTI, parseStepHeader('[1/2] STEP 3/4: ENV A=1')), 4);
  assert.is(lineOf(MULTI, parseStepHeader('[2/2] STEP 6/8: RUN echo "made to fail" && false')), 14);
  assert.is(lineOf(MULTI, parseStepHeader('[2/2] STEP 8/8: LABEL org.dockmk.key=x')), null);
  assert.is(lineOf('FROM debian\nRUN a\nRUN b\n', parseStepHeader('STEP 3/4: RUN b')), 3);
});

test('BuildKit: per named stage, counting FROM an image, ADD, COPY, RUN and WORKDIR; heredoc bodies are no steps', () => {
  assert.is(lineOf(MULTI, parseStepHeader('#5 [builder 3/3] RUN echo build > /out')), 5);
  assert.is(lineOf(MULTI, parseStepHeader('#6 [builder 2/3] WORKDIR /src')), 3);
  assert.is(lineOf(MULTI, parseStepHeader('#9 [stage-1 4/4] RUN echo "made to fail" && false')), 14);
  assert.is(lineOf(MULTI, parseStepHeader('#8 [stage-1 3/4] RUN <<EOF')), 10);
  // A stage FROM another stage has no FROM step; a frontend that does not number WORKDIR.
  const text = 'FROM debian AS base\nRUN one\nFROM base\nWORKDIR /x\nCOPY a /a\nRUN two\n';
  assert.is(lineOf(text, parseStepHeader('#9 [stage-1 3/3] RUN two')), 6);
  assert.is(lineOf(text, parseStepHeader('#9 [stage-1 2/2] RUN two')), 6);
  // One stage: unnamed, even with AS.
  assert.is(lineOf('FROM debian AS only\nWORKDIR /x\nRUN false\n', parseStepHeader('#7 [3/3] RUN false')), 3);
  assert.is(lineOf(text, parseStepHeader('#9 [nosuchstage 1/1] RUN two')), null);
});

test('the failing step: the one the BuildKit summary names (steps run in parallel), else the last header', () => {
  const buildkit = [
    '#5 [base 2/2] RUN sleep 1',
    '#6 [stage-1 2/3] RUN false',
    '#6 ERROR: exit code: 1',
    '#7 [stage-1 3/3] RUN never',
    '#5 CANCELED',
    '------',
    ' > [stage-1 2/3] RUN false:',
    '------',
  ];
  assert.is(failingHeaderIndex(buildkit), 1);
  assert.equal(failedStep(buildkit)?.text, 'RUN false');
  assert.equal(failedStep(buildkit.slice(-3))?.text, 'RUN false', 'the summary alone is enough: the report keeps only the last lines');
  assert.is(failedStep(['#3 [internal] load metadata for x', '#3 ERROR: not found', '------', ' > [internal] load metadata for x:', '------']), null);
  assert.is(failedStep(['Step 1/2 : FROM x', 'Step 2/2 : RUN false', 'boom'])?.text, 'RUN false');
  assert.is(failingHeaderIndex(['Step 1/2 : FROM x', 'Step 2/2 : RUN false', 'boom']), 1);
  assert.is(failedStep(['nothing here']), null);
});

test.run();
