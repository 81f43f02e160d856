/**
 * What a dialect's statements need to know about the bucket: where the
 * record types' folders are, the object format, and names; pure.
 */
import type { RecordType } from '../records/types.js';
import type { StorageFormat } from '../storage/layout.js';

export interface DdlOptions {
  /** The folder above the record types' folders, no trailing slash: s3://bucket/prefix, or a local folder for DuckDB. */
  location: string;
  /** The objects' format: one table reads one format. */
  format: StorageFormat;
  /** The database (Athena, Spark), schema (Trino, DuckDB) the tables go in. */
  database: string;
  /** Trino's catalog of the Hive connector. */
  catalog: string;
  /** Record types to declare a table for, in this order. */
  types: readonly RecordType[];
  /** Athena: the `hostname` partition's values (an enum projection); empty: injected, so a query must name its hosts. */
  hostnames: readonly string[];
  /** Athena: the `dt` projection's range, `START,END` as yyyy-MM-dd or NOW-relative. */
  dateRange: string;
}

export const DDL_DEFAULTS = {
  database: 'hostflow',
  catalog: 'hive',
  format: 'parquet' as StorageFormat,
  dateRange: 'NOW-1YEARS,NOW',
};

/** The folder of one record type's objects, with a trailing slash (as Hive locations are written). */
export function typeLocation(options: Pick<DdlOptions, 'location'>, type: RecordType): string {
  return `${options.location}/${type}/`;
}
