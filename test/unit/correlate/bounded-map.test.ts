import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BoundedMap } from '../../../src/correlate/bounded-map.js';

test('past its bound the least recently used entry goes, counted and handed to onEvict', () => {
  const evicted: Array<[string, number]> = [];
  const map = new BoundedMap<string, number>(2, (key, value) => evicted.push([key, value]));
  map.set('a', 1).set('b', 2);
  assert.equal(map.get('a'), 1, 'a is now the most recently used');
  map.set('c', 3);
  assert.deepEqual(evicted, [['b', 2]]);
  assert.equal(map.evicted, 1);
  assert.deepEqual(
    [...map.entries()],
    [
      ['a', 1],
      ['c', 3],
    ],
    'least recently used first',
  );
});

test('peek leaves recency alone; set of a present key replaces it without evicting', () => {
  const map = new BoundedMap<string, number>(2);
  map.set('a', 1).set('b', 2);
  assert.equal(map.peek('a'), 1);
  map.set('b', 20);
  assert.equal(map.evicted, 0);
  map.set('c', 3);
  assert.equal(map.has('a'), false, 'a was the least recently used: peek did not refresh it');
  assert.deepEqual([...map.values()], [20, 3]);
});

test('a table that empties out and fills again keeps working (the lru-cache clear() path)', () => {
  const map = new BoundedMap<number, number>(262_144);
  for (let i = 0; i < 10_000; i++) {
    map.set(i, i);
    assert.equal(map.delete(i), true);
  }
  assert.equal(map.size, 0);
  assert.equal(map.evicted, 0);
});

test('a bound below 1 is refused', () => {
  assert.throws(() => new BoundedMap(0), RangeError);
  assert.throws(() => new BoundedMap(1.5), RangeError);
});

test('it holds exactly what a model LRU holds, whatever the operations', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
      const map = new BoundedMap<number, number>(max);
      // The model: an array in recency order, least recent first.
      const model: Array<[number, number]> = [];
      let evicted = 0;
      for (const o of ops) {
        const at = model.findIndex(([k]) => k === o.key);
        if (o.kind === 'set') {
          if (at >= 0) model.splice(at, 1);
          model.push([o.key, o.value]);
          if (model.length > max) {
            model.shift();
            evicted++;
          }
          map.set(o.key, o.value);
        } else if (o.kind === 'get') {
          const entry = at >= 0 ? model.splice(at, 1)[0] : undefined;
          if (entry) model.push(entry);
          assert.equal(map.get(o.key), entry?.[1]);
        } else {
          if (at >= 0) model.splice(at, 1);
          assert.equal(map.delete(o.key), at >= 0);
        }
      }
      assert.deepEqual([...map.entries()], model);
      assert.equal(map.evicted, evicted);
    }),
  );
});
