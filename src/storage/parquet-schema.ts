/**
 * The Parquet schema of each record type, and a record as a Parquet row;
 * pure. Every field of the record is a column of the same name, in the
 * record's field order, of the kind src/records/columns.ts gives it.
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
 * - every column is SNAPPY-compressed (the engines' common default, and
 *   one every reader ships), data pages v1 (read by older engines too).
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

/** A field definition as @dsnp/parquetjs's ParquetSchema takes it. */
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

/** The schema definition of one record type, for `new ParquetSchema(...)`. */
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
