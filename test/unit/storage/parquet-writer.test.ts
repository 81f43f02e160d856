import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import { RECORD_COLUMNS, type Kind } from '../../../src/records/columns.js';
import { RECORD_TYPES, type ConnRecord, type DnsRecord, type HostflowRecord, type RecordType } from '../../../src/records/types.js';
import { epochMicros } from '../../../src/storage/layout.js';
import { DUCKDB_TYPES } from '../../../src/schema/duckdb.js';
import { ParquetEncoder } from '../../../src/storage/parquet-encoder.js';
import { Spool } from '../../../src/storage/spool.js';
import { parquetRecords } from '../../helpers/storage/read-back.js';
import { canonical, isoAfter, numberedDns, sampleRecords } from '../../helpers/storage/sample-records.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-parquet-writer-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

async function encode(
  root: string,
  type: RecordType,
  records: HostflowRecord[],
  rowGroupRows?: number,
  pageRows?: number,
): Promise<{ path: string; bound: number }> {
  const file = new Spool(root).create(type, `p${Math.random().toString(36).slice(2)}`);
  const encoder = new ParquetEncoder(type, file, rowGroupRows, pageRows);
  let bound = 0;
  for (const record of records) {
    encoder.add(record);
    bound = encoder.boundBytes;
  }
  await encoder.finish();
  return { path: await file.commit(`${type}-${Math.random().toString(36).slice(2)}.parquet`), bound };
}

