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

/**
 * One read of the flow table, compact: what a flow interval needs of each
 * flow (its identity and counts) without an object per flow. A flow's
 * FlowEntry, addresses formatted, is built only when asked for, which the
 * intervals do only for flows that saw packets.
 */
export interface FlowTable {
  /** Flows in the table (the kernel's "other" entry and flows without packets are left out). */
  readonly size: number;
  /** What identifies flow i from one read to the next. */
  key(i: number): string;
  packets(i: number): number;
  bytes(i: number): number;
  droppedPackets(i: number): number;
  droppedBytes(i: number): number;
  firstSeenNs(i: number): number;
  entry(i: number): FlowEntry;
}

/** Sums per flow, one column each. */
const [PACKETS, BYTES, DROPPED_PACKETS, DROPPED_BYTES, FIRST_SEEN, LAST_SEEN, TCP_FLAGS] = [0, 1, 2, 3, 4, 5, 6] as const;
const COLUMNS = 7;
/** The key bytes that tell flows apart (the padding after them is always zero). */
const KEY_BYTES = K.family + 2;

/**
 * The table as the kernel dumped it, the CPUs summed at once: per-CPU values
 * take 56 bytes per CPU per flow, and a large host has many CPUs.
 */
class KernelFlowTable implements FlowTable {
  readonly size: number;
  private readonly keys: Buffer;
  private readonly keySize: number;
  /** Index of each kept flow's key in the dump. */
  private readonly at: Uint32Array;
  private readonly sums: Float64Array;

  constructor(dump: MapDump) {
    const keys = new DataView(dump.keys.buffer, dump.keys.byteOffset, dump.keys.byteLength);
    const values = new DataView(dump.values.buffer, dump.values.byteOffset, dump.values.byteLength);
    const cpuStride = dump.valueStride / dump.cpus;
    const at = new Uint32Array(dump.count);
    const sums = new Float64Array(dump.count * COLUMNS);
    let size = 0;
    for (let i = 0; i < dump.count; i++) {
      const key = i * dump.keySize;
      // The kernel's "other" entry (non-IP or cut frames, family 0) has no
      // addresses: it is no flow record, and no address to count.
      const family = keys.getUint16(key + K.family, true);
      if (family !== AF_INET && family !== AF_INET6) continue;
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
      const row = size * COLUMNS;
      sums[row + PACKETS] = packets;
      sums[row + BYTES] = bytes;
      sums[row + DROPPED_PACKETS] = droppedPackets;
      sums[row + DROPPED_BYTES] = droppedBytes;
      sums[row + FIRST_SEEN] = firstSeenNs;
      sums[row + LAST_SEEN] = lastSeenNs;
      sums[row + TCP_FLAGS] = tcpFlags;
      at[size++] = i;
    }
    this.size = size;
    this.keySize = dump.keySize;
    // The per-CPU values are not kept: only the keys and the sums are.
    this.keys = dump.keys;
    this.at = at.subarray(0, size);
    this.sums = sums.subarray(0, size * COLUMNS);
  }

  /** The key's bytes as a one-byte string: one flat string, no concatenation. */
  key(i: number): string {
    const start = (this.at[i] as number) * this.keySize;
    return this.keys.toString('latin1', start, start + KEY_BYTES);
  }

  private sum(i: number, column: number): number {
    return this.sums[i * COLUMNS + column] as number;
  }

  packets(i: number): number {
    return this.sum(i, PACKETS);
  }

  bytes(i: number): number {
    return this.sum(i, BYTES);
  }

  droppedPackets(i: number): number {
    return this.sum(i, DROPPED_PACKETS);
  }

  droppedBytes(i: number): number {
    return this.sum(i, DROPPED_BYTES);
  }

  firstSeenNs(i: number): number {
    return this.sum(i, FIRST_SEEN);
  }

  entry(i: number): FlowEntry {
    const key = (this.at[i] as number) * this.keySize;
    const keys = this.keys;
    const family = keys.readUInt16LE(key + K.family) === AF_INET ? 4 : 6;
    return {
      ifindex: keys.readUInt32LE(key + K.ifindex),
      direction: keys[key + K.direction] === 1 ? 'in' : 'out',
      proto: keys[key + K.proto] as number,
      family,
      saddr: formatAddress(family, keys, key + K.saddr),
      sport: keys.readUInt16LE(key + K.sport),
      daddr: formatAddress(family, keys, key + K.daddr),
      dport: keys.readUInt16LE(key + K.dport),
      packets: this.sum(i, PACKETS),
      bytes: this.sum(i, BYTES),
      droppedPackets: this.sum(i, DROPPED_PACKETS),
      droppedBytes: this.sum(i, DROPPED_BYTES),
      firstSeenNs: this.sum(i, FIRST_SEEN),
      lastSeenNs: this.sum(i, LAST_SEEN),
      tcpFlags: this.sum(i, TCP_FLAGS),
    };
  }
}

/** The flow table of a dump of the kernel's `flows` map, CPUs summed. */
export function flowTable(dump: MapDump): FlowTable {
  return new KernelFlowTable(dump);
}

/** A flow table of entries already decoded (tests, and tracers without a kernel). */
export function flowTableOf(entries: readonly FlowEntry[]): FlowTable {
  const row = (i: number) => entries[i] as FlowEntry;
  return {
    size: entries.length,
    key: (i) => {
      const f = row(i);
      return `${f.ifindex}|${f.direction}|${f.proto}|${f.saddr}|${f.sport}|${f.daddr}|${f.dport}`;
    },
    packets: (i) => row(i).packets,
    bytes: (i) => row(i).bytes,
    droppedPackets: (i) => row(i).droppedPackets,
    droppedBytes: (i) => row(i).droppedBytes,
    firstSeenNs: (i) => row(i).firstSeenNs,
    entry: (i) => ({ ...row(i) }),
  };
}

/** Every flow of a table, decoded (the control socket's `flows`). */
export function flowEntries(table: FlowTable): FlowEntry[] {
  return Array.from({ length: table.size }, (_, i) => table.entry(i));
}

/** Every flow of a dump, decoded. */
export function decodeFlows(dump: MapDump): FlowEntry[] {
  return flowEntries(flowTable(dump));
}
