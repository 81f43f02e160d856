/**
 * The Parquet encoders bench/parquet-bench.ts measures beside hostflow's
 * own (src/storage/parquet-encoder.ts), each behind the BatchEncoder
 * interface the storage sink uses, with the schema of
 * src/storage/parquet-schema.ts as far as the library can express it:
 * hyparquet-writer (JavaScript, columns of values), parquet-wasm (Rust's
 * parquet crate in WebAssembly, fed an Arrow table built with
 * apache-arrow) and DuckDB (`COPY ... TO (FORMAT parquet)` over the same
 * records as JSON lines). @dsnp/parquetjs, hostflow's encoder before, is
 * in ./parquetjs-encoder.ts.
 */
import { writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  Table,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { tableToIPC } from 'apache-arrow';
import { ByteWriter as HyByteWriter, parquetWrite } from 'hyparquet-writer';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { ByteWriter, writeJsonLine } from '../src/records/json-bytes.js';
import type { HostflowRecord, RecordType } from '../src/records/types.js';
import type { BatchEncoder } from '../src/storage/encoder.js';
import { epochMicros, normalizeTime } from '../src/storage/layout.js';
import { ROW_GROUP_ROWS } from '../src/storage/parquet-encoder.js';
import { parquetFields, type ParquetField } from '../src/storage/parquet-schema.js';
import type { SpoolFile } from '../src/storage/spool.js';

const micros = (time: string) => Number(epochMicros(normalizeTime(time)));

/** Column name and the primitive type of its values ('LIST' for lists of text). */
function columnsOf(type: RecordType): Array<[string, ParquetField]> {
  return Object.entries(parquetFields(type));
}

/** Records gathered as one array of values per column, times as microseconds. */
abstract class ColumnGatherer implements BatchEncoder {
  protected readonly columns: Array<[string, ParquetField]>;
  protected readonly values: unknown[][];
  protected rows = 0;
  private bytes = 0;

  constructor(
    protected readonly type: RecordType,
    protected readonly file: SpoolFile,
  ) {
    this.columns = columnsOf(type);
    this.values = this.columns.map(() => []);
  }

  get boundBytes(): number {
    return this.file.bytes + this.bytes;
  }

  add(record: HostflowRecord): void {
    const fields = record as unknown as Record<string, unknown>;
    for (let index = 0; index < this.columns.length; index++) {
      const [name, field] = this.columns[index] as [string, ParquetField];
      const value = fields[name];
      (this.values[index] as unknown[]).push(field.type === 'TIMESTAMP_MICROS' && value != null ? micros(value as string) : value);
      this.bytes += 8;
    }
    this.rows++;
  }

  abstract finish(): Promise<void>;
}

const HY_TYPES: Record<string, { type: string; converted_type?: string }> = {
  UTF8: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  INT32: { type: 'INT32' },
  INT64: { type: 'INT64' },
  DOUBLE: { type: 'DOUBLE' },
  BOOLEAN: { type: 'BOOLEAN' },
  TIMESTAMP_MICROS: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS' },
};

/** hyparquet-writer: the same schema elements, SNAPPY, the product's row group size. */
export class HyparquetWriterEncoder extends ColumnGatherer {
  async finish(): Promise<void> {
    // It takes INT64 values as bigint only (times as numbers).
    this.columns.forEach(([, field], index) => {
      if (field.type === 'INT64') this.values[index] = (this.values[index] as unknown[]).map((value) => (value == null ? value : BigInt(value as number)));
    });
    const schema: Array<Record<string, unknown>> = [{ name: 'root', num_children: this.columns.length }];
    for (const [name, field] of this.columns) {
      const repetition_type = field.optional ? 'OPTIONAL' : 'REQUIRED';
      if (field.type === 'LIST') {
        schema.push({ name, repetition_type, num_children: 1, converted_type: 'LIST' });
        schema.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
        schema.push({ name: 'element', repetition_type: 'REQUIRED', ...HY_TYPES.UTF8 });
      } else schema.push({ name, repetition_type, ...HY_TYPES[field.type as string] });
    }
    const writer = new HyByteWriter();
    await parquetWrite({
      writer,
      columnData: this.columns.map(([name], index) => ({ name, data: this.values[index] as never })),
      schema: schema as never,
      codec: 'SNAPPY',
      rowGroupSize: ROW_GROUP_ROWS,
    });
    this.file.write(Buffer.from(writer.getBuffer()));
  }
}

/** Validity bitmap of an Arrow array: bit i set when value i is not null. */
function validity(values: unknown[]): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] == null) nulls++;
    else bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
  }
  return { bitmap, nulls };
}

