/**
 * Athena (engine version 3) tables: Hive DDL, external tables over each
 * record type's folder, partitions found by projection rather than by
 * crawling (`dt` a date, `hour` 00-23, `hostname` injected or an enum), so
 * a new host or day is queryable at once and Athena lists only the
 * folders a query's partition filters name. Parquet is read as it is;
 * gzip NDJSON through the Hive JSON SerDe, told how hostflow writes times.
 */
import type { Kind } from '../records/columns.js';
import type { RecordType } from '../records/types.js';
import { PARTITION_COLUMNS, recordColumns, sqlString, type TypeNames } from './columns.js';
import { typeLocation, type DdlOptions } from './options.js';

export const ATHENA_TYPES: TypeNames = {
  string: 'string',
  int32: 'int',
  int64: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp',
  list: 'array<string>',
} satisfies Record<Kind, string>;

const name = (identifier: string) => `\`${identifier}\``;

/** Joda pattern of the NDJSON times (2026-11-23T18:36:04.123456Z), as a Hive string literal. */
const JSON_TIME_FORMAT = "'yyyy-MM-dd\\'T\\'HH:mm:ss.SSSSSS\\'Z\\''";

function projection(options: DdlOptions, type: RecordType): string[] {
  const host = PARTITION_COLUMNS[2];
  const hostProjection =
    options.hostnames.length > 0
      ? [`'projection.${host}.type' = 'enum'`, `'projection.${host}.values' = ${sqlString(options.hostnames.join(','))}`]
      : [`'projection.${host}.type' = 'injected'`];
  return [
    "'projection.enabled' = 'true'",
    "'projection.dt.type' = 'date'",
    "'projection.dt.format' = 'yyyy-MM-dd'",
    `'projection.dt.range' = ${sqlString(options.dateRange)}`,
    "'projection.dt.interval' = '1'",
    "'projection.dt.interval.unit' = 'DAYS'",
    "'projection.hour.type' = 'integer'",
    "'projection.hour.range' = '0,23'",
    "'projection.hour.digits' = '2'",
    ...hostProjection,
    `'storage.location.template' = ${sqlString(`${typeLocation(options, type)}dt=\${dt}/hour=\${hour}/${host}=\${${host}}/`)}`,
  ];
}

export function athenaStatements(options: DdlOptions): string[] {
  const statements = [`CREATE DATABASE IF NOT EXISTS ${name(options.database)}`];
  for (const type of options.types) {
    const columns = recordColumns(type).map((column) => `  ${name(column.name)} ${ATHENA_TYPES[column.kind]}`);
    const storage =
      options.format === 'parquet'
        ? ['STORED AS PARQUET']
        : ["ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'", `WITH SERDEPROPERTIES ('timestamp.formats' = ${JSON_TIME_FORMAT})`];
    statements.push(
      [
        `CREATE EXTERNAL TABLE IF NOT EXISTS ${name(options.database)}.${name(type)} (`,
        columns.join(',\n'),
        ')',
        `PARTITIONED BY (${PARTITION_COLUMNS.map((column) => `${name(column)} string`).join(', ')})`,
        ...storage,
        `LOCATION ${sqlString(typeLocation(options, type))}`,
        'TBLPROPERTIES (',
        projection(options, type)
          .map((line) => `  ${line}`)
          .join(',\n'),
        ')',
      ].join('\n'),
    );
  }
  return statements;
}
