// The Dockerfile a build sends: the image's labels as one LABEL instruction at its end, so that
// the classic builder does not make each label a step (a container) of its own.

import * as assert from 'uvu/assert';
import { withLabelInstruction } from '../../src/execute/context.js';
import { lexDockerfile } from '../../src/model/dockerfile-lex.js';
import { test } from '../helpers.js';

const DOCKERFILE = 'FROM debian:bookworm\nARG VERSION=1\nRUN echo "$VERSION"\n';

test('one LABEL instruction after the last one, keys sorted; the lines before are as they were', () => {
  const text = withLabelInstruction(DOCKERFILE, { 'org.opencontainers.image.title': 'forum', 'org.dockmk.key': 'sha256:abc' });
  assert.ok(text !== null);
  assert.ok(text.startsWith(DOCKERFILE));
  const { lines } = lexDockerfile(text);
  assert.equal(lines.map((line) => line.line), [1, 2, 3, 4]);
  assert.is(text.split('\n')[3], 'LABEL "org.dockmk.key"="sha256:abc" "org.opencontainers.image.title"="forum"');
});

test('quotes, backslashes and dollars are escaped, so the builder neither splits nor expands them', () => {
  const text = withLabelInstruction('FROM x', { note: 'say "hi" to $VERSION \\o/', 'a b': 'c' });
  assert.is(text, 'FROM x\nLABEL "a b"="c" "note"="say \\"hi\\" to \\$VERSION \\\\o/"\n');
});

test('left to the API parameter: no labels, a line break in one, an escape directive, a trailing continuation', () => {
  assert.is(withLabelInstruction(DOCKERFILE, {}), null);
  assert.is(withLabelInstruction(DOCKERFILE, { note: 'two\nlines' }), null);
  assert.is(withLabelInstruction('# escape=`\nFROM x\n', { a: 'b' }), null);
  assert.is(withLabelInstruction('FROM x\nRUN true \\\n', { a: 'b' }), null);
});

test.run();
