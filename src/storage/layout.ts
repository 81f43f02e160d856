/**
 * Where a record lands in the bucket, pure. A fleet writes to one bucket as
 * Hive-style partitions that Athena, Trino, Spark and DuckDB read as one
 * table per record type:
 *
 *   {prefix}/{type}/dt=YYYY-MM-DD/hour=HH/hostname={hostname}/{first}-{last}-{seq}.{ext}
 *
 * The partition comes from the record's own time (`ts`, or `start` for
 * flows) in UTC, so a late record still lands in its hour. `first` and
 * `last` are the batch's earliest and latest record times in a compact,
 * filename-safe form (20261123T183604.123456Z); `seq` names the batch
 * within its run and is fixed when the batch opens, so every retry of an
 * upload writes the same key and overwrites instead of duplicating.
 */
import type { HostflowRecord, RecordType } from '../records/types.js';

export type StorageFormat = 'ndjson' | 'parquet';

export const FORMAT_EXTENSIONS: Record<StorageFormat, string> = { ndjson: 'ndjson.gz', parquet: 'parquet' };

export const FORMAT_CONTENT_TYPES: Record<StorageFormat, string> = {
  ndjson: 'application/gzip',
  parquet: 'application/vnd.apache.parquet',
};

/** The Hive partition key naming the host; one place, as query engines see it. */
export const HOST_PARTITION = 'hostname';

/** A record's own time: `ts`, or `start` for flows; ISO-8601 UTC. */
export function recordTime(record: HostflowRecord): string {
  return record.type === 'flow' ? record.start : record.ts;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * The time as hostflow writes it (2026-11-23T18:36:04.123456Z); other
 * spellings (offsets, no fraction) are converted to UTC with microseconds
 * so partitions and names never depend on how a time was written.
 */
export function normalizeTime(time: string): string {
  if (time.length === 27 && ISO_UTC.test(time)) return time;
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(time);
  const wholeMs = Date.parse(match ? `${match[1]}${match[3]}` : time);
  if (!Number.isFinite(wholeMs)) throw new RangeError(`not an ISO-8601 time: ${JSON.stringify(time)}`);
  const fraction = (match?.[2] ?? '').padEnd(6, '0').slice(0, 6);
  return `${new Date(wholeMs).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** `YYYY-MM-DD` and `HH` of a normalized time. */
export interface Partition {
  dt: string;
  hour: string;
}

export function partitionOf(normalizedTime: string): Partition {
  return { dt: normalizedTime.slice(0, 10), hour: normalizedTime.slice(11, 13) };
}

/** 2026-11-23T18:36:04.123456Z -> 20261123T183604.123456Z */
export function compactTime(normalizedTime: string): string {
  return `${normalizedTime.slice(0, 4)}${normalizedTime.slice(5, 7)}${normalizedTime.slice(8, 13)}${normalizedTime.slice(14, 16)}${normalizedTime.slice(17)}`;
}

/** Microseconds since the epoch of a normalized time, for Parquet timestamps. */
export function epochMicros(normalizedTime: string): bigint {
  const wholeSeconds = Date.parse(`${normalizedTime.slice(0, 19)}Z`) / 1000;
  return BigInt(wholeSeconds) * 1_000_000n + BigInt(normalizedTime.slice(20, 26));
}

/** A host name as one safe path segment: letters, digits, `.`, `_`, `-`. */
export function hostSegment(hostname: string): string {
  const safe = hostname.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe || 'unknown';
}

/**
 * The key prefix without leading or trailing slashes; '' puts the types at
 * the bucket's root. Segments must be plain names (no '', '.', '..').
 */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || segment.startsWith('.')) {
      throw new RangeError(`storage prefix ${JSON.stringify(prefix)}: each segment must be a plain name (no empty, '.' or '..' parts, none starting with '.')`);
    }
  }
  return trimmed;
}

/** The folder of a batch's partition: everything of the key but the file name. */
export function partitionFolder(prefix: string, type: RecordType, partition: Partition, host: string): string {
  const path = `${type}/dt=${partition.dt}/hour=${partition.hour}/${HOST_PARTITION}=${host}`;
  return prefix ? `${prefix}/${path}` : path;
}

/** The object's file name from the batch's first and last normalized times. */
export function objectName(first: string, last: string, seq: string, format: StorageFormat): string {
  return `${compactTime(first)}-${compactTime(last)}-${seq}.${FORMAT_EXTENSIONS[format]}`;
}

/**
 * A batch's seq: the run id, then the batch number within the run (six
 * digits). Unique across runs and hosts' restarts, fixed when the batch
 * opens, and sorting in the order batches opened within a run.
 */
export function batchSeq(runId: string, batchNumber: number): string {
  return `${runId}${String(batchNumber).padStart(6, '0')}`;
}

let lastRunMs = 0;

/**
 * A run id: the start time in ms (base 36, 8 characters until 2059) and
 * the process id (base 36), so two runs on one host never share one.
 */
export function newRunId(nowMs = Date.now(), pid = process.pid): string {
  const ms = Math.max(nowMs, lastRunMs + 1);
  lastRunMs = ms;
  return `${ms.toString(36).padStart(8, '0')}${pid.toString(36)}`;
}
