/**
 * Records built field by field for tests and benchmarks: every field of the
 * schema set, a plausible default for each, and the fields a test is about
 * given as overrides.
 */
import type { ConnRecord, DnsRecord, UdpRecord } from '../../src/records/types.js';

const processFields = { pid: 100, ppid: 1, exe: null, cmdline: null, uid: 0, container_id: null, container_runtime: null };

export function connRecord(fields: Partial<ConnRecord> = {}): ConnRecord {
  return {
    type: 'conn',
    event: 'open',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'curl',
    family: 4,
    saddr: '10.0.0.2',
    sport: 40000,
    daddr: '10.0.0.1',
    dport: 443,
    direction: 'out',
    host: 'api.example.com',
    host_source: 'process',
    unresolved: null,
    probe: 'tracepoint',
    connect_latency_ms: 0.5,
    duration_ms: null,
    bytes_sent: null,
    bytes_received: null,
    retransmits: null,
    established: null,
    ...fields,
  };
}

/** The close of `open` with these byte counts. */
export function closeOf(open: ConnRecord, bytesSent: number, bytesReceived: number, fields: Partial<ConnRecord> = {}): ConnRecord {
  return { ...open, event: 'close', duration_ms: 10, bytes_sent: bytesSent, bytes_received: bytesReceived, retransmits: 0, established: true, ...fields };
}

export function dnsRecord(fields: Partial<DnsRecord> = {}): DnsRecord {
  return {
    type: 'dns',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'curl',
    tid: 100,
    host: 'api.example.com',
    cnames: null,
    addrs: ['10.0.0.1'],
    ttl: null,
    latency_ms: 1.5,
    source: 'getaddrinfo',
    status: '0',
    iface: null,
    server: null,
    ...fields,
  };
}

export function udpRecord(fields: Partial<UdpRecord> = {}): UdpRecord {
  return {
    type: 'udp',
    event: 'open',
    ts: '2026-01-01T10:00:00.000000Z',
    ...processFields,
    comm: 'ntpd',
    family: 4,
    saddr: '10.0.0.2',
    sport: 50000,
    daddr: '10.0.0.1',
    dport: 123,
    host: 'ntp.example.com',
    host_source: 'process',
    unresolved: null,
    iface: null,
    first_seen: '2026-01-01T10:00:00.000000Z',
    last_seen: null,
    packets_sent: null,
    bytes_sent: null,
    packets_received: null,
    bytes_received: null,
    end_reason: null,
    ...fields,
  };
}
