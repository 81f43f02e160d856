/**
 * Trino (Hive connector, Trino 4xx) tables: external tables over each
 * record type's folder, partitioned by the key layout's columns (which
 * Trino's Hive connector wants last, as the keys have them), then a call
 * that registers the partitions already in the bucket; run it again after
 * new days or hosts arrive.
 *
 * Times are declared `timestamp(3)`: the connector's default precision
 * (`hive.timestamp-precision=MILLISECONDS`); with MICROSECONDS configured,
 * declare `timestamp(6)` to keep the records' microseconds.
 */
import type { Kind } from '../records/columns.js';
import { PARTITION_COLUMNS, recordColumns, sqlString, type TypeNames } from './columns.js';
import { typeLocation, type DdlOptions } from './options.js';

export const TRINO_TYPES: TypeNames = {
  string: 'varchar',
  int32: 'integer',
  int64: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp(3)',
  list: 'array(varchar)',
} satisfies Record<Kind, string>;

const name = (identifier: string) => `"${identifier}"`;

export function trinoStatements(options: DdlOptions): string[] {
  const schema = `${name(options.catalog)}.${name(options.database)}`;
  const statements = [`CREATE SCHEMA IF NOT EXISTS ${schema}`];
  for (const type of options.types) {
    const columns = [
      ...recordColumns(type).map((column) => `  ${name(column.name)} ${TRINO_TYPES[column.kind]}`),
      ...PARTITION_COLUMNS.map((column) => `  ${name(column)} varchar`),
    ];
    statements.push(
      [
        `CREATE TABLE IF NOT EXISTS ${schema}.${name(type)} (`,
        columns.join(',\n'),
        ')',
        'WITH (',
        `  external_location = ${sqlString(typeLocation(options, type))},`,
        `  format = '${options.format === 'parquet' ? 'PARQUET' : 'JSON'}',`,
        `  partitioned_by = ARRAY[${PARTITION_COLUMNS.map(sqlString).join(', ')}]`,
        ')',
      ].join('\n'),
      `CALL ${name(options.catalog)}.system.sync_partition_metadata(${sqlString(options.database)}, ${sqlString(type)}, 'ADD')`,
    );
  }
  return statements;
}