/** A seeded generator, so a failure repeats. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

test('records with nulls, lists and values of every width at random come back from hyparquet as they went in, over many row groups and pages', async (t) => {
  const root = tempDir(t);
  const next = random(17);
  const pick = <T>(value: T, share = 0.5): T | null => (next() < share ? null : value);
  const dns: DnsRecord[] = [];
  const conns: ConnRecord[] = [];
  for (let i = 0; i < 3000; i++) {
    const addrs = Array.from({ length: Math.floor(next() * 4) }, (_, k) => `10.${k}.${Math.floor(next() * 256)}.${i % 256}`);
    // Long runs of the same value and runs shorter than 8, so both RLE runs and bit-packed groups are written.
    const runOf = Math.floor(i / 40) % 2 === 0;
    dns.push(
      numberedDns(i, '2026-11-23T18:00:00Z', {
        pid: runOf ? 7 : pick(Math.floor(next() * 2 ** 31)),
        uid: pick(Math.floor(next() * 2 ** 52)),
        comm: runOf ? 'curl' : pick(['curl', 'wget', 'python3', 'ünïcode ☃'][Math.floor(next() * 4)] as string, 0.2),
        // Unique text: the column is written PLAIN, not as a dictionary.
        host: `${Math.floor(next() * 2 ** 48).toString(16)}.example`,
        cnames: next() < 0.3 ? null : addrs.map((addr) => `cname-${addr}.example`),
        addrs,
        // Few distinct numbers, negative and past 2^32 among them: dictionary-encoded. Unique ones: PLAIN.
        ttl: pick([-(2 ** 40), -1, 0, 2 ** 52 + 1, 300][Math.floor(next() * 5)] as number),
        latency_ms: runOf ? pick([0.25, -0.5, 1e-9, 12345.678][Math.floor(next() * 4)] as number) : pick(next() * 1000),
      }),
    );
    conns.push({
      ...(sampleRecords(12).find((r) => r.type === 'conn') as ConnRecord),
      ts: isoAfter('2026-11-23T18:00:00Z', i * 997),
      established: i % 3 === 0 ? null : next() < 0.5,
      bytes_sent: pick(Math.floor(next() * 2 ** 53)),
      sport: Math.floor(next() * 65536),
    });
  }
  for (const [type, records] of [
    ['dns', dns],
    ['conn', conns],
  ] as const) {
    for (const [groupRows, pageRows] of [
      [1000, 300],
      [7, 3],
      [100_000, 100_000],
    ] as const) {
      const { path, bound } = await encode(root, type, records, groupRows, pageRows);
      const body = readFileSync(path);
      assert.ok(body.length <= bound, `${type} ${groupRows}: ${body.length} <= ${bound}`);
      const back = await parquetRecords(body);
      assert.equal(back.length, records.length);
      for (let i = 0; i < records.length; i++)
        assert.equal(canonical(back[i] as object), canonical(records[i] as object), `${type} ${groupRows}/${pageRows} row ${i}`);
      const metadata = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
      assert.equal(metadata.row_groups.length, Math.ceil(records.length / groupRows));
      if (type === 'dns' && groupRows === 1000) {
        const encodings = (name: string) => metadata.row_groups[0]?.columns.find((chunk) => chunk.meta_data?.path_in_schema[0] === name)?.meta_data?.encodings;
        assert.ok(encodings('ttl')?.includes('RLE_DICTIONARY'), 'few numbers: a dictionary');
        assert.ok(encodings('comm')?.includes('RLE_DICTIONARY'), 'few strings: a dictionary');
        assert.ok(!encodings('host')?.includes('RLE_DICTIONARY'), 'unique strings: PLAIN');
        assert.ok(!encodings('uid')?.includes('RLE_DICTIONARY'), 'unique numbers: PLAIN');
      }
    }
  }
});

test('an object with no records is a valid Parquet file with the schema and no rows', async (t) => {
  const { path } = await encode(tempDir(t), 'flow', []);
  const body = readFileSync(path);
  const metadata = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
  assert.equal(Number(metadata.num_rows), 0);
  assert.deepEqual(
    metadata.schema.slice(1).map((element) => element.name),
    Object.keys(RECORD_COLUMNS.flow),
  );
});

test("DuckDB's read_parquet reads every type's columns with their types and the records' values, and its row group statistics", async (t) => {
  const root = tempDir(t);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  t.after(() => {
    connection.closeSync();
    instance.closeSync();
  });
  const records = sampleRecords(2000);
  for (const type of RECORD_TYPES) {
    const ofType = records.filter((record) => record.type === type);
    const { path } = await encode(root, type, ofType, 128, 50);
    const columns = RECORD_COLUMNS[type];
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjectsJS();
    assert.deepEqual(
      described.map((row) => [row.column_name, row.column_type]),
      Object.entries(columns).map(([name, kind]) => [name, DUCKDB_TYPES[kind.replace('?', '') as Kind]]),
      type,
    );
    // Times as ISO text with microseconds, as records carry them.
    const select = Object.entries(columns)
      .map(([name, kind]) => (kind.startsWith('timestamp') ? `strftime("${name}", '%Y-%m-%dT%H:%M:%S.%fZ') AS "${name}"` : `"${name}"`))
      .join(', ');
    const rows = (await connection.runAndReadAll(`SELECT ${select} FROM read_parquet('${path}')`)).getRowObjectsJS();
    const back = rows.map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name, typeof value === 'bigint' ? Number(value) : value])));
    assert.deepEqual(back.map(canonical), ofType.map(canonical), type);
    const time = type === 'flow' ? 'start' : 'ts';
    const times = ofType.map((record) => (record as unknown as Record<string, string>)[time] as string).sort();
    const stats = (
      await connection.runAndReadAll(
        `SELECT min(stats_min_value) AS low, max(stats_max_value) AS high, count(*) AS groups FROM parquet_metadata('${path}') WHERE path_in_schema = '${time}'`,
      )
    ).getRowObjectsJS()[0] as { low: string; high: string; groups: bigint };
    assert.equal(Number(stats.groups), Math.ceil(ofType.length / 128), `${type}: one chunk per row group`);
    assert.equal(new Date(stats.low.replace(' ', 'T') + 'Z').toISOString().slice(0, 23), times[0]?.slice(0, 23), `${type}: min ${stats.low}`);
    assert.equal(new Date(stats.high.replace(' ', 'T') + 'Z').toISOString().slice(0, 23), times[times.length - 1]?.slice(0, 23), `${type}: max ${stats.high}`);
  }
});

test("arrow-rs's Parquet reader (parquet-wasm) reads every type with its nullability and the records' values", async (t) => {
  const root = tempDir(t);
  const records = sampleRecords(2000);
  for (const type of RECORD_TYPES) {
    const ofType = records.filter((record) => record.type === type);
    const { path } = await encode(root, type, ofType, 200, 64);
    const table = tableFromIPC(readParquet(new Uint8Array(readFileSync(path))).intoIPCStream());
    assert.deepEqual(
      table.schema.fields.map((field) => [field.name, field.nullable]),
      Object.entries(RECORD_COLUMNS[type]).map(([name, kind]) => [name, kind.endsWith('?')]),
      type,
    );
    assert.equal(table.numRows, ofType.length, type);
    for (let i = 0; i < ofType.length; i++) {
      const row = (table.get(i) as { toJSON(): Record<string, unknown> }).toJSON();
      for (const [name, kind] of Object.entries(RECORD_COLUMNS[type])) {
        const expected = (ofType[i] as unknown as Record<string, unknown>)[name];
        let value = row[name];
        if (typeof value === 'bigint') value = Number(value);
        else if (value && typeof value === 'object' && 'toArray' in value) value = [...(value as { toArray(): string[] }).toArray()];
        // Arrow gives times as epoch milliseconds, the microseconds as the fraction.
        if (kind.startsWith('timestamp') && value != null)
          assert.equal(Math.round((value as number) * 1000), Number(epochMicros(expected as string)), `${type} ${i} ${name}`);
        else assert.deepEqual(value ?? null, expected, `${type} ${i} ${name}`);
      }
    }
  }
});
