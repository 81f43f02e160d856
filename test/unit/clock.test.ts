import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoMicros, monotonicClock } from '../../src/clock.js';

test('times print as ISO-8601 with microseconds', () => {
  assert.equal(isoMicros(Date.UTC(2026, 10, 23, 18, 36, 4, 123) + 0.456), '2026-11-23T18:36:04.123456Z');
  assert.equal(isoMicros(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000000Z');
});

test('the second kept from the last call never leaks into the next: the same text as Date gives, in any order', () => {
  const byDate = (wallMs: number) => {
    const whole = Math.floor(wallMs);
    return `${new Date(whole).toISOString().slice(0, -1)}${String(Math.floor((wallMs - whole) * 1000)).padStart(3, '0')}Z`;
  };
  const around = Date.UTC(2026, 11, 31, 23, 59, 59);
  fc.assert(
    fc.property(fc.array(fc.double({ min: around - 3000, max: around + 3000, noNaN: true }), { minLength: 1, maxLength: 20 }), (times) => {
      for (const wallMs of times) assert.equal(isoMicros(wallMs), byDate(wallMs));
    }),
  );
  assert.equal(isoMicros(around + 999.999), '2026-12-31T23:59:59.999999Z');
  assert.equal(isoMicros(around + 1000), '2027-01-01T00:00:00.000000Z');
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
