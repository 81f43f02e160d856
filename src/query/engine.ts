/**
 * The embedded engine: DuckDB in memory, loaded on first use (the tracer
 * never loads it), with one view per record type over the files a query
 * found. Nothing is downloaded: DuckDB's JSON and Parquet readers are
 * part of the package, and extension autoloading is off so a query never
 * reaches the network.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { RecordType } from '../records/types.js';
import { duckdbName, duckdbSelect, type DuckdbFiles } from '../schema/duckdb.js';
import { sqlString, timeColumn } from '../schema/columns.js';
import { HOST_PARTITION } from '../storage/layout.js';
import { plainValue, type PlainValue } from './values.js';

export interface QueryResult {
  columns: string[];
  rows: PlainValue[][];
}

export interface ViewFilter {
  since?: string;
  until?: string;
  hostnames: readonly string[];
}

/** 2026-11-23T18:36:04.123456Z as a DuckDB TIMESTAMP literal (UTC). */
function timestampLiteral(iso: string): string {
  return `TIMESTAMP ${sqlString(iso.slice(0, 26).replace('T', ' '))}`;
}

/** The view of one record type: its typed rows, cut to the query's time range and hosts. */
export function viewSql(type: RecordType, files: DuckdbFiles, filter: ViewFilter): string {
  const time = duckdbName(timeColumn(type));
  const conditions: string[] = [];
  if (filter.since !== undefined) conditions.push(`${time} >= ${timestampLiteral(filter.since)}`);
  if (filter.until !== undefined) conditions.push(`${time} < ${timestampLiteral(filter.until)}`);
  if (filter.hostnames.length > 0) conditions.push(`${duckdbName(HOST_PARTITION)} IN (${filter.hostnames.map(sqlString).join(', ')})`);
  const select = duckdbSelect(type, files);
  const where = conditions.length > 0 ? `\nWHERE ${conditions.join(' AND ')}` : '';
  return `CREATE OR REPLACE TEMP VIEW ${duckdbName(type)} AS\nSELECT * FROM (\n${select}\n)${where}`;
}

/**
 * DuckDB's errors about the statement itself (syntax, unknown names,
 * types); any other error while reading is about the data, and worth
 * looking for a malformed object.
 */
export function isStatementError(message: string): boolean {
  return /^(Parser|Binder|Catalog|Syntax|Not implemented|Permission|Constraint) Error/i.test(message);
}

export class QueryEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(): Promise<QueryEngine> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    // Records are UTC; casts and literals must not move them by the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return new QueryEngine(instance, connection);
  }

  async defineViews(files: ReadonlyMap<RecordType, DuckdbFiles>, filter: ViewFilter): Promise<void> {
    for (const [type, typeFiles] of files) await this.connection.run(viewSql(type, typeFiles, filter));
  }

  async run(sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
    const reader = await this.connection.runAndReadAll(sql, parameters.length > 0 ? [...parameters] : undefined);
    return { columns: reader.columnNames(), rows: reader.getRows().map((row) => row.map(plainValue)) };
  }

  /** Why one file cannot be read as its record type (every column of every row), or null when it can. */
  async unreadable(type: RecordType, format: keyof DuckdbFiles, path: string): Promise<string | null> {
    const files: DuckdbFiles = format === 'parquet' ? { parquet: [path], ndjson: [] } : { parquet: [], ndjson: [path] };
    try {
      await this.connection.run(`SELECT max(length(CAST(whole AS VARCHAR))) FROM (${duckdbSelect(type, files)}) AS whole`);
      return null;
    } catch (error) {
      return (error as Error).message.split('\n')[0] ?? 'unreadable';
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
