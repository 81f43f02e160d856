/** Records for UI tests, built like the correlator writes them. */
import type { ConnRecord, DnsRecord, FlowRecord, UdpRecord } from '../../../src/records/types.js';

export const BASE_MS = Date.parse('2025-03-01T12:00:00.000Z');
export const iso = (offsetMs: number) => new Date(BASE_MS + offsetMs).toISOString().replace('Z', '000Z');

const process = { ppid: 1, exe: '/usr/bin/curl', cmdline: null, uid: 1000, container_id: null, container_runtime: null };

export function dns(host: string, addrs: string[], overrides: Partial<DnsRecord> = {}): DnsRecord {
  return {
    type: 'dns',
    ts: iso(0),
    pid: 4242,
    tid: 4242,
    comm: 'curl',
    ...process,
    host,
    cnames: null,
    addrs,
    ttl: null,
    latency_ms: 1.5,
    source: 'getaddrinfo',
    status: 'OK',
    iface: null,
    server: null,
    ...overrides,
  };
}

export function connOpen(host: string | null, daddr: string, sport: number, overrides: Partial<ConnRecord> = {}): ConnRecord {
  return {
    type: 'conn',
    event: 'open',
    ts: iso(10),
    pid: 4242,
    comm: 'curl',
    ...process,
    family: daddr.includes(':') ? 6 : 4,
    saddr: daddr.includes(':') ? 'fd00::2' : '10.0.0.2',
    sport,
    daddr,
    dport: 443,
    direction: 'out',
    host,
    host_source: host === null ? null : 'process',
    unresolved: host === null ? 'no_lookup_seen' : null,
    probe: 'tracepoint',
    connect_latency_ms: 0.8,
    duration_ms: null,
    bytes_sent: null,
    bytes_received: null,
    retransmits: null,
    established: null,
    ...overrides,
  };
}

export function connClose(open: ConnRecord, bytesSent: number, bytesReceived: number, overrides: Partial<ConnRecord> = {}): ConnRecord {
  return {
    ...open,
    event: 'close',
    ts: iso(1010),
    duration_ms: 1000,
    bytes_sent: bytesSent,
    bytes_received: bytesReceived,
    retransmits: 0,
    established: true,
    ...overrides,
  };
}

export function flow(remote: string, remoteHost: string | null, bytes: number, overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    type: 'flow',
    start: iso(0),
    end: iso(900),
    iface: 'eth0',
    direction: 'ingress',
    proto: 'tcp',
    family: 4,
    saddr: remote,
    sport: 443,
    daddr: '10.0.0.2',
    dport: 50000,
    packets: Math.max(1, Math.round(bytes / 1000)),
    bytes,
    tcp_flags: 0x18,
    dropped_packets: 0,
    dropped_bytes: 0,
    src_host: remoteHost,
    dst_host: null,
    unresolved: remoteHost === null ? 'no_lookup_seen' : null,
    pid: 4242,
    comm: 'curl',
    ...overrides,
  };
}

export function udpOpen(host: string | null, daddr: string, sport: number, overrides: Partial<UdpRecord> = {}): UdpRecord {
  return {
    type: 'udp',
    event: 'open',
    ts: iso(20),
    pid: 4242,
    comm: 'curl',
    ...process,
    family: daddr.includes(':') ? 6 : 4,
    saddr: daddr.includes(':') ? 'fd00::2' : '10.0.0.2',
    sport,
    daddr,
    dport: 443,
    host,
    host_source: host === null ? null : 'quic',
    unresolved: host === null ? 'encrypted_client_hello' : null,
    iface: 'eth0',
    first_seen: iso(20),
    last_seen: null,
    packets_sent: null,
    bytes_sent: null,
    packets_received: null,
    bytes_received: null,
    end_reason: null,
    ...overrides,
  };
}

export function udpClose(open: UdpRecord, bytesSent: number, bytesReceived: number, overrides: Partial<UdpRecord> = {}): UdpRecord {
  return {
    ...open,
    event: 'close',
    ts: iso(2020),
    last_seen: iso(1520),
    packets_sent: Math.max(1, Math.round(bytesSent / 1200)),
    bytes_sent: bytesSent,
    packets_received: Math.max(1, Math.round(bytesReceived / 1200)),
    bytes_received: bytesReceived,
    end_reason: 'idle',
    ...overrides,
  };
}
