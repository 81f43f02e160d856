/**
 * `hostflow query` over a day of one busy host's records, next to the same
 * question asked of DuckDB directly over the same files. The day is
 * generated: a connection every ~100 ms on average, each an `open` and a
 * `close` record, and a lookup for every third, written by the real
 * storage sink as gzip NDJSON (the default format); a Parquet copy of every
 * object, in the same layout, is written by DuckDB's COPY (the bench times
 * reading, not encoding). The figure is the canned --top-hosts question,
 * from listing the folder to the last row: hostflow's way (list, prune,
 * check each object, typed views over both formats, the documented SQL)
 * against one read_json / read_parquet over a glob with the types
 * DuckDB infers. Best of 3 runs each, after a warm-up, in this process.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CANNED_QUESTIONS } from '../src/query/canned.js';
import { runQuery } from '../src/query/run-query.js';
import { DirectorySource } from '../src/query/sources.js';
import type { ConnRecord, DnsRecord, HostflowRecord } from '../src/records/types.js';
import { StorageSink } from '../src/storage/index.js';

const CONNECTIONS = Number(process.env.HOSTFLOW_BENCH_QUERY_CONNECTIONS ?? 800_000);
const DAY = '2026-11-23';
const RUNS = 3;

function* dayOfRecords(): Generator<HostflowRecord> {
  const start = Date.parse(`${DAY}T00:00:00Z`);
  const step = 86_400_000 / CONNECTIONS;
  for (let i = 0; i < CONNECTIONS; i++) {
    const at = start + Math.floor(i * step);
    const ts = `${new Date(at).toISOString().slice(0, 23)}${String(i % 1000).padStart(3, '0')}Z`;
    const comm = ['curl', 'python3', 'nginx', 'java', 'node'][i % 5] as string;
    const host = i % 7 === 0 ? null : `api-${(i * 31) % 2000}.example.com`;
    const daddr = `203.0.${(i >> 8) % 250}.${i % 250}`;
    const process = { pid: 1000 + (i % 80), ppid: 1, comm, exe: `/usr/bin/${comm}`, cmdline: null, uid: 1000, container_id: null, container_runtime: null };
    if (i % 3 === 0 && host) {
      const dns: DnsRecord = {
        type: 'dns',
        ts,
        ...process,
        tid: process.pid,
        host,
        cnames: null,
        addrs: [daddr],
        ttl: null,
        latency_ms: 1.2,
        source: 'getaddrinfo',
        status: '0',
        iface: null,
        server: null,
      };
      yield dns;
    }
    const open: ConnRecord = {
      type: 'conn',
      event: 'open',
      ts,
      ...process,
      family: 4,
      saddr: '10.0.0.1',
      sport: 20000 + (i % 40000),
      daddr,
      dport: 443,
      direction: 'out',
      host,
      host_source: host ? 'process' : null,
      unresolved: host ? null : 'address_literal',
      probe: 'fentry',
      connect_latency_ms: 0.8,
      duration_ms: null,
      bytes_sent: null,
      bytes_received: null,
      retransmits: null,
      established: null,
    };
    yield open;
    yield {
      ...open,
      event: 'close',
      duration_ms: 40,
      bytes_sent: 500 + (i % 3000),
      bytes_received: 4000 + ((i * 13) % 90000),
      retransmits: 0,
      established: true,
    };
  }
}

async function writeDay(dir: string): Promise<number> {
  const sink = await StorageSink.open({ directory: join(dir, 'ndjson'), spoolDir: join(dir, 'spool'), hostname: 'busy-1', flushIntervalMs: 3_600_000 });
  let count = 0;
  for (const record of dayOfRecords()) {
    while (!sink.write(record)) await new Promise((resolve) => setTimeout(resolve, 10));
    if (++count % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const result = await sink.close({ deadlineMs: 600_000 });
  if (result.uploadedRecords !== count) throw new Error(`stored ${result.uploadedRecords} of ${count} records`);
  return count;
}

/** The same objects as Parquet, one file per NDJSON object, with the types DuckDB infers from the JSON. */
async function copyToParquet(dir: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    const root = join(dir, 'ndjson');
    for (const name of readdirSync(root, { recursive: true }) as string[]) {
      if (!name.endsWith('.ndjson.gz')) continue;
      const target = join(dir, 'parquet', name.replace(/\.ndjson\.gz$/, '.parquet'));
      mkdirSync(dirname(target), { recursive: true });
      await connection.run(
        `COPY (SELECT * FROM read_json('${join(root, name)}', format = 'newline_delimited')) TO '${target}' (FORMAT parquet, COMPRESSION snappy)`,
      );
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function best(run: () => Promise<number>): Promise<number> {
  await run();
  let fastest = Infinity;
  for (let i = 0; i < RUNS; i++) fastest = Math.min(fastest, await run());
  return Math.round(fastest);
}

async function timeHostflow(root: string): Promise<number> {
  const started = performance.now();
  const outcome = await runQuery(
    new DirectorySource(root, 'hostflow'),
    {
      prefix: 'hostflow',
      range: { since: `${DAY}T00:00:00.000000Z`, until: `${DAY}T23:59:59.999999Z` },
      hostnames: ['busy-1'],
      sql: CANNED_QUESTIONS.topHosts.sql(10),
      parameters: [],
    },
    () => undefined,
  );
  if (outcome.result.rows.length === 0) throw new Error('hostflow query answered nothing');
  return performance.now() - started;
}

/** The question as one would ask DuckDB by hand: one glob, inferred types, conn records only. */
async function timeDirect(root: string, format: 'ndjson' | 'parquet'): Promise<number> {
  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    const glob = `${root}/hostflow/conn/dt=*/hour=*/hostname=*/*.${format === 'ndjson' ? 'ndjson.gz' : 'parquet'}`;
    const from = format === 'ndjson' ? `read_json('${glob}', format = 'newline_delimited')` : `read_parquet('${glob}')`;
    const reader = await connection.runAndReadAll(`WITH totals AS (
      SELECT comm AS process, coalesce(host, daddr) AS host, count(*) AS connections, sum(bytes_sent) AS bytes_sent,
             sum(bytes_received) AS bytes_received, sum(bytes_sent + bytes_received) AS bytes
      FROM ${from} WHERE event = 'close' GROUP BY ALL)
      SELECT * FROM totals QUALIFY row_number() OVER (PARTITION BY process ORDER BY bytes DESC, host) <= 10
      ORDER BY sum(bytes) OVER (PARTITION BY process) DESC, process, bytes DESC, host`);
    if (reader.getRows().length === 0) throw new Error('DuckDB answered nothing');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return performance.now() - started;
}

export async function benchQueryDay(): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-bench-query-'));
  try {
    const records = await writeDay(dir);
    await copyToParquet(dir);
    const objects = (readdirSync(join(dir, 'ndjson'), { recursive: true }) as string[]).filter((name) => name.endsWith('.ndjson.gz')).length;
    const figures: Record<string, unknown>[] = [];
    for (const format of ['ndjson', 'parquet'] as const) {
      const root = join(dir, format);
      const hostflow = await best(() => timeHostflow(root));
      const direct = await best(() => timeDirect(root, format));
      figures.push({
        name: 'query_day',
        format,
        unit: 'ms',
        question: '--top-hosts over one day of one host',
        records,
        objects,
        value: hostflow,
        reference: { name: 'the same question in DuckDB directly: one glob over the conn objects, inferred types', value: direct },
        ratio: Number((hostflow / direct).toFixed(3)),
      });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
