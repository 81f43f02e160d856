/**
 * DuckDB (1.5) views: one SELECT per record type over its objects, every
 * column cast to the type its kind gives, partitions as VARCHAR columns,
 * so NDJSON and Parquet objects read as the same typed rows (times as
 * TIMESTAMP, address lists as VARCHAR[]). `hostflow query` builds its views
 * with the same function, over the files it found; `hostflow schema
 * --dialect duckdb` over the layout's globs.
 */
import type { Kind } from '../records/columns.js';
import type { RecordType } from '../records/types.js';
import { FORMAT_EXTENSIONS } from '../storage/layout.js';
import { PARTITION_COLUMNS, recordColumns, sqlString, type TypeNames } from './columns.js';
import { typeLocation, type DdlOptions } from './options.js';

export const DUCKDB_TYPES: TypeNames = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  list: 'VARCHAR[]',
} satisfies Record<Kind, string>;

export const duckdbName = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/** Files (or globs) of one record type, by format. */
export interface DuckdbFiles {
  parquet: readonly string[];
  ndjson: readonly string[];
}

const HIVE = `hive_partitioning = true, hive_types = {${PARTITION_COLUMNS.map((column) => `${sqlString(column)}: 'VARCHAR'`).join(', ')}}`;

function fileList(files: readonly string[]): string {
  return `[${files.map(sqlString).join(', ')}]`;
}

function typedSelect(type: RecordType, from: string): string {
  const columns = [
    ...recordColumns(type).map((column) => `CAST(${duckdbName(column.name)} AS ${DUCKDB_TYPES[column.kind]}) AS ${duckdbName(column.name)}`),
    ...PARTITION_COLUMNS.map((column) => `CAST(${duckdbName(column)} AS VARCHAR) AS ${duckdbName(column)}`),
  ];
  return `SELECT\n  ${columns.join(',\n  ')}\nFROM ${from}`;
}

/** The JSON reader told every column's type, so a field absent from every line is a NULL column rather than an error. */
function jsonColumns(type: RecordType): string {
  return `{${recordColumns(type)
    .map((column) => `${sqlString(column.name)}: ${sqlString(DUCKDB_TYPES[column.kind])}`)
    .join(', ')}}`;
}

/**
 * The typed rows of one record type's files: Parquet and gzip NDJSON
 * alike, in one result. No file at all is an empty result of the same
 * columns.
 */
export function duckdbSelect(type: RecordType, files: DuckdbFiles): string {
  const parts: string[] = [];
  if (files.parquet.length > 0) parts.push(typedSelect(type, `read_parquet(${fileList(files.parquet)}, ${HIVE}, union_by_name = true)`));
  if (files.ndjson.length > 0) {
    parts.push(
      typedSelect(type, `read_json(${fileList(files.ndjson)}, format = 'newline_delimited', compression = 'gzip', columns = ${jsonColumns(type)}, ${HIVE})`),
    );
  }
  if (parts.length === 0) {
    const columns = [
      ...recordColumns(type).map((column) => `CAST(NULL AS ${DUCKDB_TYPES[column.kind]}) AS ${duckdbName(column.name)}`),
      ...PARTITION_COLUMNS.map((column) => `CAST(NULL AS VARCHAR) AS ${duckdbName(column)}`),
    ];
    return `SELECT\n  ${columns.join(',\n  ')}\nWHERE false`;
  }
  return parts.join('\nUNION ALL\n');
}

/** The layout's glob of one record type's objects of one format. */
export function layoutGlob(options: Pick<DdlOptions, 'location'>, type: RecordType, format: DdlOptions['format']): string {
  return `${typeLocation(options, type)}dt=*/hour=*/${PARTITION_COLUMNS[2]}=*/*.${FORMAT_EXTENSIONS[format]}`;
}

export function duckdbStatements(options: DdlOptions): string[] {
  const statements = [`CREATE SCHEMA IF NOT EXISTS ${duckdbName(options.database)}`];
  for (const type of options.types) {
    const glob = layoutGlob(options, type, options.format);
    const files = options.format === 'parquet' ? { parquet: [glob], ndjson: [] } : { parquet: [], ndjson: [glob] };
    statements.push(`CREATE OR REPLACE VIEW ${duckdbName(options.database)}.${duckdbName(type)} AS\n${duckdbSelect(type, files)}`);
  }
  return statements;
}
