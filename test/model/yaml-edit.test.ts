import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ConfigError } from '../../src/errors.js';
import { editYaml, parseKeyPath } from '../../src/model/yaml-edit.js';
import { fixturePath, test } from '../helpers.js';

const fixture = (name: string): string => readFileSync(fixturePath(`write-back/${name}`), 'utf8');
const INSTANCE = fixture('instance.yml');
const REF = '127.0.0.1:5055/edxops/openedx:1.2.3';

/** The lines of `after` that differ from `before`, with their line numbers (same line count). */
function changedLines(before: string, after: string): [number, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  assert.is(b.length, a.length, 'no line was added or removed');
  return b.flatMap((line, i) => (line === a[i] ? [] : [[i + 1, line] as [number, string]]));
}

const edit = (text: string, key: string, value: string, create = false) => editYaml(text, 'config.yml', [{ path: parseKeyPath(key), value }], { create });

function throwsConfig(run: () => unknown, pattern: RegExp): void {
  try {
    run();
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('expected a ConfigError');
}

test('a top-level single-quoted value: only that line changes, quotes and trailing comment kept', () => {
  const result = edit(INSTANCE, 'DOCKER_IMAGE_OPENEDX', REF);
  assert.equal(changedLines(INSTANCE, result.text), [[4, `DOCKER_IMAGE_OPENEDX: '${REF}'  # written back by the release push`]]);
  assert.equal(result.changes, [{ path: ['DOCKER_IMAGE_OPENEDX'], before: 'edxops/openedx:sha-0000000', after: REF, line: 4, created: false }]);
});

test('plain and double-quoted nested values keep their style; a quoted key is found by its value', () => {
  const plain = edit(INSTANCE, 'images.openedx', REF);
  assert.equal(changedLines(INSTANCE, plain.text), [[9, `  openedx: ${REF}`]]);
  const quoted = edit(INSTANCE, 'images.worker', 'r/worker:2@sha256:' + 'a'.repeat(64));
  assert.equal(changedLines(INSTANCE, quoted.text), [[10, `  worker: "r/worker:2@sha256:${'a'.repeat(64)}"`]]);
  const key = edit(INSTANCE, 'images.quoted key', 'x/q:2');
  assert.equal(changedLines(INSTANCE, key.text), [[11, '  "quoted key": x/q:2']]);
});

test('an anchored value keeps its anchor, and what aliases it follows (a merge key too)', () => {
  const result = edit(INSTANCE, 'defaults.memcached', 'x/memcached:2');
  assert.equal(changedLines(INSTANCE, result.text), [[14, '  memcached: &memcached x/memcached:2']]);
  const data = parse(result.text, { merge: true }) as { staging: { cache: string; memcached: string } };
  assert.equal([data.staging.cache, data.staging.memcached], ['x/memcached:2', 'x/memcached:2']);
});

test('an alias is refused: the value lives at its anchor', () => {
  throwsConfig(() => edit(INSTANCE, 'staging.cache', 'x'), /^config\.yml:19: staging\.cache is an alias \(\*memcached\)/);
});

test('a flow mapping value, an empty value, several edits at once', () => {
  const flow = edit(INSTANCE, 'flow.nginx', 'x/nginx:2');
  assert.equal(changedLines(INSTANCE, flow.text), [[21, 'flow: {nginx: x/nginx:2, port: 8080}']]);
  const empty = edit(INSTANCE, 'empty', 'x/e:1');
  assert.equal(changedLines(INSTANCE, empty.text), [[22, 'empty: x/e:1']]);
  const both = editYaml(INSTANCE, 'c.yml', [{ path: ['DOCKER_IMAGE_FORUM'], value: 'f:2' }, { path: ['images', 'openedx'], value: 'o:2' }], { create: false });
  assert.equal(changedLines(INSTANCE, both.text), [[5, 'DOCKER_IMAGE_FORUM: f:2'], [9, '  openedx: o:2']]);
  assert.equal(both.changes.map((change) => change.line), [5, 9]);
});

test('a value that would read back as another type is quoted', () => {
  const result = edit('port: x\n', 'port', '8080');
  assert.is(result.text, 'port: "8080"\n');
  assert.is((parse(result.text) as { port: unknown }).port, '8080');
});

test('a missing key is an error naming the file, the line and what is there; nothing is written', () => {
  throwsConfig(() => edit(INSTANCE, 'DOCKER_IMAGE_NOTES', REF), /^config\.yml:\d+: no key DOCKER_IMAGE_NOTES \(DOCKER_IMAGE_NOTES is missing; the file has EDXAPP_PLATFORM_NAME, DOCKER_IMAGE_OPENEDX/);
  throwsConfig(() => edit(INSTANCE, 'images.notes', REF), /^config\.yml:9: no key images\.notes \(notes is missing; images has openedx, worker, quoted key\)/);
  throwsConfig(() => edit(INSTANCE, 'DOCKER_IMAGE_FORUM.tag', REF), /DOCKER_IMAGE_FORUM is a string value, not a mapping/);
  throwsConfig(() => edit(INSTANCE, 'images', REF), /images holds a mapping, not a single value/);
});

test('with create, a missing key is added at the end of its mapping, nested ones too', () => {
  const top = edit(INSTANCE, 'DOCKER_IMAGE_NOTES', REF, true);
  assert.is(top.text, `${INSTANCE}DOCKER_IMAGE_NOTES: ${REF}\n`);
  assert.is(top.changes[0]?.created, true);
  const nested = edit(INSTANCE, 'images.notes', 'x/notes:1', true);
  assert.ok(nested.text.includes('  "quoted key": edxops/quoted:1.0.0\n  notes: x/notes:1\n\ndefaults:'), nested.text);
  const deeper = edit(INSTANCE, 'release.images.notes', 'x/notes:1', true);
  assert.ok(deeper.text.endsWith('empty:\nrelease:\n  images:\n    notes: x/notes:1\n'), deeper.text);
  const flow = edit(INSTANCE, 'flow.memcached', 'm:1', true);
  assert.ok(flow.text.includes('flow: {nginx: edxops/nginx:1.0.0, port: 8080, memcached: m:1}\n'), flow.text);
  assert.is(edit('', 'a.b', 'v', true).text, 'a:\n  b: v\n');
  assert.is(edit('# only a comment', 'a', 'v', true).text, '# only a comment\na: v\n');
});

test('CRLF line breaks and a byte order mark are kept, in edits and in added keys', () => {
  const text = '\ufeffa: 1\r\nb: "x"  # c\r\nnested:\r\n  k: v\r\n';
  assert.is(edit(text, 'b', 'y').text, '\ufeffa: 1\r\nb: "y"  # c\r\nnested:\r\n  k: v\r\n');
  assert.is(edit(text, 'z', 'y', true).text, `${text}z: y\r\n`);
  assert.is(edit(text, 'nested.n', 'y', true).text, '\ufeffa: 1\r\nb: "x"  # c\r\nnested:\r\n  k: v\r\n  n: y\r\n');
});

test('a file that is not a mapping is refused, and so is YAML that does not parse', () => {
  throwsConfig(() => edit(fixture('list.yml'), 'openedx', REF), /^config\.yml:1: the file is a list, not a mapping/);
  throwsConfig(() => edit(fixture('scalar.yml'), 'openedx', REF, true), /^config\.yml:1: the file is a string value, not a mapping/);
  throwsConfig(() => edit('a: [1, 2\nb: 3\n', 'a', REF), /^config\.yml:\d+: /);
  throwsConfig(() => edit('', 'a', REF), /no key a/);
});

test('key paths: dots nest, a backslash keeps a dot, empty parts are refused', () => {
  assert.equal(parseKeyPath('images.openedx'), ['images', 'openedx']);
  assert.equal(parseKeyPath('a\\.b.c'), ['a.b', 'c']);
  throwsConfig(() => parseKeyPath('a..b'), /not a key path/);
  throwsConfig(() => parseKeyPath(''), /not a key path/);
});

test.run();
