/**
 * Records per second the storage sink sustains into a local S3-protocol
 * server (s3rver on loopback), from the first write to the last object
 * uploaded: encoding, gzip, spool with fsync, upload; NDJSON, then Parquet
 * (which must reach NDJSON's figure; each Parquet encoder alone:
 * ./parquet-bench.ts); after a warm-up of each, two rounds of each,
 * alternating, the best round of each kept. Next to it, in the
 * same process, the least that any gzip NDJSON export costs: the same
 * records as JSON lines through zlib's gzip into a local file, fsynced,
 * no spool and no S3. Records are written in bursts, as the session hands
 * them over, so the event loop runs between bursts.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import S3rver from 's3rver';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, UdpRecord } from '../src/records/types.js';
import { StorageSink, type StorageFormat } from '../src/storage/index.js';

const RECORDS = 300_000;
const BURST = 1000;
/** Rounds of each format, alternating, after a warm-up of WARMUP records each. */
const ROUNDS = 2;
const WARMUP = 30_000;

/** A host's record mix: lookups, TCP connections, flow intervals and UDP conversations, a quarter each. */
export function benchRecords(count: number): HostflowRecord[] {
  const base = Date.parse('2026-01-01T10:00:00Z');
  const iso = (i: number) => `${new Date(base + Math.floor(i / 100)).toISOString().slice(0, 23)}${String(i % 1000).padStart(3, '0')}Z`;
  const out: HostflowRecord[] = [];
  for (let i = 0; i < count; i++) {
    const ts = iso(i);
    const comm = ['curl', 'python3', 'nginx'][i % 3] as string;
    const process = { pid: 1000 + (i % 50), ppid: 1, comm, exe: `/usr/bin/${comm}`, cmdline: null, uid: 1000, container_id: null, container_runtime: null };
    if (i % 4 === 0) {
      const dns: DnsRecord = {
        type: 'dns',
        ts,
        ...process,
        tid: 1000 + (i % 50),
        host: `api-${i % 500}.example.com`,
        cnames: null,
        addrs: [`203.0.113.${i % 250}`],
        ttl: null,
        latency_ms: 1.5,
        source: 'getaddrinfo',
        status: '0',
        iface: null,
        server: null,
      };
      out.push(dns);
    } else if (i % 4 === 1) {
      const conn: ConnRecord = {
        type: 'conn',
        event: 'close',
        ts,
        ...process,
        family: 4,
        saddr: '10.0.0.1',
        sport: 30000 + (i % 30000),
        daddr: `203.0.113.${i % 250}`,
        dport: 443,
        direction: 'out',
        host: `api-${i % 500}.example.com`,
        host_source: 'process',
        unresolved: null,
        probe: 'tracepoint',
        connect_latency_ms: 0.8,
        duration_ms: 120.5,
        bytes_sent: 1200 + i,
        bytes_received: 50_000 + i,
        retransmits: 0,
        established: true,
      };
      out.push(conn);
    } else if (i % 4 === 3) {
      const udp: UdpRecord = {
        type: 'udp',
        event: 'close',
        ts,
        ...process,
        family: 4,
        saddr: '10.0.0.1',
        sport: 40000 + (i % 20000),
        daddr: `198.51.100.${i % 100}`,
        dport: 443,
        host: `quic-${i % 200}.example.net`,
        host_source: 'quic',
        unresolved: null,
        iface: 'eth0',
        first_seen: ts,
        last_seen: ts,
        packets_sent: 20 + (i % 50),
        bytes_sent: 4000 + i,
        packets_received: 30 + (i % 70),
        bytes_received: 60_000 + i,
        end_reason: 'idle',
      };
      out.push(udp);
    } else {
      const flow: FlowRecord = {
        type: 'flow',
        start: ts,
        end: ts,
        iface: 'eth0',
        direction: 'egress',
        proto: 'tcp',
        family: 4,
        saddr: '10.0.0.1',
        sport: 30000 + (i % 30000),
        daddr: `203.0.113.${i % 250}`,
        dport: 443,
        packets: 10 + (i % 100),
        bytes: 9000 + i,
        tcp_flags: 0x18,
        dropped_packets: 0,
        dropped_bytes: 0,
        src_host: null,
        dst_host: `api-${i % 500}.example.com`,
        unresolved: null,
        pid: process.pid,
        comm: process.comm,
      };
      out.push(flow);
    }
  }
  return out;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

interface SinkFigure {
  value: number;
  writeSeconds: number;
  objects: number;
}

async function sinkRate(all: HostflowRecord[], endpoint: string, spoolDir: string, format: StorageFormat): Promise<SinkFigure> {
  const sink = await StorageSink.open({
    bucket: 'bench',
    endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    spoolDir,
    hostname: 'bench',
    format,
    flushIntervalMs: 1000,
    maxObjectBytes: 8 * 1024 * 1024,
  });
  const start = process.hrtime.bigint();
  let writeNs = 0n;
  for (let offset = 0; offset < all.length; offset += BURST) {
    const burstStart = process.hrtime.bigint();
    for (let i = offset; i < Math.min(offset + BURST, all.length); i++) sink.write(all[i] as HostflowRecord);
    writeNs += process.hrtime.bigint() - burstStart;
    await nextTurn();
  }
  const result = await sink.close({ deadlineMs: 300_000 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.uploadedRecords !== all.length) throw new Error(`storage bench: ${result.uploadedRecords} of ${all.length} records uploaded`);
  return { value: Math.round(all.length / seconds), writeSeconds: Number(writeNs) / 1e9, objects: result.uploadedObjects };
}

async function gzipFileRate(all: HostflowRecord[], path: string): Promise<number> {
  const start = process.hrtime.bigint();
  const gzip = createGzip({ level: 6 });
  const file = createWriteStream(path);
  gzip.pipe(file);
  for (let offset = 0; offset < all.length; offset += BURST) {
    const lines: string[] = [];
    for (let i = offset; i < Math.min(offset + BURST, all.length); i++) lines.push(JSON.stringify(all[i]));
    gzip.write(`${lines.join('\n')}\n`);
    await nextTurn();
  }
  gzip.end();
  await once(file, 'finish');
  const handle = await open(path, 'r+');
  await handle.sync();
  await handle.close();
  return Math.round(all.length / (Number(process.hrtime.bigint() - start) / 1e9));
}

export async function benchStorage(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-bench-storage-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'bench' }] });
  const { port } = await server.run();
  try {
    const all = benchRecords(RECORDS);
    const endpoint = `http://127.0.0.1:${port}`;
    const reference = await gzipFileRate(all, join(dir, 'reference.ndjson.gz'));
    // Whichever format ran second ran faster (a warmer JIT for the sink, the SDK and s3rver):
    // both warm up first, then they alternate, and each keeps its best round.
    const warmup = all.slice(0, WARMUP);
    await sinkRate(warmup, endpoint, join(dir, 'spool-warmup-ndjson'), 'ndjson');
    await sinkRate(warmup, endpoint, join(dir, 'spool-warmup-parquet'), 'parquet');
    const best = { ndjson: null, parquet: null } as Record<StorageFormat, SinkFigure | null>;
    for (let round = 0; round < ROUNDS; round++) {
      for (const format of ['ndjson', 'parquet'] as const) {
        const figure = await sinkRate(all, endpoint, join(dir, `spool-${format}-${round}`), format);
        if (!best[format] || figure.value > (best[format] as SinkFigure).value) best[format] = figure;
      }
    }
    const ndjson = best.ndjson as SinkFigure;
    const parquet = best.parquet as SinkFigure;
    return {
      name: 'storage_sink',
      unit: 'records/s',
      records: RECORDS,
      rounds: ROUNDS,
      value: ndjson.value,
      objects: ndjson.objects,
      write_path_records_per_s: Math.round(RECORDS / ndjson.writeSeconds),
      parquet: {
        value: parquet.value,
        objects: parquet.objects,
        write_path_records_per_s: Math.round(RECORDS / parquet.writeSeconds),
        ratio_to_ndjson: Number((parquet.value / ndjson.value).toFixed(3)),
        target: 'records/s >= the NDJSON sink in the same run',
        met: parquet.value >= ndjson.value,
      },
      reference: { name: 'the same records as gzip JSON lines into a local file (zlib, fsync; no spool, no S3)', value: reference },
      ratio: Number((ndjson.value / reference).toFixed(3)),
    };
  } finally {
    server.httpServer.closeAllConnections();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
