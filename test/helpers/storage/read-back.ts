/**
 * Objects back into records, independently of the writer: gzip NDJSON with
 * zlib and JSON.parse, Parquet with hyparquet, converting by the file's own
 * schema (timestamps to ISO-8601 with microseconds, INT64 to numbers, a
 * null LIST to null).
 */
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import type { HostflowRecord } from '../../../src/records/types.js';

export function isoFromMicros(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const fraction = String(micros % 1_000_000n).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

export function ndjsonLines(body: Buffer): string[] {
  const text = gunzipSync(body).toString('utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

export async function parquetRecords(body: Buffer): Promise<HostflowRecord[]> {
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, parsers: { timestampFromMicroseconds: (micros: bigint | number) => isoFromMicros(BigInt(micros)) } });
  return rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row)) record[name] = value === undefined ? null : typeof value === 'bigint' ? Number(value) : value;
    return record as unknown as HostflowRecord;
  });
}

/** The records of one object, by its name's extension. */
export async function objectRecords(key: string, body: Buffer): Promise<HostflowRecord[]> {
  if (key.endsWith('.parquet')) return parquetRecords(body);
  return ndjsonLines(body).map((line) => JSON.parse(line) as HostflowRecord);
}

const KEY =
  /^(?:(.+)\/)?(dns|conn|flow|udp)\/dt=(\d{4}-\d\d-\d\d)\/hour=(\d\d)\/hostname=([^/]+)\/(\d{8}T\d{6}\.\d{6}Z)-(\d{8}T\d{6}\.\d{6}Z)-([0-9a-z]+)\.(ndjson\.gz|parquet)$/;

export interface ParsedKey {
  prefix: string;
  type: string;
  dt: string;
  hour: string;
  host: string;
  first: string;
  last: string;
  seq: string;
  extension: string;
}

export function parseKey(key: string): ParsedKey | null {
  const match = KEY.exec(key);
  if (!match) return null;
  const [, prefix = '', type, dt, hour, host, first, last, seq, extension] = match as unknown as string[];
  return { prefix, type, dt, hour, host, first, last, seq, extension } as ParsedKey;
}

const compact = (iso: string) => iso.replace(/[-:]/g, '');

/**
 * Why an object's records do not belong under its key (another type,
 * another hour, times outside its name's first..last), or null.
 */
export function misplaced(key: string, records: HostflowRecord[]): string | null {
  const parsed = parseKey(key);
  if (!parsed) return `${key}: not {prefix}/{type}/dt=/hour=/hostname=/{first}-{last}-{seq}.{ext}`;
  if (records.length === 0) return `${key}: empty`;
  const times = records.map((r) => (r.type === 'flow' ? r.start : r.ts)).sort();
  for (const record of records) {
    const time = record.type === 'flow' ? record.start : record.ts;
    if (record.type !== parsed.type) return `${key}: holds a ${record.type} record`;
    if (time.slice(0, 10) !== parsed.dt || time.slice(11, 13) !== parsed.hour) return `${key}: holds a record of ${time}`;
  }
  if (compact(times[0] as string) !== parsed.first || compact(times[times.length - 1] as string) !== parsed.last) {
    return `${key}: records from ${times[0]} to ${times[times.length - 1]}`;
  }
  return null;
}
