import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReorderBuffer } from '../../../src/correlate/reorder.js';

test('events leave in timestamp order once older than the window', () => {
  const buffer = new ReorderBuffer<{ tsNs: number; name: string }>(100);
  buffer.push({ tsNs: 300, name: 'c' });
  buffer.push({ tsNs: 100, name: 'a' });
  buffer.push({ tsNs: 200, name: 'b' });
  const out: string[] = [];
  buffer.release(350, (e) => out.push(e.name));
  assert.deepEqual(out, ['a', 'b']);
  buffer.release(1000, (e) => out.push(e.name));
  assert.deepEqual(out, ['a', 'b', 'c']);
  assert.equal(buffer.size, 0);
});

test('equal timestamps keep their arrival order', () => {
  const buffer = new ReorderBuffer<{ tsNs: number; name: string }>(0);
  for (const name of ['x', 'y', 'z']) buffer.push({ tsNs: 5, name });
  const out: string[] = [];
  buffer.flush((e) => out.push(e.name));
  assert.deepEqual(out, ['x', 'y', 'z']);
});

test('an event older than what was already released is counted as late, and still delivered', () => {
  const buffer = new ReorderBuffer<{ tsNs: number }>(10);
  buffer.push({ tsNs: 100 });
  buffer.release(200, () => {});
  buffer.push({ tsNs: 50 });
  assert.equal(buffer.late, 1);
  let delivered = 0;
  buffer.flush(() => delivered++);
  assert.equal(delivered, 1);
});

test('whatever the arrivals and releases, events leave as a stable sort of the waiting ones would release them', () => {
  const step = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 50 }) }), fc.record({ release: fc.integer({ min: 0, max: 60 }) }));
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const buffer = new ReorderBuffer<{ tsNs: number; id: number }>(5);
      let model: Array<{ tsNs: number; id: number }> = [];
      const out: number[] = [];
      const expected: number[] = [];
      let id = 0;
      for (const s of steps) {
        if ('push' in s) {
          const event = { tsNs: s.push, id: id++ };
          buffer.push(event);
          model.push(event);
        } else {
          buffer.release(s.release, (e) => out.push(e.id));
          model = [...model].sort((a, b) => a.tsNs - b.tsNs);
          const ready = model.filter((e) => e.tsNs <= s.release - 5);
          model = model.filter((e) => e.tsNs > s.release - 5);
          expected.push(...ready.map((e) => e.id));
        }
        assert.equal(buffer.size, model.length);
      }
      buffer.flush((e) => out.push(e.id));
      expected.push(...[...model].sort((a, b) => a.tsNs - b.tsNs).map((e) => e.id));
      assert.deepEqual(out, expected);
    }),
  );
});

test('a long window released a slice at a time keeps its order when the released part is dropped', () => {
  const buffer = new ReorderBuffer<{ tsNs: number; id: number }>(0);
  // Arrivals nearly in order, each tenth one late by a few steps: the shape of two rings.
  const ids: number[] = [];
  for (let id = 0; id < 20_000; id++) buffer.push({ tsNs: id % 10 === 9 ? id - 3 : id, id });
  const out: Array<{ tsNs: number; id: number }> = [];
  for (let limit = 0; limit < 20_000; limit += 997) {
    buffer.release(limit, (event) => out.push(event));
    for (let id = 20_000 + limit; id < 20_000 + limit + 5; id++) buffer.push({ tsNs: id, id });
  }
  buffer.flush((event) => out.push(event));
  for (const event of out) ids.push(event.id);
  assert.equal(out.length, 20_000 + 21 * 5);
  for (let i = 1; i < out.length; i++) assert.ok((out[i - 1] as { tsNs: number }).tsNs <= (out[i] as { tsNs: number }).tsNs, `in order at ${i}`);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(buffer.size, 0);
});
