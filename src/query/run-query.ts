/**
 * One `hostflow query`: find the objects the time range and hosts need,
 * have them as local files (fetched into the cache for a bucket), check
 * each is what its name says, and run the SQL over the typed views. A
 * malformed object is named on stderr, skipped and counted; the others
 * still answer.
 */
import { open } from 'node:fs/promises';
import { HostflowError, firstLine } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/types.js';
import type { DuckdbFiles } from '../schema/duckdb.js';
import type { StorageFormat } from '../storage/layout.js';
import { QueryEngine, isStatementError, type QueryResult } from './engine.js';
import { keyWanted, listingPrefixes } from './keys.js';
import type { TimeRange } from './range.js';
import type { ListedObject, RecordSource } from './sources.js';

export interface QueryPlan {
  prefix: string;
  range: TimeRange;
  /** `hostname` partition values; empty for every host. */
  hostnames: readonly string[];
  sql: string;
  parameters: readonly string[];
  /** Objects fetched at once from a bucket. @default 8 */
  concurrency?: number;
}

export interface QueryOutcome {
  result: QueryResult;
  /** Objects the range and hosts selected. */
  objects: number;
  /** Of those, fetched for this query (the rest were local or cached). */
  fetched: number;
  fetchedBytes: number;
  /** Objects skipped as malformed, with why. */
  skipped: { key: string; reason: string }[];
}

interface LocalObject {
  object: ListedObject;
  path: string;
}

const PARQUET_MAGIC = Buffer.from('PAR1');

/** Why a file is not an object of its format, by its first and last bytes; null when it could be. */
export async function badMagic(path: string, format: StorageFormat): Promise<string | null> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (format === 'ndjson') {
      const head = Buffer.alloc(2);
      await handle.read(head, 0, 2, 0);
      return size >= 18 && head[0] === 0x1f && head[1] === 0x8b ? null : 'not gzip';
    }
    if (size < 12) return 'too short for Parquet';
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    await handle.read(tail, 0, 4, size - 4);
    return head.equals(PARQUET_MAGIC) && tail.equals(PARQUET_MAGIC) ? null : 'not a whole Parquet file (no PAR1 at both ends)';
  } finally {
    await handle.close();
  }
}

async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

const MB = 1024 * 1024;

/** Progress of the downloads on stderr: at most one line a second, and one at the end. */
class Progress {
  private done = 0;
  private bytes = 0;
  private lastAt = 0;

  constructor(
    private readonly total: number,
    private readonly totalBytes: number,
    private readonly log: (line: string) => void,
    private readonly now: () => number,
  ) {
    this.lastAt = now();
  }

  fetched(bytes: number): void {
    this.done++;
    this.bytes += bytes;
    const at = this.now();
    if (at - this.lastAt >= 1000 && this.done < this.total) {
      this.lastAt = at;
      this.log(`query: fetching: ${this.done} of ${this.total} objects, ${(this.bytes / MB).toFixed(1)} of ${(this.totalBytes / MB).toFixed(1)} MB`);
    }
  }
}

function filesByType(objects: readonly LocalObject[]): Map<RecordType, DuckdbFiles> {
  const files = new Map<RecordType, { parquet: string[]; ndjson: string[] }>(RECORD_TYPES.map((type) => [type, { parquet: [], ndjson: [] }]));
  for (const { object, path } of objects) files.get(object.stored.type)?.[object.stored.format].push(path);
  return files;
}

export async function runQuery(source: RecordSource, plan: QueryPlan, log: (line: string) => void, now: () => number = Date.now): Promise<QueryOutcome> {
  const filter = { since: plan.range.since, until: plan.range.until, hostnames: plan.hostnames };
  const listed = (await source.list(listingPrefixes(plan.prefix, RECORD_TYPES, filter))).filter((object) => keyWanted(object.stored, filter));
  const skipped: QueryOutcome['skipped'] = [];
  const skip = (key: string, reason: string) => {
    skipped.push({ key, reason });
    log(`query: skipped malformed object ${key}: ${reason}`);
  };

  const local: LocalObject[] = [];
  const missing: ListedObject[] = [];
  for (const object of listed) {
    const path = await source.localFile(object);
    if (path === null) missing.push(object);
    else local.push({ object, path });
  }
  const fetchedBytes = missing.reduce((sum, object) => sum + object.size, 0);
  const progress = new Progress(missing.length, fetchedBytes, log, now);
  local.push(
    ...(await mapConcurrent(missing, plan.concurrency ?? 8, async (object) => {
      const path = await source.fetch(object);
      progress.fetched(object.size);
      return { object, path };
    })),
  );
  const fetched = missing.length;
  if (fetched > 0) {
    log(
      `query: fetched ${fetched} of ${listed.length} objects (${(fetchedBytes / MB).toFixed(1)} MB) from ${source.description}; ${listed.length - fetched} from the cache`,
    );
  }

  let usable: LocalObject[] = [];
  for (const item of local) {
    const reason = await badMagic(item.path, item.object.stored.format);
    if (reason) skip(item.object.stored.key, reason);
    else usable.push(item);
  }

  const engine = await QueryEngine.open();
  const answer = async (objects: readonly LocalObject[]): Promise<QueryOutcome> => {
    // Defining a view reads the Parquet footers already: a bad file can fail here too.
    await engine.defineViews(filesByType(objects), filter);
    return { result: await engine.run(plan.sql, plan.parameters), objects: listed.length, fetched, fetchedBytes, skipped };
  };
  try {
    try {
      return await answer(usable);
    } catch (error) {
      const message = firstLine(error);
      if (isStatementError(message)) throw new HostflowError(`query: ${message}`, { cause: error });
      // A reading error: find the objects DuckDB cannot read, one by one, and answer without them.
      const before = skipped.length;
      const readable: LocalObject[] = [];
      for (const item of usable) {
        const reason = await engine.unreadable(item.object.stored.type, item.object.stored.format, item.path);
        if (reason) skip(item.object.stored.key, reason);
        else readable.push(item);
      }
      if (skipped.length === before) throw new HostflowError(`query: ${message}`, { cause: error });
      usable = readable;
      return await answer(usable);
    }
  } finally {
    engine.close();
  }
}
