import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../../src/storage/backoff.js';

const policy = { baseMs: 100, maxMs: 5000 };

test('the ceiling doubles with every failure in a row, up to the bound', () => {
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((failures) => backoffDelayMs(failures, policy, () => 0.999999));
  assert.deepEqual(ceilings, [99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
});

test('full jitter: any delay from zero to the ceiling', () => {
  assert.equal(
    backoffDelayMs(4, policy, () => 0),
    0,
  );
  assert.equal(
    backoffDelayMs(4, policy, () => 0.5),
    400,
  );
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelayMs(1 + (i % 12), policy);
    assert.ok(delay >= 0 && delay < 5000);
  }
});

test('a throttled retry waits at least half of a ceiling that starts at throttleBaseMs', () => {
  const throttling = { baseMs: 100, maxMs: 5000, throttleBaseMs: 400 };
  assert.equal(
    backoffDelayMs(1, throttling, () => 0, true),
    200,
  );
  assert.equal(
    backoffDelayMs(1, throttling, () => 0.999999, true),
    399,
  );
  assert.equal(
    backoffDelayMs(3, throttling, () => 0, true),
    800,
  );
  assert.equal(
    backoffDelayMs(20, throttling, () => 0, true),
    2500,
    'bounded by maxMs',
  );
  // Without throttleBaseMs the throttled ceiling starts at four times the base.
  assert.equal(
    backoffDelayMs(1, policy, () => 0, true),
    200,
  );
  for (let i = 0; i < 1000; i++) {
    const failures = 1 + (i % 12);
    const ceiling = Math.min(5000, 400 * 2 ** (failures - 1));
    const delay = backoffDelayMs(failures, throttling, Math.random, true);
    assert.ok(delay >= ceiling / 2 && delay < ceiling, `${delay} for ${failures} failures`);
  }
});
