/**
 * Spark SQL (3.5) tables: data source tables over each record type's
 * folder, partitioned by the key layout's columns, then a repair that
 * registers the partitions already there (run it again for new ones).
 * NDJSON is read by Spark's JSON source, which takes `.gz` by its name,
 * told how hostflow writes times (a double-quoted literal: Spark SQL
 * escapes quotes with backslashes, never by doubling them).
 */
import type { Kind } from '../records/columns.js';
import { PARTITION_COLUMNS, recordColumns, sqlString, type TypeNames } from './columns.js';
import { typeLocation, type DdlOptions } from './options.js';

export const SPARK_TYPES: TypeNames = {
  string: 'STRING',
  int32: 'INT',
  int64: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  list: 'ARRAY<STRING>',
} satisfies Record<Kind, string>;

const name = (identifier: string) => `\`${identifier}\``;

export function sparkStatements(options: DdlOptions): string[] {
  const statements = [`CREATE DATABASE IF NOT EXISTS ${name(options.database)}`];
  for (const type of options.types) {
    const table = `${name(options.database)}.${name(type)}`;
    const columns = [
      ...recordColumns(type).map((column) => `  ${name(column.name)} ${SPARK_TYPES[column.kind]}`),
      ...PARTITION_COLUMNS.map((column) => `  ${name(column)} STRING`),
    ];
    const source = options.format === 'parquet' ? ['USING parquet'] : ['USING json', `OPTIONS (timestampFormat "yyyy-MM-dd'T'HH:mm:ss.SSSSSSX")`];
    statements.push(
      [
        `CREATE TABLE IF NOT EXISTS ${table} (`,
        columns.join(',\n'),
        ')',
        ...source,
        `PARTITIONED BY (${PARTITION_COLUMNS.map(name).join(', ')})`,
        `LOCATION ${sqlString(typeLocation(options, type))}`,
      ].join('\n'),
      `MSCK REPAIR TABLE ${table}`,
    );
  }
  return statements;
}