function arrowVector(field: ParquetField, values: unknown[]): Vector {
  const types: Record<string, () => DataType> = {
    UTF8: () => new Utf8(),
    INT32: () => new Int32(),
    DOUBLE: () => new Float64(),
    BOOLEAN: () => new Bool(),
  };
  if (field.type === 'LIST') return vectorFromArray(values, new List(new Field('element', new Utf8(), false)));
  if (field.type === 'INT64' || field.type === 'TIMESTAMP_MICROS') {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) if (values[i] != null) data[i] = BigInt(values[i] as number);
    const { bitmap, nulls } = validity(values);
    const type = field.type === 'INT64' ? new Int64() : new TimestampMicrosecond();
    return makeVector(makeData({ type: type as Int64, length: values.length, nullCount: nulls, data, nullBitmap: nulls > 0 ? bitmap : undefined } as never));
  }
  return vectorFromArray(values, (types[field.type as string] as () => DataType)());
}

/** parquet-wasm: an Arrow table, through Arrow IPC into WebAssembly, written with SNAPPY. */
export class ParquetWasmEncoder extends ColumnGatherer {
  async finish(): Promise<void> {
    const vectors: Record<string, Vector> = {};
    this.columns.forEach(([name, field], index) => {
      vectors[name] = arrowVector(field, this.values[index] as unknown[]);
    });
    const table = WasmTable.fromIPCStream(tableToIPC(new Table(vectors), 'stream'));
    const properties = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setMaxRowGroupSize(ROW_GROUP_ROWS).build();
    this.file.write(Buffer.from(writeParquet(table, properties)));
  }
}

const DUCKDB_TYPES: Record<string, string> = {
  UTF8: 'VARCHAR',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP_MICROS: 'TIMESTAMP',
  LIST: 'VARCHAR[]',
};

/** One DuckDB in memory for every DuckDB batch of a run. */
export async function duckdbConnection(): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * DuckDB: the records as JSON lines (hostflow's own line encoder) in a
 * scratch file, read with the typed columns and copied to Parquet.
 */
export class DuckdbCopyEncoder implements BatchEncoder {
  private readonly lines = new ByteWriter(1024 * 1024);

  constructor(
    private readonly type: RecordType,
    private readonly file: SpoolFile,
    private readonly connection: DuckDBConnection,
    private readonly scratch: string,
  ) {}

  get boundBytes(): number {
    return this.file.bytes + this.lines.length;
  }

  add(record: HostflowRecord): void {
    writeJsonLine(record, this.lines);
    this.lines.byte(0x0a);
  }

  async finish(): Promise<void> {
    const input = join(this.scratch, `${this.type}.ndjson`);
    const output = join(this.scratch, `${this.type}.parquet`);
    writeFileSync(input, this.lines.buffer.subarray(0, this.lines.length));
    const columns = columnsOf(this.type)
      .map(([name, field]) => `'${name}': '${DUCKDB_TYPES[field.type as string]}'`)
      .join(', ');
    await this.connection.run(
      `COPY (SELECT * FROM read_json('${input}', format = 'newline_delimited', columns = {${columns}})) TO '${output}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
    );
    this.file.write(await readFile(output));
    await rm(input);
    await rm(output);
  }
}
