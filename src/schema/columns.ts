/**
 * The columns every engine's table declares, from the one schema
 * (src/records/columns.ts) and the key layout (src/storage/layout.ts);
 * pure. Each dialect maps a column kind to its own type name and nothing
 * else, so no table can drift from what the encoders write.
 */
import { RECORD_COLUMNS, type ColumnKind, type Kind } from '../records/columns.js';
import { RECORD_TYPES, type RecordType } from '../records/types.js';
import { HOST_PARTITION } from '../storage/layout.js';

export interface Column {
  name: string;
  kind: Kind;
  nullable: boolean;
}

/** The record type's columns, in the order records print them. */
export function recordColumns(type: RecordType): Column[] {
  return Object.entries(RECORD_COLUMNS[type]).map(([name, column]: [string, ColumnKind]) => {
    const nullable = column.endsWith('?');
    return { name, kind: (nullable ? column.slice(0, -1) : column) as Kind, nullable };
  });
}

/**
 * The Hive partition columns of the key layout, in key order. All text:
 * `hour` keeps its leading zero as the keys spell it (`hour=07`), and no
 * engine guesses a type differently from another.
 */
export const PARTITION_COLUMNS = ['dt', 'hour', HOST_PARTITION] as const;

/** The record's own time, the one a time range filters on: `ts`, `start` for flows. */
export function timeColumn(type: RecordType): string {
  return type === 'flow' ? 'start' : 'ts';
}

export const TABLE_TYPES: readonly RecordType[] = RECORD_TYPES;

/** A dialect's type name for each column kind. */
export type TypeNames = Readonly<Record<Kind, string>>;

/** A SQL string literal: single quotes doubled. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
