import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { startNsToTicks, ticksToStartNs } from '../../../src/system/start-ticks.js';

test("the kernel's start ns become /proc's clock ticks by integer division, as nsec_to_clock_t does", () => {
  assert.equal(startNsToTicks(0), 0);
  assert.equal(startNsToTicks(9_999_999), 0);
  assert.equal(startNsToTicks(10_000_000), 1);
  assert.equal(startNsToTicks(123_456_789_012), 12_345);
  assert.equal(startNsToTicks(123_456_789_012, 1000), 123_456);
  assert.equal(ticksToStartNs(12_345), 123_450_000_000);
  assert.equal(ticksToStartNs(123_456, 1000), 123_456_000_000);
});

test('ticks and ns convert back and forth up to 2^53 ns (104 days of uptime)', () => {
  assert.equal(startNsToTicks(Number.MAX_SAFE_INTEGER), 900_719_925);
  assert.equal(startNsToTicks(900_719_925 * 10_000_000 - 1), 900_719_924);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ns) => {
      const ticks = startNsToTicks(ns);
      assert.ok(ticksToStartNs(ticks) <= ns && ns < ticksToStartNs(ticks + 1));
      assert.equal(startNsToTicks(ticksToStartNs(ticks)), ticks);
    }),
  );
});

test('a tick rate that does not divide a second is refused', () => {
  assert.throws(() => startNsToTicks(1, 1024), RangeError);
  assert.throws(() => ticksToStartNs(1, 0), RangeError);
});
