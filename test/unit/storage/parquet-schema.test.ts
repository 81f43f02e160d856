import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_TYPES } from '../../../src/records/types.js';
import { PARQUET_COLUMNS, parquetFields, parquetRow } from '../../../src/storage/parquet-schema.js';
import { numberedDns, sampleRecords } from '../../helpers/storage/sample-records.js';

test('every field of every record type is a column, and nothing else', () => {
  const records = sampleRecords(30);
  for (const type of RECORD_TYPES) {
    const record = records.find((r) => r.type === type)!;
    assert.deepEqual(Object.keys(PARQUET_COLUMNS[type]).sort(), Object.keys(record).sort(), type);
  }
});

test('times are TIMESTAMP_MICROS, lists are optional 3-level LISTs, counters INT64', () => {
  const dns = parquetFields('dns');
  assert.deepEqual(dns.ts, { type: 'TIMESTAMP_MICROS', optional: false, compression: 'SNAPPY' });
  assert.equal(dns.cnames?.type, 'LIST');
  assert.equal(dns.cnames?.optional, true);
  assert.equal(dns.addrs?.optional, false);
  assert.deepEqual(dns.addrs?.fields?.list?.fields?.element, { type: 'UTF8', compression: 'SNAPPY' });
  assert.equal(parquetFields('flow').bytes?.type, 'INT64');
  assert.equal(parquetFields('conn').established?.type, 'BOOLEAN');
});

test('a record becomes a row: microseconds, nulls kept, lists wrapped', () => {
  const { row, bytes } = parquetRow(numberedDns(7, '2026-11-23T18:00:00Z', { cnames: ['a.example', 'b.example'], addrs: [] }));
  assert.equal(row.ts, BigInt(Date.parse('2026-11-23T18:00:00Z')) * 1000n + 7n);
  assert.deepEqual(row.cnames, { list: [{ element: 'a.example' }, { element: 'b.example' }] });
  assert.deepEqual(row.addrs, { list: [] });
  assert.equal(row.container_id, null);
  assert.ok(bytes > 50);
});

test('a value that does not fit its column is refused, naming the field', () => {
  assert.throws(() => parquetRow(numberedDns(1, undefined, { pid: 1.5 })), /field pid = 1.5/);
  assert.throws(() => parquetRow(numberedDns(1, undefined, { host: null as unknown as string })), /field host = null/);
  assert.throws(() => parquetRow(numberedDns(1, undefined, { ts: 'soon' })), /soon/);
});
