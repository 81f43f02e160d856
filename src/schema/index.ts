/**
 * `hostflow schema --dialect D`: the CREATE statements of each fleet
 * engine, one generator per dialect, all from the one record schema.
 */
import { normalizePrefix } from '../storage/layout.js';
import { athenaStatements } from './athena.js';
import { duckdbStatements } from './duckdb.js';
import type { DdlOptions } from './options.js';
import { sparkStatements } from './spark.js';
import { trinoStatements } from './trino.js';

export const DIALECTS = ['athena', 'trino', 'spark', 'duckdb'] as const;
export type Dialect = (typeof DIALECTS)[number];

/** The engine version each dialect's statements are written for (README: "Tables for other engines"). */
export const DIALECT_TARGETS: Record<Dialect, string> = {
  athena: 'Athena engine version 3',
  trino: 'Trino 400 or newer, Hive connector',
  spark: 'Spark 3.5 SQL',
  duckdb: 'DuckDB 1.5',
};

const GENERATORS: Record<Dialect, (options: DdlOptions) => string[]> = {
  athena: athenaStatements,
  trino: trinoStatements,
  spark: sparkStatements,
  duckdb: duckdbStatements,
};

export function schemaStatements(dialect: Dialect, options: DdlOptions): string[] {
  return GENERATORS[dialect](options);
}

/** The statements as a script: a comment naming the target, each statement ended by `;`. */
export function schemaScript(dialect: Dialect, options: DdlOptions): string {
  const header = `-- hostflow tables for ${DIALECT_TARGETS[dialect]}, ${options.format} objects under ${options.location}\n`;
  return `${header}${schemaStatements(dialect, options)
    .map((statement) => `${statement};\n`)
    .join('\n')}`;
}

/** Where the record types' folders are: s3://bucket/prefix, or folder/prefix. */
export function storageLocation(where: { bucket?: string; directory?: string; prefix: string }): string {
  const prefix = normalizePrefix(where.prefix);
  const root = where.bucket !== undefined ? `s3://${where.bucket}` : (where.directory ?? '.').replace(/\/+$/, '');
  return prefix ? `${root}/${prefix}` : root;
}

export type { DdlOptions } from './options.js';
export { DDL_DEFAULTS } from './options.js';
