/**
 * What Enter shows about the selected row: every field, and for a host
 * its connections (live and recently closed). Pure; values are the
 * already sanitized strings of the rows.
 */
import { formatBytes, formatClock, formatDuration, formatEndpoint, formatLatency, formatRate } from './format.js';
import { UNRESOLVED_KEY, UNRESOLVED_LABEL, type AnyRow, type ConnRow, type DnsRow, type FlowRow, type HostRow, type ProcessInfo } from './rows.js';
import type { ViewId } from './views.js';
import type { HostSource, UdpEndReason, UnresolvedReason } from '../../records/types.js';

export interface Details {
  title: string;
  fields: Array<[label: string, value: string]>;
  /** Rows of the connections view that belong to this one (a host's connections). */
  connections?: ConnRow[];
}

const orDash = (value: string | number | null | undefined) => (value === null || value === undefined || value === '' ? '-' : String(value));
const when = (ms: number | null) => (ms === null ? '-' : `${formatClock(ms)}.${String(ms % 1000).padStart(3, '0')}`);
const who = (comm: string | null, pid: number | null) => (pid === null ? orDash(comm) : `${comm ?? '?'} [${pid}]`);
const packets = (value: number | null) => (value === null ? '- (known at close)' : String(value));
const bytes = (value: number | null) => (value === null ? '- (known at close)' : `${value} (${formatBytes(value)})`);

/** The process lines every row with a process has; `process` is the first line's value. */
function processFields(row: ProcessInfo, process: string): Array<[string, string]> {
  return [
    ['process', process],
    ['parent pid', orDash(row.ppid)],
    ['executable', orDash(row.exe)],
    ['command line', row.cmdline ?? '- (recorded with --cmdline)'],
  ];
}

function hostDetails(row: HostRow, connections: readonly ConnRow[]): Details {
  const mine = connections.filter((conn) => (conn.host ?? UNRESOLVED_KEY) === row.key);
  return {
    title: row.host ?? `${UNRESOLVED_LABEL}: connections and flows whose remote address has no name`,
    fields: [
      ['processes', orDash(row.processes.join(', '))],
      ['pids', orDash(row.pids.join(', '))],
      ['addresses', orDash(row.addresses.join(', '))],
      ['connections', `${row.open} open, ${row.connections} seen`],
      ['lookups', String(row.lookups)],
      ['payload', `in ${formatBytes(row.bytesIn)}, out ${formatBytes(row.bytesOut)} (closed connections and UDP conversations)`],
      ['wire bytes', `in ${formatBytes(row.wireIn)}, out ${formatBytes(row.wireOut)} (flow counters)`],
      ['rate', `in ${formatRate(row.rateIn)}, out ${formatRate(row.rateOut)} (last flow interval)`],
      ['last seen', when(row.lastSeen)],
    ],
    connections: mine,
  };
}

/** Every source has its words here: the type makes a new source a compile error until it does. */
const HOST_SOURCES: Record<HostSource, string> = {
  process: "this process's own lookup",
  global: 'the latest lookup of any process',
  sni: 'the TLS server name (SNI) it sent',
  http: 'the HTTP Host it sent',
  quic: 'the server name (SNI) of its QUIC Initial',
};

/** Every reason has its words here: the type makes a new reason a compile error until it does. */
const UNRESOLVED: Record<UnresolvedReason, string> = {
  inbound: 'an accepted connection: the remote is a client',
  cache_expired: 'its name had expired before the connection',
  address_literal: 'the process looked up the address itself',
  encrypted_client_hello: 'its ClientHello hid the server name (Encrypted Client Hello)',
  encrypted_dns: 'the process or host uses encrypted DNS (DoT/DoH)',
  socket_before_start: 'the socket was opened before the trace: any lookup came before it',
  process_before_start: 'its process was running before the trace: it may have looked up before',
  no_lookup_seen: 'no lookup of this address seen',
};

function hostText(row: ConnRow): string {
  if (row.host === null) return `- (${UNRESOLVED[(row.unresolved ?? 'no_lookup_seen') as UnresolvedReason] ?? row.unresolved})`;
  return `${row.host} (named by ${HOST_SOURCES[(row.hostSource ?? '') as HostSource] ?? orDash(row.hostSource)})`;
}

const UDP_ENDS: Record<UdpEndReason, string> = {
  close: 'its socket was closed',
  idle: 'no datagram for --udp-idle',
  stop: 'hostflow stopped',
};

