/**
 * Records for the storage tests: every type, every nullable field both null
 * and set, arrays empty and full, text outside ASCII, and times that cross
 * an hour so batches must split at the partition.
 */
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, UdpRecord } from '../../../src/records/types.js';

/** ISO time `micros` microseconds after `base` (ISO, UTC). */
export function isoAfter(base: string, micros: number): string {
  const fraction6 = (/\.(\d+)Z$/.exec(base)?.[1] ?? '').padEnd(6, '0').slice(0, 6);
  const totalMicros = Date.parse(`${base.slice(0, 19)}Z`) * 1000 + Number(fraction6) + micros;
  const ms = Math.floor(totalMicros / 1000);
  const fraction = String(totalMicros % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** A DNS record numbered `id` (pid = id), for tests that count records. */
export function numberedDns(id: number, base = '2026-01-01T10:00:00Z', extra: Partial<DnsRecord> = {}): DnsRecord {
  return {
    type: 'dns',
    ts: isoAfter(base, id),
    pid: id,
    ppid: 1,
    comm: 'curl',
    exe: '/usr/bin/curl',
    cmdline: null,
    uid: 1000,
    container_id: null,
    container_runtime: null,
    tid: id,
    host: `host-${id}.example.com`,
    cnames: null,
    addrs: ['93.184.216.34'],
    ttl: null,
    latency_ms: 0.5,
    source: 'getaddrinfo',
    status: '0',
    iface: null,
    server: null,
    ...extra,
  };
}

function dns(i: number, ts: string): DnsRecord {
  const wire = i % 2 === 0;
  return {
    type: 'dns',
    ts,
    pid: wire ? null : 1000 + i,
    ppid: wire ? null : 999,
    comm: wire ? null : i % 5 === 0 ? 'nämlich-ü' : 'curl',
    exe: wire ? null : i % 5 === 0 ? '/opt/nämlich/bin/nämlich-ü (deleted)' : '/usr/bin/curl',
    cmdline: wire || i % 3 === 0 ? null : `curl -s https://svc-${i}.example.com/`,
    uid: wire ? null : 4294967294,
    container_id: i % 7 === 0 ? 'a'.repeat(64) : null,
    container_runtime: i % 7 === 0 ? 'docker' : null,
    tid: wire ? null : 1000 + i,
    host: i % 11 === 0 ? 'bücher.example' : `svc-${i}.example.com`,
    cnames: i % 3 === 0 ? [`edge-${i}.cdn.example.net`, 'origin.example.org'] : null,
    addrs: i % 4 === 0 ? [] : ['203.0.113.7', `2001:db8::${(i % 65535).toString(16)}`],
    ttl: wire ? 300 + i : null,
    latency_ms: wire ? null : 1.25 + i / 1000,
    source: wire ? 'wire' : 'getaddrinfo',
    status: i % 4 === 0 ? (wire ? 'NXDOMAIN' : '-2') : wire ? 'NOERROR' : '0',
    iface: wire ? 'eth0' : null,
    server: wire ? '192.0.2.53' : null,
  };
}

function conn(i: number, ts: string): ConnRecord {
  const close = i % 2 === 1;
  return {
    type: 'conn',
    event: close ? 'close' : 'open',
    ts,
    pid: i % 9 === 0 ? null : 2000 + i,
    ppid: i % 9 === 0 ? null : 1,
    comm: i % 9 === 0 ? null : 'python3',
    exe: i % 9 === 0 ? null : '/usr/bin/python3.11',
    cmdline: null,
    uid: i % 9 === 0 ? null : 0,
    container_id: null,
    container_runtime: null,
    family: i % 3 === 0 ? 6 : 4,
    saddr: i % 3 === 0 ? '2001:db8::1' : '10.0.0.1',
    sport: 40000 + (i % 20000),
    daddr: i % 3 === 0 ? '2001:db8::2' : '10.0.0.2',
    dport: 443,
    direction: i % 4 === 0 ? 'in' : 'out',
    host: i % 5 === 0 ? null : `api-${i}.example.com`,
    host_source: i % 5 === 0 ? null : i % 2 === 0 ? 'process' : 'global',
    unresolved: i % 5 === 0 ? 'no_lookup_seen' : null,
    probe: 'tracepoint',
    connect_latency_ms: i % 6 === 0 ? null : 0.125 * i,
    duration_ms: close ? 1000.5 + i : null,
    bytes_sent: close ? 2 ** 40 + i : null,
    bytes_received: close ? i * 1000 : null,
    retransmits: close ? i % 3 : null,
    established: close ? i % 10 !== 1 : null,
  };
}

function flow(i: number, start: string): FlowRecord {
  return {
    type: 'flow',
    start,
    end: isoAfter(start, 10_000_000),
    iface: 'eth0',
    direction: i % 2 === 0 ? 'ingress' : 'egress',
    proto: i % 3 === 0 ? 'udp' : 'tcp',
    family: 4,
    saddr: '10.0.0.1',
    sport: 50000 + i,
    daddr: '10.0.0.2',
    dport: i % 3 === 0 ? 53 : 443,
    packets: 10 + i,
    bytes: 2 ** 33 + i,
    tcp_flags: i % 3 === 0 ? 0 : 0x1b,
    dropped_packets: i % 5 === 0 ? 2 : 0,
    dropped_bytes: i % 5 === 0 ? 120 : 0,
    src_host: null,
    dst_host: i % 2 === 0 ? `dst-${i}.example.com` : null,
    unresolved: i % 2 === 0 ? null : 'cache_expired',
    pid: i % 2 === 0 ? 3000 + i : null,
    comm: i % 2 === 0 ? 'nginx' : null,
  };
}

function udp(i: number, ts: string): UdpRecord {
  const close = i % 2 === 1;
  const quic = i % 3 === 0;
  return {
    type: 'udp',
    event: close ? 'close' : 'open',
    ts,
    pid: 4000 + i,
    ppid: i % 5 === 0 ? null : 4000,
    comm: i % 5 === 0 ? 'nämlich-ü' : 'chrome',
    exe: i % 5 === 0 ? null : '/opt/google/chrome/chrome',
    cmdline: i % 4 === 1 ? `chrome --type=utility --lang=de ${'x'.repeat(i % 300)}` : null,
    uid: 1000,
    container_id: i % 7 === 0 ? 'b'.repeat(64) : null,
    container_runtime: i % 7 === 0 ? 'containerd' : null,
    family: quic ? 6 : 4,
    saddr: quic ? '2001:db8::1' : '10.0.0.1',
    sport: 30000 + (i % 30000),
    daddr: quic ? '2001:db8::443' : '10.0.0.3',
    dport: quic ? 443 : 3478,
    host: i % 5 === 0 ? null : quic ? `quic-${i}.example.com` : `stun-${i}.example.net`,
    host_source: i % 5 === 0 ? null : quic ? 'quic' : 'process',
    unresolved: i % 5 === 0 ? 'encrypted_client_hello' : null,
    iface: i % 6 === 0 ? null : 'eth0',
    first_seen: isoAfter(ts, close ? -5_000_000 - i : 0),
    last_seen: close ? isoAfter(ts, -1) : null,
    packets_sent: close ? 3_000_000_000 + i : null,
    bytes_sent: close ? 2 ** 41 + i : null,
    packets_received: close ? i : null,
    bytes_received: close ? i * 1200 : null,
    end_reason: close ? (['close', 'idle', 'stop'] as const)[i % 3]! : null,
  };
}

/**
 * `count` records of all four types, one every 1.234567 ms from 10:59:59
 * on, so they cross into the next hour after about 800 records.
 */
export function sampleRecords(count: number, base = '2026-11-23T10:59:59.000000Z'): HostflowRecord[] {
  const records: HostflowRecord[] = [];
  for (let i = 0; i < count; i++) {
    const ts = isoAfter(base, i * 1234 + (i % 1000));
    const kind = i % 4;
    records.push(kind === 0 ? dns(i, ts) : kind === 1 ? conn(i, ts) : kind === 2 ? flow(i, ts) : udp(i, ts));
  }
  return records;
}

/** A record as text with its keys sorted: equal records, equal text. */
export function canonical(record: object): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  );
}
