/**
 * Parquet encoders side by side, and the gzip NDJSON encoder beside them,
 * in the same process: the storage sink's record mix (dns, conn, flow,
 * udp), each type's records into one spool file through the BatchEncoder
 * interface, in bursts of 1000 with a turn of the event loop between them,
 * as the sink receives them; timed from the first record to the last byte
 * committed (fsync). Every Parquet file is read back with hyparquet (its
 * row count) before its figure counts. Each candidate runs once on a
 * smaller set first, so that no figure carries the JIT's warm-up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { RECORD_TYPES, type HostflowRecord, type RecordType } from '../src/records/types.js';
import type { BatchEncoder } from '../src/storage/encoder.js';
import { NdjsonEncoder } from '../src/storage/ndjson-encoder.js';
import { ParquetEncoder } from '../src/storage/parquet-encoder.js';
import { Spool, type SpoolFile } from '../src/storage/spool.js';
import { DuckdbCopyEncoder, duckdbConnection, HyparquetWriterEncoder, ParquetWasmEncoder } from './parquet-candidates.js';
import { ParquetjsEncoder } from './parquetjs-encoder.js';
import { benchRecords } from './storage-bench.js';

const RECORDS = 200_000;
const WARMUP = 20_000;
const BURST = 1000;

interface Candidate {
  name: string;
  what: string;
  parquet: boolean;
  make: (type: RecordType, file: SpoolFile) => BatchEncoder;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function run(candidate: Candidate, all: HostflowRecord[], spool: Spool, round: string): Promise<{ seconds: number; bytes: number }> {
  const byType = RECORD_TYPES.map((type) => [type, all.filter((record) => record.type === type)] as const);
  const start = process.hrtime.bigint();
  const files: Array<{ file: SpoolFile; encoder: BatchEncoder; type: RecordType; records: number }> = [];
  for (const [type, records] of byType) {
    const file = spool.create(`${candidate.name}/${round}`, type);
    files.push({ file, encoder: candidate.make(type, file), type, records: records.length });
  }
  // Records in their arrival order, as the sink hands them to the batch of their type.
  for (let offset = 0; offset < all.length; offset += BURST) {
    for (let i = offset; i < Math.min(offset + BURST, all.length); i++) {
      const record = all[i] as HostflowRecord;
      (files[RECORD_TYPES.indexOf(record.type)] as (typeof files)[number]).encoder.add(record);
    }
    await nextTurn();
  }
  const paths: Array<{ path: string; records: number; type: RecordType }> = [];
  for (const { file, encoder, type, records } of files) {
    await encoder.finish();
    paths.push({ path: await file.commit(`${type}.${candidate.parquet ? 'parquet' : 'ndjson.gz'}`), records, type });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let bytes = 0;
  for (const { path, records, type } of paths) {
    const body = readFileSync(path);
    bytes += body.length;
    if (candidate.parquet) {
      const rows = Number(parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer).num_rows);
      if (rows !== records) throw new Error(`${candidate.name}: ${type} file holds ${rows} rows of ${records}`);
    }
  }
  return { seconds, bytes };
}

export async function benchParquetEncoders(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-bench-parquet-'));
  const duckdb = await duckdbConnection();
  try {
    const spool = new Spool(join(dir, 'spool'));
    await spool.prepare();
    const candidates: Candidate[] = [
      { name: 'ndjson_gzip', what: "hostflow's gzip NDJSON encoder (the reference)", parquet: false, make: (_type, file) => new NdjsonEncoder(file) },
      {
        name: 'hostflow',
        what: "hostflow's own column writer (src/storage/parquet-encoder.ts), the product's",
        parquet: true,
        make: (type, file) => new ParquetEncoder(type, file),
      },
      { name: 'parquetjs', what: '@dsnp/parquetjs, row by row (the encoder before)', parquet: true, make: (type, file) => new ParquetjsEncoder(type, file) },
      {
        name: 'hyparquet_writer',
        what: 'hyparquet-writer, columns of values, the same schema elements',
        parquet: true,
        make: (type, file) => new HyparquetWriterEncoder(type, file),
      },
      {
        name: 'parquet_wasm',
        what: 'parquet-wasm (Rust parquet in WebAssembly) from an apache-arrow table via IPC; every column optional',
        parquet: true,
        make: (type, file) => new ParquetWasmEncoder(type, file),
      },
      {
        name: 'duckdb_copy',
        what: 'DuckDB COPY TO (FORMAT parquet) from the records as JSON lines with typed columns; all its threads',
        parquet: true,
        make: (type, file) => new DuckdbCopyEncoder(type, file, duckdb.connection, dir),
      },
    ];
    const warmup = benchRecords(WARMUP);
    const all = benchRecords(RECORDS);
    const figures: Record<string, unknown> = {};
    for (const candidate of candidates) {
      process.stderr.write(`bench: parquet_encoders: ${candidate.name}\n`);
      try {
        await run(candidate, warmup, spool, 'warmup');
        const { seconds, bytes } = await run(candidate, all, spool, 'timed');
        figures[candidate.name] = {
          records_per_s: Math.round(RECORDS / seconds),
          bytes,
          bytes_per_record: Number((bytes / RECORDS).toFixed(1)),
          what: candidate.what,
        };
      } catch (error) {
        figures[candidate.name] = { error: (error as Error).message.split('\n')[0], what: candidate.what };
      }
    }
    const rate = (name: string) => (figures[name] as { records_per_s?: number } | undefined)?.records_per_s ?? 0;
    return {
      name: 'parquet_encoders',
      unit: 'records/s',
      records: RECORDS,
      value: rate('hostflow'),
      reference: { name: 'gzip NDJSON encoder, same records, same run', value: rate('ndjson_gzip') },
      ratio: Number((rate('hostflow') / rate('ndjson_gzip')).toFixed(3)),
      encoders: figures,
    };
  } finally {
    duckdb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