function udpDetails(row: ConnRow, now: number): Details {
  const state = row.state === 'open' ? 'open' : `ended: ${UDP_ENDS[(row.endReason ?? '') as UdpEndReason] ?? orDash(row.endReason)}`;
  return {
    title: `UDP ${formatEndpoint(row.localAddress, row.localPort)} <-> ${formatEndpoint(row.remoteAddress, row.remotePort)}`,
    fields: [
      ...processFields(row, who(row.comm, row.pid)),
      ['uid', orDash(row.uid)],
      ['container', orDash(row.container)],
      ['host', hostText(row)],
      ['state', state],
      ['first datagram', when(row.openedAt)],
      ['ended', when(row.closedAt)],
      ['active', formatDuration(row.state === 'open' ? (row.openedAt === null ? null : now - row.openedAt) : row.durationMs)],
      ['packets sent', packets(row.packetsSent)],
      ['bytes sent', bytes(row.bytesSent)],
      ['packets received', packets(row.packetsReceived)],
      ['bytes received', bytes(row.bytesReceived)],
      ['interface', orDash(row.iface)],
    ],
  };
}

function connDetails(row: ConnRow, now: number): Details {
  if (row.proto === 'udp') return udpDetails(row, now);
  return {
    title: `${row.direction === 'out' ? 'outgoing' : 'incoming'} TCP ${formatEndpoint(row.localAddress, row.localPort)} ${row.direction === 'out' ? '->' : '<-'} ${formatEndpoint(row.remoteAddress, row.remotePort)}`,
    fields: [
      ...processFields(row, who(row.comm, row.pid)),
      ['uid', orDash(row.uid)],
      ['container', orDash(row.container)],
      ['host', hostText(row)],
      ['state', row.state === 'failed' ? 'failed (never established)' : row.state],
      ['opened', when(row.openedAt)],
      ['closed', when(row.closedAt)],
      ['connect latency', formatLatency(row.connectLatencyMs)],
      ['duration', formatDuration(row.state === 'open' ? (row.openedAt === null ? null : now - row.openedAt) : row.durationMs)],
      ['bytes sent', bytes(row.bytesSent)],
      ['bytes received', bytes(row.bytesReceived)],
      ['retransmits', orDash(row.retransmits)],
      ['connect probe', orDash(row.probe)],
    ],
  };
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

function flowDetails(row: FlowRow, intervalSeconds: number): Details {
  const flags = TCP_FLAGS.filter((_, bit) => (row.tcpFlags >> bit) & 1).join(' ');
  return {
    title: `${row.proto} ${formatEndpoint(row.localAddress, row.localPort)} ${row.direction === 'egress' ? '->' : '<-'} ${formatEndpoint(row.remoteAddress, row.remotePort)} on ${row.iface}`,
    fields: [
      ['direction', row.direction],
      ['remote host', orDash(row.remoteHost)],
      ['local host', orDash(row.localHost)],
      ['process', who(row.comm, row.pid)],
      ['packets', String(row.packets)],
      ['bytes', `${row.bytes} (${formatBytes(row.bytes)})`],
      ['rate', `${formatRate(row.bytes / intervalSeconds)} over ${intervalSeconds}s`],
      ['TCP flags', flags || '-'],
      ['active', `${when(row.start)} to ${when(row.end)}`],
    ],
  };
}

/** `12 of 40 failed: NXDOMAIN 10, TIMEOUT 2`. */
function lookupsText({ process }: DnsRow): string {
  if (process.failed === 0) return `${process.lookups} ${process.lookups === 1 ? 'lookup' : 'lookups'}, none failed`;
  return `${process.failed} of ${process.lookups} failed: ${process.failures.map(([status, failed]) => `${status} ${failed}`).join(', ')}`;
}

function dnsDetails(row: DnsRow): Details {
  return {
    title: `${row.host} (${row.source === 'wire' ? 'seen on the wire' : 'getaddrinfo'})`,
    fields: [
      ['time', when(row.at)],
      ...processFields(row, row.pid === null ? '- (seen at an interface: no process)' : `${who(row.comm, row.pid)} thread ${orDash(row.tid)}`),
      ['process lookups', lookupsText(row)],
      ['status', row.failed ? `${row.status} (failed)` : row.status],
      ['CNAME chain', row.cnames.length > 0 ? [row.host, ...row.cnames].join(' -> ') : '-'],
      ['answers', orDash(row.addrs.join(', '))],
      ['TTL', row.ttl === null ? '-' : `${row.ttl}s`],
      ['latency', formatLatency(row.latencyMs)],
      ['server', row.server === null ? '-' : `${row.server} on ${orDash(row.iface)}`],
    ],
  };
}

export function detailsOf(view: ViewId, row: AnyRow, context: { now: number; flowIntervalSeconds: number; connections: () => readonly ConnRow[] }): Details {
  switch (view) {
    case 'hosts':
      return hostDetails(row as HostRow, context.connections());
    case 'connections':
      return connDetails(row as ConnRow, context.now);
    case 'flows':
      return flowDetails(row as FlowRow, context.flowIntervalSeconds);
    case 'dns':
      return dnsDetails(row as DnsRow);
  }
}
