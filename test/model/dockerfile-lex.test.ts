import * as assert from 'uvu/assert';
import { test } from '../helpers.js';
import { expandWord, lexDockerfile, splitWords } from '../../src/model/dockerfile-lex.js';

const env = (entries: Record<string, string>) => new Map(Object.entries(entries));

test('joins continuation lines and drops comment lines inside them', () => {
  const { lines } = lexDockerfile('FROM a\nRUN echo one \\\n  # a comment\n\n  two\nCMD x\n');
  assert.equal(
    lines.map((l) => [l.keyword, l.args, l.line, l.endLine]),
    [
      ['FROM', 'a', 1, 1],
      ['RUN', 'echo one   two', 2, 5],
      ['CMD', 'x', 6, 6],
    ],
  );
});

test('keywords are case-insensitive and leading whitespace is ignored', () => {
  const { lines } = lexDockerfile('  from ubuntu:focal as base\n\tRun true');
  assert.equal(lines.map((l) => l.keyword), ['FROM', 'RUN']);
  assert.is(lines[0]?.args, 'ubuntu:focal as base');
});

test('the escape directive switches the continuation character', () => {
  const { escape, lines } = lexDockerfile('# escape=`\nFROM edxops/xenial-common:latest `\n  AS base\nRUN dir c:\\\n');
  assert.is(escape, '`');
  assert.is(lines[0]?.args, 'edxops/xenial-common:latest   AS base');
  assert.is(lines[1]?.args, 'dir c:\\');
});

test('directives count only before the first other line', () => {
  const { escape } = lexDockerfile('FROM a\n# escape=`\n');
  assert.is(escape, '\\');
});

test('a trailing continuation at end of file still yields the instruction', () => {
  const { lines } = lexDockerfile('FROM a \\');
  assert.equal(lines.map((l) => l.args), ['a']);
});

test('CRLF files lex like LF files', () => {
  const { lines } = lexDockerfile('FROM a\r\nRUN b \\\r\n c\r\n');
  assert.equal(lines.map((l) => l.args), ['a', 'b  c']);
});

test('splitWords keeps quoted words whole', () => {
  assert.equal(splitWords(`a "b c" 'd e'  f\\ g`, '\\'), ['a', '"b c"', "'d e'", 'f\\ g']);
});

/** splitWords as it was first written, a character at a time: what the faster one must match. */
function referenceSplit(args: string, escape: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i] as string;
    if (quote === null && /\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    current += ch;
    if (ch === escape && quote !== "'" && i + 1 < args.length) current += args[++i];
    else if (quote === null && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = null;
  }
  if (inWord) words.push(current);
  return words;
}

test('splitWords splits as the reference does, on random text of quotes, escapes and spaces', () => {
  const alphabet = ['a', 'b', ' ', ' ', '\t', '\n', '"', "'", '\\', '`', '$', '{', '\u00a0', '\u3000', 'é', '🐳'];
  let seed = 7;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 3000; n++) {
    const text = Array.from({ length: Math.floor(next() * 24) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    for (const escape of ['\\', '`']) assert.equal(splitWords(text, escape), referenceSplit(text, escape), JSON.stringify({ text, escape }));
  }
});

test('expands $VAR, ${VAR} and the default forms', () => {
  const vars = env({ TAG: 'latest', EMPTY: '' });
  assert.is(expandWord('edxops/x:${TAG}', vars, '\\').value, 'edxops/x:latest');
  assert.is(expandWord('edxops/x:$TAG', vars, '\\').value, 'edxops/x:latest');
  assert.is(expandWord('x:${MISSING:-focal}', vars, '\\').value, 'x:focal');
  assert.is(expandWord('x:${EMPTY:-focal}', vars, '\\').value, 'x:focal');
  assert.is(expandWord('x:${EMPTY-focal}', vars, '\\').value, 'x:');
  assert.is(expandWord('x:${TAG:+set}', vars, '\\').value, 'x:set');
  assert.is(expandWord('x:${MISSING:+set}', vars, '\\').value, 'x:');
});

test('reports variables used without a value', () => {
  const result = expandWord('edxops/x:${TAG}', env({}), '\\');
  assert.is(result.value, 'edxops/x:');
  assert.equal(result.unset, ['TAG']);
});

test('quotes and escapes: single quotes are literal, escaped $ is literal', () => {
  const vars = env({ A: '1' });
  assert.is(expandWord(`'$A'"$A"\\$A`, vars, '\\').value, '$A1$A');
  assert.is(expandWord('`$A', vars, '`').value, '$A');
});

test('a byte order mark and CRLF line ends, as Docker reads them: the escape directive after the BOM still counts', () => {
  const { escape, lines, badEscape } = lexDockerfile('\uFEFF# escape=`\r\nFROM edxops/base:latest\r\nRUN echo one `\r\n    > /one\r\nCMD ["x"]\r\n');
  assert.is(escape, '`');
  assert.is(badEscape, undefined);
  assert.equal(lines.map((l) => [l.keyword, l.args, l.line, l.endLine]), [
    ['FROM', 'edxops/base:latest', 2, 2],
    ['RUN', 'echo one     > /one', 3, 4],
    ['CMD', '["x"]', 5, 5],
  ]);
  assert.equal(lexDockerfile('\uFEFFFROM a\r\n').lines.map((l) => l.keyword), ['FROM']);
});

test('an escape directive Docker refuses is reported with its line; a directive after an instruction is a comment', () => {
  assert.equal(lexDockerfile('# syntax=docker/dockerfile:1\n# escape=x\nFROM a\n').badEscape, { line: 2, value: 'x' });
  const late = lexDockerfile('FROM a\n# escape=`\nRUN b \\\n  c\n');
  assert.is(late.escape, '\\');
  assert.is(late.lines[1]?.args, 'b   c');
});

test.run();
