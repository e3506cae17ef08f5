import * as assert from 'uvu/assert';
import { keyedRecords, OrderedRecords } from '../../src/discover/ordered-records.js';
import { test } from '../helpers.js';

test('records asked in their order, out of it, twice, or missing: each key gives its own record', () => {
  const records = ['a', 'b', 'c', 'd', 'e'].map((key, i) => [key, i] as const);
  const ordered = new OrderedRecords(records);
  const asked = ['a', 'b', 'x', 'c', 'e', 'd', 'd', 'a', 'b', 'c', 'y', ''];
  assert.equal(asked.map((key) => ordered.get(key)?.[1]), [0, 1, undefined, 2, 4, 3, 3, 0, 1, 2, undefined, undefined]);
  assert.is(ordered.size, 5);
  assert.is(new OrderedRecords([]).get('a'), undefined);
});

test('only an array of records of the given length, keyed by a string, is records', () => {
  assert.equal(keyedRecords([['a', 1]], 2), [['a', 1]]);
  for (const value of [null, {}, 'a', [['a']], [['a', 1, 2]], [[1, 1]], [null], [['a', 1], 'b']]) assert.is(keyedRecords(value, 2), null, JSON.stringify(value));
});

test.run();
