/**
 * Object keys back into what the layout put in them (src/storage/layout.ts),
 * and which keys a query needs; pure. Pruning is by the key alone, so a
 * bucket is listed once and only the objects of the wanted days, hours and
 * hosts are fetched.
 */
import { RECORD_TYPES, type RecordType } from '../records/types.js';
import { FORMAT_EXTENSIONS, HOST_PARTITION, type StorageFormat } from '../storage/layout.js';

export interface StoredKey {
  key: string;
  type: RecordType;
  dt: string;
  hour: string;
  hostname: string;
  format: StorageFormat;
}

const PARTITIONS = new RegExp(`^(dns|conn|flow|udp)/dt=(\\d{4}-\\d\\d-\\d\\d)/hour=(\\d\\d)/${HOST_PARTITION}=([^/]+)/([^/]+)$`);

/** The parts of a key under `prefix` ('' for none); null for anything else (probe files, stray objects). */
export function parseStoredKey(key: string, prefix: string): StoredKey | null {
  const rest = prefix ? (key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : null) : key;
  if (rest === null) return null;
  const match = PARTITIONS.exec(rest);
  if (!match) return null;
  const [, type, dt, hour, hostname, name] = match as unknown as [string, RecordType, string, string, string, string];
  if (name.startsWith('.')) return null;
  const format = (Object.keys(FORMAT_EXTENSIONS) as StorageFormat[]).find((candidate) => name.endsWith(`.${FORMAT_EXTENSIONS[candidate]}`));
  if (!format || !RECORD_TYPES.includes(type)) return null;
  return { key, type, dt, hour, hostname, format };
}

/** Which objects a query reads: a time range (ISO UTC, end excluded) and hosts (partition values). */
export interface KeyFilter {
  since?: string;
  until?: string;
  hostnames: readonly string[];
}

/** `YYYY-MM-DDTHH` of a time, comparable as text with a key's hour. */
const hourOf = (iso: string) => iso.slice(0, 13);

/** True when the key's hour can hold records in the range, and its host is wanted. */
export function keyWanted(key: StoredKey, filter: KeyFilter): boolean {
  const hour = `${key.dt}T${key.hour}`;
  if (filter.since !== undefined && hour < hourOf(filter.since)) return false;
  if (filter.until !== undefined && (hour > hourOf(filter.until) || (hour === hourOf(filter.until) && filter.until.slice(13) === ':00:00.000000Z')))
    return false;
  return filter.hostnames.length === 0 || filter.hostnames.includes(key.hostname);
}

/**
 * The listing prefixes that cover a range: one per record type and day
 * when the range is bounded and spans at most `maxDays`, else one per type.
 */
export function listingPrefixes(prefix: string, types: readonly RecordType[], filter: KeyFilter, maxDays = 31): string[] {
  const base = prefix ? `${prefix}/` : '';
  const days = filter.since !== undefined && filter.until !== undefined ? daysBetween(filter.since, filter.until) : null;
  const prefixes: string[] = [];
  for (const type of types) {
    if (days === null || days.length > maxDays) prefixes.push(`${base}${type}/`);
    else for (const day of days) prefixes.push(`${base}${type}/dt=${day}/`);
  }
  return prefixes;
}

function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const last = until.slice(0, 10);
  for (let day = Date.parse(`${since.slice(0, 10)}T00:00:00Z`); ; day += 86_400_000) {
    const text = new Date(day).toISOString().slice(0, 10);
    if (text > last) break;
    days.push(text);
    if (days.length > 400) break;
  }
  return days;
}
