/**
 * Parquet with the record type's schema (./parquet-schema.ts), encoded by
 * hostflow's own column writer straight into the spool file: each record's
 * fields go into the open row group's columns (./parquet-columns.ts) on
 * the caller's path, where a value that does not fit its column throws,
 * naming the field, before any of the record is stored; a full row group
 * is encoded into pages and written off that path, one column per turn of
 * the event loop, while the next one fills.
 *
 * Measured against @dsnp/parquetjs, hyparquet-writer, parquet-wasm and
 * DuckDB's COPY in `npm run bench -- --only parquet_encoders`
 * (bench/parquet-bench.ts), it is 2-3x as fast as any: they take row
 * objects, an Arrow table or arrays of JS values, built first.
 */
import type { HostflowRecord, RecordType } from '../records/types.js';
import type { BatchEncoder } from './encoder.js';
import { GroupSize, type ColumnBuilder } from './parquet-columns.js';
import { columnChunk, fileLayout, footer, footerBase, MAGIC, newColumns, rowGroupMetadata, type FileLayout } from './parquet-file.js';
import type { ThriftStruct } from './thrift-compact.js';
import type { SpoolFile } from './spool.js';

/**
 * Rows per row group: DuckDB's own default. A minute's object of a busy
 * host holds fewer, so an object is most often one row group. Why this
 * size suits the engines, and what it costs in memory: ./parquet-schema.ts.
 */
export const ROW_GROUP_ROWS = 122_880;

/** Rows per data page: pages of about 1 MB at most for the widest text column, as parquet-mr's default page size. */
export const PAGE_ROWS = 16_384;

/** Snappy's worst case is n + n/6 + 32; page headers stay below 64 bytes. */
const PAGE_OVERHEAD = 96;
/** Footer bytes per column chunk besides its path and statistics. */
const CHUNK_METADATA = 160;

type Fill = (record: Record<string, unknown>, columns: ColumnBuilder[]) => number;

/**
 * The filler of one record type, generated from its columns: every field
 * is read once by name and checked, and only when all fit are they added;
 * returns the index of the first field that does not fit, or -1. Only the
 * schema's field names (checked to be identifiers) reach the generated code.
 */
function compileFill(layout: FileLayout): Fill {
  const reads: string[] = [];
  const checks: string[] = [];
  const adds: string[] = [];
  layout.leaves.forEach(({ name }, index) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`record field '${name}' is not an identifier`);
    reads.push(`const v${index} = r.${name};`);
    checks.push(`if (!c[${index}].fits(v${index})) return ${index};`);
    adds.push(`c[${index}].add(v${index});`);
  });
  return new Function(`return (r, c) => { ${reads.join(' ')} ${checks.join(' ')} ${adds.join(' ')} return -1; };`)() as Fill;
}

const fills = new Map<RecordType, Fill>();

function fillOf(type: RecordType, layout: FileLayout): Fill {
  let fill = fills.get(type);
  if (!fill) {
    fill = compileFill(layout);
    fills.set(type, fill);
  }
  return fill;
}

export class ParquetEncoder implements BatchEncoder {
  private readonly layout: FileLayout;
  private readonly fill: Fill;
  private columns: ColumnBuilder[];
  private size = new GroupSize();
  /** Footer bytes of a row group's column chunks besides their statistics. */
  private readonly chunksMetadata: number;
  /** Rows in the open row group. */
  private rows = 0;
  private totalRows = 0;
  /** Where the next column chunk starts in the file. */
  private offset = MAGIC.length;
  private readonly rowGroups: Buffer[] = [];
  private rowGroupBytes = 0;
  /** Bound of the row groups handed off and not yet written. */
  private pendingBound = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private readonly footerBase: number;

  constructor(
    private readonly type: RecordType,
    private readonly file: SpoolFile,
    private readonly rowGroupRows = ROW_GROUP_ROWS,
    private readonly pageRows = PAGE_ROWS,
  ) {
    this.layout = fileLayout(type);
    this.fill = fillOf(type, this.layout);
    this.columns = newColumns(this.layout, this.size);
    this.footerBase = footerBase(this.layout);
    this.chunksMetadata = this.layout.leaves.reduce((sum, leaf) => sum + CHUNK_METADATA + 2 * leaf.path.join('').length, 0);
    file.write(MAGIC);
  }

  get boundBytes(): number {
    return this.file.bytes + this.pendingBound + (this.rows > 0 ? this.groupBound() : 0) + this.footerBase + this.rowGroupBytes;
  }

  /**
   * A bound of the open row group's encoded bytes, its footer entry
   * included: data no larger than PLAIN (./parquet-columns.ts picks the
   * dictionary only when it is smaller), grown by snappy's worst case, and
   * a header per page.
   */
  private groupBound(): number {
    const pages = Math.ceil(this.rows / this.pageRows) + 1;
    return Math.ceil((this.size.bytes * 7) / 6) + this.size.statistics + this.layout.leaves.length * pages * PAGE_OVERHEAD + this.chunksMetadata;
  }

  add(record: HostflowRecord): void {
    const values = record as unknown as Record<string, unknown>;
    const misfit = this.fill(values, this.columns);
    if (misfit >= 0) {
      const name = (this.layout.leaves[misfit] as { name: string }).name;
      throw new TypeError(`${this.type} record: field ${name} = ${JSON.stringify(values[name])} does not fit its Parquet column`);
    }
    if (++this.rows >= this.rowGroupRows) this.handOff();
  }

  /** Starts a new row group and queues the full one for encoding. */
  private handOff(): void {
    const columns = this.columns;
    const rows = this.rows;
    const bound = this.groupBound();
    this.size = new GroupSize();
    this.columns = newColumns(this.layout, this.size);
    this.rows = 0;
    this.pendingBound += bound;
    this.writing = this.writing.then(async () => {
      if (!this.failure) {
        try {
          await this.writeGroup(columns, rows);
        } catch (error) {
          this.failure = error;
        }
      }
      this.pendingBound -= bound;
    });
  }

  private async writeGroup(columns: ColumnBuilder[], rows: number): Promise<void> {
    const start = this.offset;
    const chunks: ThriftStruct[] = [];
    let uncompressed = 0;
    for (let index = 0; index < columns.length; index++) {
      // One column per turn: a large group does not hold the event loop for all of its columns.
      if (index > 0) await new Promise((resolve) => setImmediate(resolve));
      const chunk = columnChunk(
        (columns[index] as ColumnBuilder).encode(this.pageRows),
        this.layout.leaves[index] as FileLayout['leaves'][number],
        this.offset,
      );
      this.file.write(chunk.bytes);
      this.offset += chunk.bytes.length;
      uncompressed += chunk.uncompressed;
      chunks.push(chunk.metadata);
    }
    const metadata = rowGroupMetadata(chunks, rows, start, this.offset - start, uncompressed);
    this.rowGroups.push(metadata);
    this.rowGroupBytes += metadata.length;
    this.totalRows += rows;
  }

  async finish(): Promise<void> {
    if (this.rows > 0) this.handOff();
    await this.writing;
    if (this.failure) throw this.failure;
    this.file.write(footer(this.layout, this.rowGroups, this.totalRows));
    this.rowGroupBytes = 0;
  }
}
