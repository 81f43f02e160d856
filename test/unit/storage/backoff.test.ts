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
