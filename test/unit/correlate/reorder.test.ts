import { test } from 'node:test';
import assert from 'node:assert/strict';
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
