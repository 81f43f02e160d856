import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoMicros, monotonicClock } from '../../src/clock.js';

test('times print as ISO-8601 with microseconds', () => {
  assert.equal(isoMicros(Date.UTC(2026, 10, 23, 18, 36, 4, 123) + 0.456), '2026-11-23T18:36:04.123456Z');
  assert.equal(isoMicros(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000000Z');
});

test('a kernel time converts with the calibrated offset, to the nanosecond', () => {
  const clock = monotonicClock(1_700_000_000_000_000_000 - 5_000_000_000);
  assert.equal(clock.wallMs(5_000_000_000), 1_700_000_000_000);
  assert.equal(clock.iso(5_000_000_000 + 1_500), '2023-11-14T22:13:20.000001Z');
});

test('now converts to about the wall clock', () => {
  const clock = monotonicClock();
  assert.ok(Math.abs(clock.wallMs(clock.nowNs()) - Date.now()) < 50);
});
