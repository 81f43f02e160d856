import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOSS_COUNTERS, NOT_LOSSES, RING_LOSSES, TABLE_LOSSES } from '../../../src/kernel/counters.js';
import { COUNTER_NAMES } from '../../../src/kernel/layout.js';

test('every kernel counter is classified once: a ring loss, a table loss, or no lost record', () => {
  const classified = [...RING_LOSSES, ...Object.keys(TABLE_LOSSES), ...NOT_LOSSES];
  assert.deepEqual([...classified].sort(), [...COUNTER_NAMES].sort());
  assert.equal(new Set(classified).size, classified.length);
});

test('the drop_ counters are the ring losses; a full table is a loss of its own, connecting included', () => {
  assert.deepEqual([...RING_LOSSES].sort(), COUNTER_NAMES.filter((name) => name.startsWith('drop_')).sort());
  assert.equal(TABLE_LOSSES.connecting_full, 'connecting');
  for (const name of ['sockets_full', 'lookups_full', 'connecting_full', 'drop_connect'] as const) assert.ok(LOSS_COUNTERS.has(name), name);
  for (const name of NOT_LOSSES) assert.ok(!LOSS_COUNTERS.has(name), name);
});
