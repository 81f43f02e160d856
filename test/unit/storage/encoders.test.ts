import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_TYPES } from '../../../src/records/types.js';
import { NdjsonEncoder } from '../../../src/storage/ndjson-encoder.js';
import { ParquetEncoder } from '../../../src/storage/parquet-encoder.js';
import { Spool } from '../../../src/storage/spool.js';
import { ndjsonLines, parquetRecords } from '../../helpers/storage/read-back.js';
import { canonical, numberedDns, sampleRecords } from '../../helpers/storage/sample-records.js';

function tempSpool(t: { after(fn: () => void): void }): Spool {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-encoder-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return new Spool(root);
}

test('gzip NDJSON holds JSON.stringify of each record, one per line, in order', async (t) => {
  const spool = tempSpool(t);
  const file = spool.create('x', 'n');
  const encoder = new NdjsonEncoder(file, 4096);
  const records = sampleRecords(3000);
  for (const record of records) encoder.add(record);
  await encoder.finish();
  const body = readFileSync(await file.commit('out.ndjson.gz'));
  assert.deepEqual(
    ndjsonLines(body),
    records.map((r) => JSON.stringify(r)),
  );
});

test('the gzip size bound is never below the bytes of the finished object', async (t) => {
  const spool = tempSpool(t);
  const file = spool.create('x', 'n');
  const encoder = new NdjsonEncoder(file, 2048);
  let bound = 0;
  for (let i = 0; i < 5000; i++) {
    // Random hex hardly compresses: the worst case for an estimate.
    encoder.add(numberedDns(i, undefined, { host: `${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}.example` }));
    bound = encoder.boundBytes;
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await encoder.finish();
  await file.commit('out.ndjson.gz');
  assert.ok(file.bytes <= bound, `${file.bytes} <= ${bound}`);
  assert.ok(encoder.boundBytes >= file.bytes);
});

test('Parquet holds every record field by field, nulls and lists kept, read back by hyparquet', async (t) => {
  const spool = tempSpool(t);
  for (const type of RECORD_TYPES) {
    const records = sampleRecords(900).filter((r) => r.type === type);
    const file = spool.create(type, 'p');
    const encoder = new ParquetEncoder(type, file, 100);
    for (const record of records) encoder.add(record);
    await encoder.finish();
    assert.ok(file.bytes <= encoder.boundBytes);
    const back = await parquetRecords(readFileSync(await file.commit(`${type}.parquet`)));
    assert.deepEqual(back.map(canonical), records.map(canonical), type);
  }
});
