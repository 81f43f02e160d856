import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchSeq,
  compactTime,
  epochMicros,
  hostSegment,
  newRunId,
  normalizePrefix,
  normalizeTime,
  objectName,
  partitionFolder,
  partitionOf,
  recordTime,
} from '../../../src/storage/layout.js';
import { numberedDns, sampleRecords } from '../../helpers/storage/sample-records.js';

test('a record is partitioned by its own time in UTC: ts, or start for flows', () => {
  const [dns, , flow] = sampleRecords(3, '2026-11-23T23:59:59.999999Z');
  assert.equal(recordTime(dns!), '2026-11-23T23:59:59.999999Z');
  assert.equal(flow!.type, 'flow');
  assert.equal(recordTime(flow!), (flow as { start: string }).start);
  assert.deepEqual(partitionOf(normalizeTime('2026-11-23T23:59:59.999999Z')), { dt: '2026-11-23', hour: '23' });
  // An offset time lands in its UTC hour.
  assert.deepEqual(partitionOf(normalizeTime('2026-11-24T01:30:00.5+02:00')), { dt: '2026-11-23', hour: '23' });
});

test('times in other spellings are normalized to UTC with microseconds; garbage is refused', () => {
  assert.equal(normalizeTime('2026-11-23T18:36:04.123456Z'), '2026-11-23T18:36:04.123456Z');
  assert.equal(normalizeTime('2026-11-23T18:36:04Z'), '2026-11-23T18:36:04.000000Z');
  assert.equal(normalizeTime('2026-11-23T18:36:04.1Z'), '2026-11-23T18:36:04.100000Z');
  assert.equal(normalizeTime('2026-11-23T18:36:04.1234567Z'), '2026-11-23T18:36:04.123456Z');
  assert.equal(normalizeTime('2026-11-23T20:36:04.000007+02:00'), '2026-11-23T18:36:04.000007Z');
  assert.throws(() => normalizeTime('yesterday'), RangeError);
});

test('the compact time is filename-safe and sorts like the time', () => {
  assert.equal(compactTime('2026-11-23T18:36:04.123456Z'), '20261123T183604.123456Z');
  assert.match(compactTime('2026-01-02T03:04:05.000006Z'), /^[0-9TZ.]+$/);
  assert.ok(compactTime('2026-01-02T03:04:05.000006Z') < compactTime('2026-01-02T03:04:05.000007Z'));
});

test('epoch microseconds keep every microsecond of the time', () => {
  assert.equal(epochMicros('1970-01-01T00:00:01.000001Z'), 1_000_001n);
  assert.equal(epochMicros('2026-11-23T18:36:04.123456Z'), BigInt(Date.parse('2026-11-23T18:36:04Z')) * 1000n + 123_456n);
});

test('the key is {prefix}/{type}/dt=/hour=/hostname=/{first}-{last}-{seq}.{ext}', () => {
  const record = numberedDns(0, '2026-11-23T18:00:00Z');
  const time = normalizeTime(recordTime(record));
  const folder = partitionFolder('hostflow', 'dns', partitionOf(time), hostSegment('web-1.example.com'));
  assert.equal(folder, 'hostflow/dns/dt=2026-11-23/hour=18/hostname=web-1.example.com');
  const name = objectName('2026-11-23T18:00:00.000001Z', '2026-11-23T18:59:59.999999Z', batchSeq('run1', 42), 'ndjson');
  assert.equal(name, '20261123T180000.000001Z-20261123T185959.999999Z-run1000042.ndjson.gz');
  assert.equal(objectName('2026-11-23T18:00:00.000001Z', '2026-11-23T18:00:00.000001Z', 'x', 'parquet').endsWith('.parquet'), true);
  assert.equal(partitionFolder('', 'flow', { dt: '2026-01-01', hour: '00' }, 'h'), 'flow/dt=2026-01-01/hour=00/hostname=h');
});

test('prefixes lose outer slashes and must be plain names', () => {
  assert.equal(normalizePrefix('/logs/hostflow/'), 'logs/hostflow');
  assert.equal(normalizePrefix(''), '');
  for (const bad of ['a//b', 'a/../b', './a', 'a/.hidden']) assert.throws(() => normalizePrefix(bad), RangeError, bad);
});

test('host names become one safe path segment', () => {
  assert.equal(hostSegment('web-1.example.com'), 'web-1.example.com');
  assert.equal(hostSegment('a/b c'), 'a_b_c');
  assert.equal(hostSegment('..'), '_');
  assert.equal(hostSegment(''), 'unknown');
});

test('run ids differ between runs, even started in the same millisecond', () => {
  const first = newRunId(1_700_000_000_000, 42);
  const second = newRunId(1_700_000_000_000, 42);
  assert.notEqual(first, second);
  assert.match(first, /^[0-9a-z]+$/);
  assert.ok(batchSeq(first, 2) > batchSeq(first, 1));
});
