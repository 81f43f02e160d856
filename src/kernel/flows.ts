/**
 * Decoding of the `flows` map as the addon dumps it: keys, and per-CPU
 * counters summed across CPUs (packets and bytes add up, first seen is the
 * earliest, last seen the latest, TCP flags are OR-ed).
 */
import { formatAddress } from '../net/address.js';
import { offsetOf } from './struct.js';
import { AF_INET, AF_INET6, flowCounters, flowKey } from './layout.js';
import type { MapDump } from './native-api.js';

export interface FlowEntry {
  ifindex: number;
  direction: 'in' | 'out';
  /** IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6. */
  proto: number;
  family: 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** Every packet seen, dropped ones included. */
  packets: number;
  bytes: number;
  /**
   * Of `packets`/`bytes`: dropped by the blocklist on ingress (0 on egress).
   * Always set by decodeFlows; optional until FlowIntervals takes deltas of
   * them and the hand-built entries of older tests carry them.
   */
  droppedPackets: number;
  droppedBytes: number;
  firstSeenNs: number;
  lastSeenNs: number;
  tcpFlags: number;
}

const K = {
  saddr: offsetOf(flowKey, 'saddr'),
  daddr: offsetOf(flowKey, 'daddr'),
  ifindex: offsetOf(flowKey, 'ifindex'),
  sport: offsetOf(flowKey, 'sport'),
  dport: offsetOf(flowKey, 'dport'),
  direction: offsetOf(flowKey, 'direction'),
  proto: offsetOf(flowKey, 'proto'),
  family: offsetOf(flowKey, 'family'),
};
const V = {
  packets: offsetOf(flowCounters, 'packets'),
  bytes: offsetOf(flowCounters, 'bytes'),
  first: offsetOf(flowCounters, 'first_seen_ns'),
  last: offsetOf(flowCounters, 'last_seen_ns'),
  droppedPackets: offsetOf(flowCounters, 'dropped_packets'),
  droppedBytes: offsetOf(flowCounters, 'dropped_bytes'),
  flags: offsetOf(flowCounters, 'tcp_flags'),
};

function u64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true);
}

export function decodeFlows(dump: MapDump): FlowEntry[] {
  const keys = new DataView(dump.keys.buffer, dump.keys.byteOffset, dump.keys.byteLength);
  const values = new DataView(dump.values.buffer, dump.values.byteOffset, dump.values.byteLength);
  const cpuStride = dump.valueStride / dump.cpus;
  const entries: FlowEntry[] = [];
  for (let i = 0; i < dump.count; i++) {
    const key = i * dump.keySize;
    const rawFamily = keys.getUint16(key + K.family, true);
    // The kernel's "other" entry (non-IP or cut frames, family 0) has no
    // addresses: it is no flow record, and no address to count.
    if (rawFamily !== AF_INET && rawFamily !== AF_INET6) continue;
    const family = rawFamily === AF_INET ? 4 : 6;
    let packets = 0;
    let bytes = 0;
    let droppedPackets = 0;
    let droppedBytes = 0;
    let firstSeenNs = Infinity;
    let lastSeenNs = 0;
    let tcpFlags = 0;
    for (let cpu = 0; cpu < dump.cpus; cpu++) {
      const value = i * dump.valueStride + cpu * cpuStride;
      const cpuPackets = u64(values, value + V.packets);
      if (cpuPackets === 0) continue;
      packets += cpuPackets;
      bytes += u64(values, value + V.bytes);
      droppedPackets += u64(values, value + V.droppedPackets);
      droppedBytes += u64(values, value + V.droppedBytes);
      firstSeenNs = Math.min(firstSeenNs, u64(values, value + V.first));
      lastSeenNs = Math.max(lastSeenNs, u64(values, value + V.last));
      tcpFlags |= values.getUint8(value + V.flags);
    }
    if (packets === 0) continue;
    entries.push({
      ifindex: keys.getUint32(key + K.ifindex, true),
      direction: keys.getUint8(key + K.direction) === 1 ? 'in' : 'out',
      proto: keys.getUint8(key + K.proto),
      family,
      saddr: formatAddress(family, dump.keys, key + K.saddr),
      sport: keys.getUint16(key + K.sport, true),
      daddr: formatAddress(family, dump.keys, key + K.daddr),
      dport: keys.getUint16(key + K.dport, true),
      packets,
      bytes,
      droppedPackets,
      droppedBytes,
      firstSeenNs,
      lastSeenNs,
      tcpFlags,
    });
  }
  return entries;
}
