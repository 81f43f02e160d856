/**
 * Parquet with the record type's schema (./parquet-schema.ts), written by
 * @dsnp/parquetjs straight into the spool file: rows are converted on the
 * caller's path (a value that does not fit its column throws there, naming
 * the field) and appended to the writer in order, one at a time, as it
 * requires; each full row group goes to the file at once.
 */
import { ParquetSchema, ParquetWriter } from '@dsnp/parquetjs';
import type { HostflowRecord, RecordType } from '../records/types.js';
import type { BatchEncoder } from './encoder.js';
import { PARQUET_COLUMNS, parquetFields, parquetRow, type ParquetRow } from './parquet-schema.js';
import type { SpoolFile } from './spool.js';

/**
 * Rows per row group: larger groups read faster, but the writer holds a
 * whole group in memory. 32768 rows of hostflow records are a few MB.
 */
export const ROW_GROUP_ROWS = 32_768;

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

export class ParquetEncoder implements BatchEncoder {
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
