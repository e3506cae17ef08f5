import * as assert from 'uvu/assert';
import { test } from '../helpers.js';
import { canonicalRepository, formatImageRef, parseImageRef, type ImageRef } from '../../src/model/image-ref.js';

const ok = (text: string): ImageRef => {
  const result = parseImageRef(text);
  if (!result.ok) throw new Error(`${text}: ${result.reason}`);
  return result.ref;
};

test('parses the forms Dockerfiles use', () => {
  assert.equal(ok('ubuntu'), { domain: null, path: 'ubuntu', tag: null, digest: null });
  assert.equal(ok('edxops/forum:latest'), { domain: null, path: 'edxops/forum', tag: 'latest', digest: null });
  assert.equal(ok('localhost:5000/edxops/x:1.2'), { domain: 'localhost:5000', path: 'edxops/x', tag: '1.2', digest: null });
  assert.equal(ok('ghcr.io/org/repo/svc'), { domain: 'ghcr.io', path: 'org/repo/svc', tag: null, digest: null });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(ok(`ubuntu@${digest}`), { domain: null, path: 'ubuntu', tag: null, digest });
  assert.equal(ok(`ubuntu:focal@${digest}`).tag, 'focal');
});

test('formats back to what was written', () => {
  for (const text of ['ubuntu', 'edxops/forum:latest', 'localhost:5000/a/b:c', `x@sha256:${'0'.repeat(64)}`]) {
    assert.is(formatImageRef(ok(text)), text);
  }
});

test('refuses what the daemon refuses, saying why', () => {
  const cases: [string, RegExp][] = [
    ['edxops/x:', /tag after ":" is empty/],
    ['edxops//x', /not a valid repository name/],
    ['edxops/X', /must be lowercase/],
    ['', /empty/],
    ['a@sha256:zz', /not a valid digest/],
  ];
  for (const [text, reason] of cases) {
    const result = parseImageRef(text);
    assert.is(result.ok, false, text);
    if (!result.ok) assert.match(result.reason, reason);
  }
});

test('canonical repository makes Docker Hub explicit', () => {
  assert.equal(canonicalRepository(ok('ubuntu')), { domain: 'docker.io', path: 'library/ubuntu' });
  assert.equal(canonicalRepository(ok('edxops/x')), { domain: 'docker.io', path: 'edxops/x' });
  assert.equal(canonicalRepository(ok('localhost:5000/x')), { domain: 'localhost:5000', path: 'x' });
});

test.run();
