/**
 * DuckDB's values as plain ones, for output; pure. Timestamps as hostflow
 * writes them (ISO-8601 UTC with microseconds), lists as arrays, integers
 * as numbers while exact (as text past 2^53), other values as DuckDB
 * prints them.
 */
export type PlainValue = string | number | boolean | null | PlainValue[];

interface TimestampLike {
  micros: bigint;
}
interface ListLike {
  items: readonly unknown[];
}

/** 1763923564123456n -> 2025-11-23T18:46:04.123456Z */
export function isoFromMicros(micros: bigint): string {
  const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  const fraction = micros - seconds * 1_000_000n;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${String(fraction).padStart(6, '0')}Z`;
}

/** `constructorName` tells a timestamp (with or without a zone) from other values that carry micros (TIME). */
export function plainValue(value: unknown): PlainValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  const name = (value as object).constructor?.name;
  if ((name === 'DuckDBTimestampValue' || name === 'DuckDBTimestampTZValue') && typeof (value as TimestampLike).micros === 'bigint') {
    return isoFromMicros((value as TimestampLike).micros);
  }
  if ((name === 'DuckDBListValue' || name === 'DuckDBArrayValue') && Array.isArray((value as ListLike).items)) return (value as ListLike).items.map(plainValue);
  if (name === 'DuckDBDecimalValue') return Number(String(value));
  return String(value);
}
