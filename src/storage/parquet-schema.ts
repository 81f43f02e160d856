/**
 * The Parquet schema of each record type; pure. Every field of the record
 * is a column of the same name, in the record's field order, of the kind
 * src/records/columns.ts gives it. ./parquet-file.ts turns it into the
 * footer's schema elements, ./parquet-columns.ts writes the values.
 *
 * Choices, for Athena/Trino, Spark and DuckDB:
 * - times (`ts`, `start`, `end`, `first_seen`, `last_seen`) are INT64
 *   TIMESTAMP_MICROS (UTC): every engine reads them as timestamps, keeps
 *   the microseconds the records carry, and prunes row groups by their
 *   min/max statistics; ISO strings would need a cast in every query and
 *   compare as text.
 * - `addrs` and `cnames` are 3-level LISTs of UTF8 (`optional group cnames
 *   (LIST) { repeated group list { required binary element (UTF8) } }`),
 *   read as array(varchar) / VARCHAR[] everywhere, so `contains(addrs,
 *   '1.2.3.4')` works without parsing JSON; an optional LIST keeps a null
 *   `cnames` apart from an empty one.
 * - counters that can pass 2^31 (bytes, packets, uid, ttl, retransmits)
 *   are INT64, small integers (pid, ppid, tid, ports, family, tcp_flags)
 *   INT32, milliseconds DOUBLE, `established` BOOLEAN, text UTF8.
 * - only converted types (UTF8, LIST, TIMESTAMP_MICROS), no logical type
 *   annotations: the files Athena engine 2 and Spark 2 read as well, and
 *   the timestamps read as TIMESTAMP (not WITH TIME ZONE) everywhere.
 * - every column is SNAPPY-compressed: the default of Spark and DuckDB,
 *   one every reader ships, and cheap to write (about 5% of the encoder's
 *   time). ZSTD would make objects smaller but Node 20's zlib has none
 *   (22.15 and later do), and npm's are native or WebAssembly builds.
 * - text is dictionary-encoded (a PLAIN dictionary page, RLE_DICTIONARY
 *   data pages) when that is smaller than PLAIN, which it is for nearly
 *   every column (process names, hosts, addresses repeat), PLAIN otherwise;
 *   numbers are PLAIN; data pages v1 (read by older engines too), of
 *   16,384 rows at most. Every column chunk has min/max statistics and the
 *   footer declares type-defined order, so engines skip row groups by time
 *   or name.
 * - row groups of up to 122,880 rows (DuckDB's own size). An object is at
 *   most --storage-max-object-mb (64 MB) and holds a flush interval's
 *   records (60 s), so most objects are one row group: Athena, Trino and
 *   Spark plan one split per row group and read the footer once, Spark's
 *   128 MB parquet.block.size and Athena's advice for large row groups
 *   are about not cutting a file into many small groups, which this
 *   avoids, and DuckDB parallelizes over row groups of this size. The open
 *   row group is typed arrays and dictionaries: about 150 bytes a `conn`
 *   row, 18 MB for a full group (measured).
 */
import { RECORD_COLUMNS, type ColumnKind, type Kind } from '../records/columns.js';
import type { RecordType } from '../records/types.js';

/** The Parquet columns are the records' own (src/records/columns.ts). */
export const PARQUET_COLUMNS = RECORD_COLUMNS;

const COMPRESSION = 'SNAPPY';

const PRIMITIVES: Record<Exclude<Kind, 'list'>, string> = {
  string: 'UTF8',
  int32: 'INT32',
  int64: 'INT64',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP_MICROS',
};

/**
 * A field definition, in the shape @dsnp/parquetjs's ParquetSchema takes
 * (the bench's candidate uses it so): the readable form of the schema that
 * ./parquet-file.ts turns into the footer's schema elements.
 */
export interface ParquetField {
  type?: string;
  optional?: boolean;
  repeated?: boolean;
  compression?: string;
  fields?: Record<string, ParquetField>;
}

function baseKind(kind: ColumnKind): { kind: Kind; optional: boolean } {
  const optional = kind.endsWith('?');
  return { kind: (optional ? kind.slice(0, -1) : kind) as Kind, optional };
}

/** The schema of one record type, field by field in record order. */
export function parquetFields(type: RecordType): Record<string, ParquetField> {
  const fields: Record<string, ParquetField> = {};
  for (const [name, column] of Object.entries(PARQUET_COLUMNS[type])) {
    const { kind, optional } = baseKind(column);
    fields[name] =
      kind === 'list'
        ? { type: 'LIST', optional, fields: { list: { repeated: true, fields: { element: { type: 'UTF8', compression: COMPRESSION } } } } }
        : { type: PRIMITIVES[kind], optional, compression: COMPRESSION };
  }
  return fields;
}
