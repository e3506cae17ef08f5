import * as assert from 'uvu/assert';
import { buildkitOnlySyntax } from '../../src/model/buildkit-syntax.js';
import { test } from '../helpers.js';

const found = (text: string) => buildkitOnlySyntax(text).map((f) => `${f.line}: ${f.feature}`);

test('a classic Dockerfile has none', () => {
  const text = [
    '# escape=\\',
    'ARG BASE=debian:bookworm',
    'FROM --platform=linux/amd64 $BASE AS base',
    'COPY --from=base --chown=app:app /a /b',
    'RUN echo "<<EOF is only text here" && cat <<< "a here-string"',
    '# RUN --mount=type=cache,target=/x in a comment',
    'ADD . /edx/app',
    '',
  ].join('\n');
  assert.equal(found(text), []);
});

test('RUN --mount, --network and --security, each at its line', () => {
  const text = [
    'FROM debian:bookworm AS builder',
    'RUN echo build',
    'FROM debian:bookworm',
    'RUN --mount=from=builder,source=/x,target=/x \\',
    '    --network=none cp /x /y',
    'RUN --security=insecure true',
    '',
  ].join('\n');
  assert.equal(found(text), ['4: RUN --mount', '4: RUN --network', '6: RUN --security']);
});

test('the # syntax= directive counts only as a directive, at the top', () => {
  assert.equal(found('# syntax=docker/dockerfile:1.4\nFROM debian\n'), ['1: the # syntax= directive (docker/dockerfile:1.4)']);
  assert.equal(found('# escape=`\n#syntax = docker/dockerfile:1\nFROM debian\n'), ['2: the # syntax= directive (docker/dockerfile:1)']);
  assert.equal(found('FROM debian\n# syntax=docker/dockerfile:1\n'), [], 'after an instruction it is a comment');
});

test('heredocs in RUN and COPY, with their bodies not read as instructions', () => {
  const text = [
    'FROM debian:bookworm',
    'RUN <<EOF',
    'RUN --mount=type=cache,target=/x echo this line is the script, not an instruction',
    'EOF',
    'COPY <<-"CONF" /etc/app.conf',
    '\tkey = value',
    '\tCONF',
    'RUN cat <<NOEND',
    '',
  ].join('\n');
  assert.equal(found(text), ['2: a heredoc in RUN (<<EOF)', '5: a heredoc in COPY (<<CONF)']);
});

test('COPY --link, --chmod and ADD --checksum are BuildKit-only flags', () => {
  const text = 'FROM debian\nCOPY --link a /a\nCOPY --chown=1 --chmod=644 b /b\nADD --checksum=sha256:0 http://x/y /y\n';
  assert.equal(found(text), ['2: COPY --link', '3: COPY --chmod', '4: ADD --checksum']);
});

test.run();
