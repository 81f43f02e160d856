/**
 * Holds the CREATE statements `hostflow schema` prints against objects
 * hostflow wrote, without trusting the generator: the statements are
 * parsed as text, the Parquet files' schema is read by hyparquet, NDJSON
 * lines by JSON.parse, and keys by their own pattern here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { ndjsonLines } from '../storage/read-back.js';

export interface DeclaredTable {
  name: string;
  /** Column name -> the dialect's type, as written. */
  columns: Map<string, string>;
  /** Partition columns, in the order declared. */
  partitions: string[];
}

const unquote = (identifier: string) => identifier.replace(/^[`"]|[`"]$/g, '');

/**
 * Every CREATE TABLE / VIEW of a script: a column is a line `  name type,`
 * (DuckDB: `CAST("name" AS TYPE) AS "name"`); Hive partitions are
 * `PARTITIONED BY (name type, ...)`, Trino's `partitioned_by = ARRAY[...]`
 * and Spark's `PARTITIONED BY (name, ...)` name columns declared above.
 */
export function parseDdl(script: string): DeclaredTable[] {
  const tables: DeclaredTable[] = [];
  for (const statement of script.split(/;\n/)) {
    const header = /CREATE (?:EXTERNAL TABLE|TABLE|OR REPLACE VIEW)(?: IF NOT EXISTS)? (\S+?)(?: \(| AS)\n/.exec(statement);
    if (!header) continue;
    const name = unquote((header[1] as string).split('.').pop() as string);
    const columns = new Map<string, string>();
    for (const match of statement.matchAll(/^ {2}([`"][a-z_]+[`"]) ([^\n]+?),?$/gm)) columns.set(unquote(match[1] as string), (match[2] as string).trim());
    for (const match of statement.matchAll(/CAST\("([a-z_]+)" AS ([A-Z[\]]+)\) AS "\1"/g)) columns.set(match[1] as string, match[2] as string);
    let partitions: string[] = [];
    const hive = /PARTITIONED BY \(([^)]*)\)/.exec(statement);
    const trino = /partitioned_by = ARRAY\[([^\]]*)\]/.exec(statement);
    if (hive) {
      partitions = (hive[1] as string).split(',').map((part) => {
        const [column, type] = part.trim().split(/\s+/) as [string, string | undefined];
        if (type) columns.set(unquote(column), type);
        return unquote(column);
      });
    } else if (trino) partitions = (trino[1] as string).split(',').map((part) => part.trim().replace(/'/g, ''));
    else if (statement.includes('hive_partitioning = true')) partitions = ['dt', 'hour', 'hostname'];
    tables.push({ name, columns, partitions });
  }
  return tables;
}

export type ValueKind = 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'timestamp' | 'list';

/** What a declared type holds, across the four dialects. */
export function declaredKind(type: string): ValueKind {
  const t = type.toLowerCase();
  if (t === 'string' || t === 'varchar') return 'string';
  if (t === 'int' || t === 'integer') return 'int32';
  if (t === 'bigint') return 'int64';
  if (t === 'double') return 'double';
  if (t === 'boolean') return 'boolean';
  if (/^timestamp(\(\d\))?$/.test(t)) return 'timestamp';
  if (t === 'array<string>' || t === 'array(varchar)' || t === 'varchar[]') return 'list';
  throw new Error(`unknown declared type ${type}`);
}

/** The kind of each top-level column of a Parquet file, from its own schema. */
export function parquetKinds(body: Buffer): Map<string, ValueKind> {
  const { schema } = parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
  const kinds = new Map<string, ValueKind>();
  let index = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let child = 0; child < (schema[at]?.num_children ?? 0); child++) next = skip(next);
    return next;
  };
  while (index < schema.length) {
    const element = schema[index]!;
    const logical = (element.logical_type as { type?: string; unit?: string } | undefined)?.type;
    let kind: ValueKind;
    if (element.converted_type === 'LIST' || logical === 'LIST') kind = 'list';
    else if (element.type === 'BYTE_ARRAY' && (element.converted_type === 'UTF8' || logical === 'STRING')) kind = 'string';
    else if (element.type === 'INT64' && (element.converted_type === 'TIMESTAMP_MICROS' || logical === 'TIMESTAMP')) kind = 'timestamp';
    else if (element.type === 'INT64') kind = 'int64';
    else if (element.type === 'INT32') kind = 'int32';
    else if (element.type === 'DOUBLE') kind = 'double';
    else if (element.type === 'BOOLEAN') kind = 'boolean';
    else throw new Error(`column ${element.name}: unexpected Parquet type ${element.type}/${element.converted_type}`);
    kinds.set(element.name, kind);
    index = skip(index);
  }
  return kinds;
}

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** Whether a JSON value fits a kind (null fits any: the DDL declares no NOT NULL). */
export function jsonFits(value: unknown, kind: ValueKind): boolean {
  if (value === null) return true;
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'int32':
      return Number.isInteger(value) && Math.abs(value as number) < 2 ** 31;
    case 'int64':
      return Number.isSafeInteger(value);
    case 'double':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return typeof value === 'string' && ISO_MICROS.test(value);
    case 'list':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

const KEY = /^(dns|conn|flow|udp)\/dt=(\d{4}-\d\d-\d\d)\/hour=(\d\d)\/hostname=([^/]+)\/[^/]+\.(ndjson\.gz|parquet)$/;

export interface StoredFile {
  /** Key below the prefix: type/dt=/hour=/hostname=/name. */
  key: string;
  type: string;
  partitions: Record<string, string>;
  body: Buffer;
}

/** Every object below `root` (the folder holding the record types), with its key's partitions. */
export function storedFiles(root: string): StoredFile[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map((path) => path.split('\\').join('/'))
    .filter((path) => KEY.test(path))
    .sort()
    .map((key) => {
      const match = KEY.exec(key) as RegExpExecArray;
      return {
        key,
        type: match[1] as string,
        partitions: { dt: match[2] as string, hour: match[3] as string, hostname: match[4] as string },
        body: readFileSync(join(root, key)),
      };
    });
}

/**
 * What does not hold between a script's tables and the objects: each
 * declared data column is a column of every Parquet file of its type with
 * the same kind (and no file column is undeclared), each NDJSON line has
 * exactly the declared fields with fitting values, and the partition
 * columns are the key's, in its order. Empty when everything holds.
 */
export function ddlMismatches(script: string, files: readonly StoredFile[]): string[] {
  const problems: string[] = [];
  const tables = new Map(parseDdl(script).map((table) => [table.name, table]));
  for (const file of files) {
    const table = tables.get(file.type);
    if (!table) {
      problems.push(`${file.key}: no table ${file.type}`);
      continue;
    }
    if (table.partitions.join(',') !== Object.keys(file.partitions).join(','))
      problems.push(`${table.name}: partitions ${table.partitions.join(',')} are not the key's`);
    for (const partition of table.partitions) {
      const type = table.columns.get(partition);
      if (type === undefined || declaredKind(type) !== 'string')
        problems.push(`${table.name}: partition ${partition} is declared ${type ?? 'nowhere'}, not as text`);
    }
    const data = new Map([...table.columns].filter(([name]) => !table.partitions.includes(name)));
    if (file.key.endsWith('.parquet')) {
      const kinds = parquetKinds(file.body);
      for (const [name, type] of data) {
        if (kinds.get(name) !== declaredKind(type)) problems.push(`${file.key}: ${name} declared ${type}, the file has ${kinds.get(name) ?? 'no such column'}`);
      }
      for (const name of kinds.keys()) if (!data.has(name)) problems.push(`${file.key}: column ${name} is not declared`);
    } else {
      for (const line of ndjsonLines(file.body)) {
        const record = JSON.parse(line) as Record<string, unknown>;
        for (const [name, type] of data) {
          if (!(name in record)) problems.push(`${file.key}: a line has no ${name}`);
          else if (!jsonFits(record[name], declaredKind(type))) problems.push(`${file.key}: ${name} = ${JSON.stringify(record[name])} does not fit ${type}`);
        }
        for (const name of Object.keys(record)) if (!data.has(name)) problems.push(`${file.key}: field ${name} is not declared`);
      }
    }
  }
  return [...new Set(problems)];
}
