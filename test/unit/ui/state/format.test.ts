import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAge, formatBytes, formatCount, formatDuration, formatEndpoint, formatLatency, formatRate } from '../../../../src/ui/state/format.js';

test('sizes are short powers of 1024, unknown is a dash', () => {
  assert.equal(formatBytes(0), '0B');
  assert.equal(formatBytes(1023), '1023B');
  assert.equal(formatBytes(1536), '1.5K');
  assert.equal(formatBytes(123_457), '121K');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0G');
  assert.equal(formatBytes(null), '-');
  assert.equal(formatRate(0), '-');
  assert.equal(formatRate(2048), '2.0K/s');
});

test('durations, latencies and ages read at a glance and stay narrow', () => {
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(12_345), '12.3s');
  assert.equal(formatDuration(245_000), '4m05s');
  assert.equal(formatDuration(3 * 3600_000 + 12 * 60_000), '3h12m');
  assert.equal(formatDuration(2 * 86_400_000 + 4 * 3600_000), '2d04h');
  assert.equal(formatDuration(null), '-');
  assert.equal(formatLatency(0.4123), '0.412ms');
  assert.equal(formatLatency(12.34), '12.3ms');
  assert.equal(formatLatency(1200), '1.2s');
  assert.equal(formatAge(500), 'now');
  assert.equal(formatAge(75_000), '1m');
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatCount(4_500_000), '4.5M');
  for (const text of [formatDuration(99 * 86_400_000), formatBytes(1023 * 1024 ** 4), formatRate(999 * 1024 ** 3)]) {
    assert.ok(text.length <= 10, text);
  }
});

test('IPv6 endpoints are bracketed', () => {
  assert.equal(formatEndpoint('10.0.0.1', 443), '10.0.0.1:443');
  assert.equal(formatEndpoint('fd00::1', 443), '[fd00::1]:443');
});
