import * as assert from 'uvu/assert';
import { TextSearch } from '../../src/model/text-search.js';
import { test } from '../helpers.js';

/** The answer TextSearch must give: each text asked on its own. */
function brute(texts: readonly string[], word: string): number[] {
  return texts.flatMap((text, i) => (text.includes(word) ? [i] : []));
}

test('text search: the texts that contain a word, ascending, each once', () => {
  const texts = ['- role: common\n- common\n', '', 'nginx', 'dependencies: []', 'common', 'xcommonx', 'comm', 'on'];
  const search = new TextSearch(texts);
  for (const word of ['common', 'nginx', 'comm', 'on', 'x', 'dependencies: []', 'absent', 'mon\0on']) {
    assert.equal(search.containing(word), brute(texts, word), word);
  }
  assert.equal(search.containing(''), brute(texts, ''), 'the empty word is in every text');
});

test('text search: a match across two texts is no match', () => {
  const search = new TextSearch(['abc', 'def']);
  assert.equal(search.containing('cd'), []);
  assert.equal(search.containing('c'), [0]);
  assert.equal(search.containing('d'), [1]);
});

test('text search: agrees with includes on generated texts', () => {
  // A fixed pseudo-random sequence: the same texts every run.
  let seed = 7;
  const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const letters = 'ab_-c';
  const word = (length: number): string => Array.from({ length }, () => letters[next(letters.length)]).join('');
  const texts = Array.from({ length: 300 }, () => word(next(40)));
  const search = new TextSearch(texts);
  for (let i = 0; i < 200; i++) {
    const probe = word(1 + next(5));
    assert.equal(search.containing(probe), brute(texts, probe), probe);
  }
  assert.equal(new TextSearch([]).containing('a'), []);
});

test.run();
