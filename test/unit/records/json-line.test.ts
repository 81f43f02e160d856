import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RECORD_COLUMNS } from '../../../src/records/columns.js';
import { jsonLine } from '../../../src/records/json-line.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import { sampleRecords } from '../../helpers/storage/sample-records.js';

test('a record built in the schema order prints exactly as JSON.stringify prints it', () => {
  for (const record of sampleRecords(40)) {
    assert.deepEqual(Object.keys(record), Object.keys(RECORD_COLUMNS[record.type]), `${record.type}: the sample is in schema order`);
    assert.equal(jsonLine(record), JSON.stringify(record));
  }
});

test('fields print in the schema order whatever order the record was built in', () => {
  for (const record of sampleRecords(8)) {
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as unknown as HostflowRecord;
    assert.equal(jsonLine(reversed), JSON.stringify(record));
  }
});

test('hostile text escapes as JSON.stringify escapes it; NaN and Infinity are null; the line is one line', () => {
  const [conn] = sampleRecords(8).filter((r) => r.type === 'conn');
  assert.ok(conn);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 1e21, 0.1), (text, odd) => {
      const record = { ...conn, comm: text, host: `${text}\u2028"\\`, duration_ms: odd } as HostflowRecord;
      const line = jsonLine(record);
      assert.equal(line, JSON.stringify(record));
      assert.ok(!line.includes('\n'));
    }),
  );
});
