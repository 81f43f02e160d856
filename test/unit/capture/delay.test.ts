import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDelay } from '../../../src/capture/delay.js';
import type { CapturedPacket } from '../../../src/kernel/packets.js';

const packet = (tsNs: number, byte: number): CapturedPacket => ({
  tsNs,
  cpu: 0,
  ifindex: 1,
  direction: 'in',
  wireLength: 1,
  dropped: false,
  gso: false,
  data: Uint8Array.from([byte]),
});

test('frames wait until the events up to their time are applied, then leave in order with their own copy of the bytes', () => {
  const written: CapturedPacket[] = [];
  const delay = new PacketDelay((p) => written.push(p));
  const shared = packet(10, 1);
  delay.push(shared);
  shared.data[0] = 99; // the batch is reused after the handler returns
  delay.push(packet(50, 2));
  delay.push(packet(200, 3));
  delay.release(49);
  assert.deepEqual(
    written.map((p) => p.data[0]),
    [1],
  );
  delay.release(50);
  assert.deepEqual(
    written.map((p) => p.data[0]),
    [1, 2],
  );
  delay.release(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    written.map((p) => p.tsNs),
    [10, 50, 200],
  );
});
