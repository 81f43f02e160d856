import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RECORD_COLUMNS } from '../../../src/records/columns.js';
import { ByteWriter, writeJsonLine, writeJsonNumber, writeJsonString } from '../../../src/records/json-bytes.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import { sampleRecords } from '../../helpers/storage/sample-records.js';

const bytesOf = (record: HostflowRecord) => {
  const out = new ByteWriter(16);
  writeJsonLine(record, out);
  return out.buffer.subarray(0, out.length);
};

test('a record writes the very bytes of its JSON.stringify text, whatever order it was built in', () => {
  for (const record of sampleRecords(40)) {
    assert.deepEqual(Object.keys(record), Object.keys(RECORD_COLUMNS[record.type]), `${record.type}: the sample is in schema order`);
    assert.deepEqual(bytesOf(record), Buffer.from(JSON.stringify(record)));
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as unknown as HostflowRecord;
    assert.deepEqual(bytesOf(reversed), Buffer.from(JSON.stringify(record)));
  }
});

test('any string, lone surrogates and controls included, is escaped and encoded as JSON.stringify and UTF-8 do it', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
      const out = new ByteWriter(1);
      writeJsonString(out, text);
      assert.deepEqual(out.buffer.subarray(0, out.length), Buffer.from(JSON.stringify(text)));
    }),
    { numRuns: 2000 },
  );
  for (const text of ['\u007f', '\u2028\u2029', '\ud800', 'a\udc00b', '\ud83d\ude00', '\ud83d', '"\\/\b\f\n\r\t\u0000\u001f', 'é€𝄞']) {
    const out = new ByteWriter(1);
    writeJsonString(out, text);
    assert.equal(out.buffer.toString('utf8', 0, out.length), JSON.stringify(text), JSON.stringify(text));
  }
});

test('long mostly-ASCII strings, copied natively first, fall back to escaping whenever one unit needs it', () => {
  const unit = fc.oneof(
    { weight: 20, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '\ud800', '\ud83d\ude00') },
  );
  fc.assert(
    fc.property(fc.array(unit, { minLength: 14, maxLength: 80 }), (units) => {
      const text = units.join('');
      // Written after other bytes, into a buffer that has to grow: the copy lands at the right place.
      const out = new ByteWriter(4);
      out.byte(0x5b);
      writeJsonString(out, text);
      assert.deepEqual(out.buffer.subarray(0, out.length), Buffer.from(`[${JSON.stringify(text)}`));
    }),
    { numRuns: 3000 },
  );
});

test('numbers as JSON.stringify writes them: integers, fractions, negatives, huge, -0; NaN and the infinities are null', () => {
  // Milliseconds to the microsecond (latencies, durations) take a path of their own: whole thousandths up to and past its bound.
  const thousandths = fc.integer({ min: 1, max: 2e12 }).map((n) => n / 1000);
  const numbers = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.maxSafeNat(),
    thousandths,
    fc.constantFrom(0, -0, 2 ** 53, 2 ** 64, 1e21, 0.1, 5e-324, -1.5, 0.001, 0.01, 0.5, 999999999.999, 1e9 - 0.001, 1e9 + 0.001, 1.005, 12.3),
  );
  fc.assert(
    fc.property(numbers, (value) => {
      const out = new ByteWriter(1);
      writeJsonNumber(out, value);
      assert.equal(out.buffer.toString('latin1', 0, out.length), JSON.stringify(value));
    }),
    { numRuns: 5000 },
  );
});

test('hostile record fields, and a record larger than the buffer, come out whole and on one line', () => {
  const [conn] = sampleRecords(8).filter((r) => r.type === 'conn');
  assert.ok(conn);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 1e21, 0.1), (text, odd) => {
      const record = { ...conn, comm: text, host: `${text}\u2028"\\`.repeat(50), duration_ms: odd } as HostflowRecord;
      const bytes = bytesOf(record);
      assert.deepEqual(bytes, Buffer.from(JSON.stringify(record)));
      assert.ok(!bytes.includes(0x0a));
    }),
  );
});
