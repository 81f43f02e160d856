/**
 * The Parquet encoder hostflow had before its own column writer, kept as a
 * candidate of bench/parquet-bench.ts: the record type's schema
 * (src/storage/parquet-schema.ts), written by @dsnp/parquetjs straight
 * into the spool file: rows are converted on the
 * caller's path (a value that does not fit its column throws there, naming
 * the field) and appended to the writer in order, one at a time, as it
 * requires; each full row group goes to the file at once.
 */
import { ParquetSchema, ParquetWriter } from '@dsnp/parquetjs';
import type { ColumnKind, Kind } from '../src/records/columns.js';
import type { HostflowRecord, RecordType } from '../src/records/types.js';
import type { BatchEncoder } from '../src/storage/encoder.js';
import { epochMicros, normalizeTime } from '../src/storage/layout.js';
import { PARQUET_COLUMNS, parquetFields } from '../src/storage/parquet-schema.js';
import type { SpoolFile } from '../src/storage/spool.js';

export type ParquetRow = Record<string, unknown>;

function baseKind(kind: ColumnKind): { kind: Kind; optional: boolean } {
  const optional = kind.endsWith('?');
  return { kind: (optional ? kind.slice(0, -1) : kind) as Kind, optional };
}

function invalid(type: RecordType, name: string, value: unknown): never {
  throw new TypeError(`${type} record: field ${name} = ${JSON.stringify(value)} does not fit its Parquet column`);
}

/**
 * A record as a row for the writer, with the bytes its values take before
 * compression (an estimate of its share of the file). Throws a TypeError
 * naming the field when a value does not fit its column.
 */
export function parquetRow(record: HostflowRecord): { row: ParquetRow; bytes: number } {
  const columns = PARQUET_COLUMNS[record.type];
  const values = record as unknown as Record<string, unknown>;
  const row: ParquetRow = {};
  let bytes = 0;
  for (const name in columns) {
    const { kind, optional } = baseKind(columns[name] as ColumnKind);
    const value = values[name];
    if (value === null || value === undefined) {
      if (!optional) invalid(record.type, name, value);
      row[name] = null;
      bytes += 1;
      continue;
    }
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') invalid(record.type, name, value);
        bytes += value.length + 4;
        row[name] = value;
        break;
      case 'int32':
        if (!Number.isInteger(value) || (value as number) < -(2 ** 31) || (value as number) >= 2 ** 31) invalid(record.type, name, value);
        bytes += 4;
        row[name] = value;
        break;
      case 'int64':
        if (!Number.isSafeInteger(value)) invalid(record.type, name, value);
        bytes += 8;
        row[name] = value;
        break;
      case 'double':
        if (typeof value !== 'number') invalid(record.type, name, value);
        bytes += 8;
        row[name] = value;
        break;
      case 'boolean':
        if (typeof value !== 'boolean') invalid(record.type, name, value);
        bytes += 1;
        row[name] = value;
        break;
      case 'timestamp':
        if (typeof value !== 'string') invalid(record.type, name, value);
        bytes += 8;
        row[name] = epochMicros(normalizeTime(value));
        break;
      case 'list': {
        if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) invalid(record.type, name, value);
        const items = value as string[];
        for (const item of items) bytes += item.length + 6;
        row[name] = { list: items.map((element) => ({ element })) };
        break;
      }
    }
  }
  return { row, bytes };
}

/**
 * Rows per row group: larger groups read faster, but the writer holds a
 * whole group in memory. 32768 rows of hostflow records are a few MB.
 */
const ROW_GROUP_ROWS = 32_768;

/**
 * Rows appended before the drain lets the event loop run: appending is
 * synchronous work in promise callbacks, which would otherwise starve I/O
 * (the tracer's batches) while a backlog of rows is encoded.
 */
const ROWS_PER_TURN = 256;

/** Footer: schema once, column chunk metadata and statistics per row group. */
const FOOTER_BASE = 8 * 1024;
const FOOTER_PER_COLUMN_CHUNK = 256;

const schemas = new Map<RecordType, ParquetSchema>();

function schemaOf(type: RecordType): ParquetSchema {
  let schema = schemas.get(type);
  if (!schema) {
    // The field definitions are what ParquetSchema takes; its own type is narrower than its runtime.
    schema = new ParquetSchema(parquetFields(type) as ConstructorParameters<typeof ParquetSchema>[0]);
    schemas.set(type, schema);
  }
  return schema;
}

export class ParquetjsEncoder implements BatchEncoder {
  private readonly writer: Promise<ParquetWriter>;
  private queue: ParquetRow[] = [];
  private queueEstimates: number[] = [];
  private queuedBytes = 0;
  /** Estimated bytes of the rows in the writer's current, unwritten row group. */
  private groupBytes = 0;
  private groupRows = 0;
  private groups = 0;
  private draining: Promise<void> | null = null;
  private failure: unknown = null;
  private readonly columns: number;

  constructor(
    type: RecordType,
    private readonly file: SpoolFile,
    private readonly rowGroupRows = ROW_GROUP_ROWS,
  ) {
    this.columns = Object.keys(PARQUET_COLUMNS[type]).length;
    const output = {
      write: (chunk: Buffer, callback: (error?: Error | null) => void) => {
        file.write(chunk);
        callback(null);
        return true;
      },
      end: (callback: (error?: Error | null) => void) => {
        callback(null);
        return output;
      },
    };
    this.writer = ParquetWriter.openStream(schemaOf(type), output as never, { rowGroupSize: rowGroupRows, useDataPageV2: false });
    this.writer.catch((error: unknown) => {
      this.failure = error;
    });
  }

  get boundBytes(): number {
    return this.file.bytes + this.groupBytes + this.queuedBytes + FOOTER_BASE + FOOTER_PER_COLUMN_CHUNK * this.columns * (this.groups + 1);
  }

  add(record: HostflowRecord): void {
    const { row, bytes } = parquetRow(record);
    this.queue.push(row);
    this.queueEstimates.push(bytes);
    this.queuedBytes += bytes;
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      const writer = await this.writer;
      let sinceTurn = 0;
      while (this.queue.length > 0 && !this.failure) {
        const rows = this.queue;
        const estimates = this.queueEstimates;
        this.queue = [];
        this.queueEstimates = [];
        for (let index = 0; index < rows.length; index++) {
          const bytes = estimates[index] as number;
          this.queuedBytes -= bytes;
          this.groupBytes += bytes;
          await writer.appendRow(rows[index] as ParquetRow);
          if (++this.groupRows >= this.rowGroupRows) {
            this.groupRows = 0;
            this.groupBytes = 0;
            this.groups++;
          }
          if (++sinceTurn >= ROWS_PER_TURN) {
            sinceTurn = 0;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.draining = null;
    }
  }

  async finish(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.queue.length > 0 && !this.failure) await this.drain();
    if (this.failure) throw this.failure;
    await (await this.writer).close();
    this.groupBytes = 0;
  }
}
