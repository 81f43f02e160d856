/**
 * `--format text`: one readable line per record, like the seeds' tools
 * print. Everything that came from outside is sanitized.
 */
import { sanitize } from '../format/sanitize.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, HostSource, UdpRecord, UnresolvedReason } from './types.js';

const time = (iso: string) => iso.slice(11, 26);

function who(comm: string | null, pid: number | null): string {
  return pid === null ? '-' : `${sanitize(comm ?? '?')}[${pid}]`;
}

function bracket(family: 4 | 6, addr: string): string {
  return family === 6 ? `[${addr}]` : addr;
}

function dnsLine(r: DnsRecord): string {
  const chain = r.cnames ? ` (${r.cnames.map(sanitize).join(' -> ')})` : '';
  const answer = r.addrs.length > 0 ? r.addrs.join(', ') : r.status;
  const latency = r.latency_ms === null ? '' : ` ${r.latency_ms.toFixed(3)} ms`;
  const where = r.source === 'wire' ? ` via ${r.server ?? '?'}${r.iface === null ? '' : ` on ${sanitize(r.iface)}`}` : '';
  return `${time(r.ts)} dns   ${who(r.comm, r.pid)} ${sanitize(r.host)}${chain} -> ${answer}${latency} ${r.source}${where}${r.ttl === null ? '' : ` ttl ${r.ttl}`}`;
}

function remoteOf(r: { family: 4 | 6; host: string | null; daddr: string; dport: number }): string {
  return `${r.host ? `${sanitize(r.host)} ` : ''}${bracket(r.family, r.daddr)}:${r.dport}`;
}

function namedBy(r: { host_source: HostSource | null; unresolved: UnresolvedReason | null }): string {
  return r.host_source ? ` [${r.host_source}]` : r.unresolved ? ` [unresolved: ${r.unresolved}]` : '';
}

function connLine(r: ConnRecord): string {
  const arrow = r.direction === 'out' ? '->' : '<-';
  const remote = remoteOf(r);
  const named = namedBy(r);
  const head = `${time(r.ts)} conn  ${r.event.padEnd(5)} ${who(r.comm, r.pid)} ${bracket(r.family, r.saddr)}:${r.sport} ${arrow} ${remote}${named}`;
  if (r.event === 'open') return `${head} ${r.connect_latency_ms ?? '?'} ms`;
  if (r.event === 'named') return head;
  const life = r.established === false ? ' never established' : ` ${r.duration_ms ?? '?'} ms`;
  return `${head}${life} sent ${r.bytes_sent} B received ${r.bytes_received} B retransmits ${r.retransmits}`;
}

function udpLine(r: UdpRecord): string {
  const head = `${time(r.ts)} udp   ${r.event.padEnd(5)} ${who(r.comm, r.pid)} ${bracket(r.family, r.saddr)}:${r.sport} -> ${remoteOf(r)}${namedBy(r)}`;
  if (r.event === 'open') return head;
  const activeMs = r.last_seen === null ? null : Date.parse(r.last_seen) - Date.parse(r.first_seen);
  const counts = `sent ${r.packets_sent} packets ${r.bytes_sent} B received ${r.packets_received} packets ${r.bytes_received} B`;
  return `${head} ${activeMs ?? '?'} ms ${counts} end ${r.end_reason}`;
}

function flowLine(r: FlowRecord): string {
  const src = `${r.src_host ? `${sanitize(r.src_host)} ` : ''}${bracket(r.family, r.saddr)}:${r.sport}`;
  const dst = `${r.dst_host ? `${sanitize(r.dst_host)} ` : ''}${bracket(r.family, r.daddr)}:${r.dport}`;
  const owner = r.pid === null ? '' : ` ${who(r.comm, r.pid)}`;
  return `${time(r.end)} flow  ${sanitize(r.iface)} ${r.direction} ${r.proto} ${src} -> ${dst} ${r.packets} packets ${r.bytes} B${owner}`;
}

export function formatText(record: HostflowRecord): string {
  switch (record.type) {
    case 'dns':
      return dnsLine(record);
    case 'conn':
      return connLine(record);
    case 'flow':
      return flowLine(record);
    case 'udp':
      return udpLine(record);
  }
}
