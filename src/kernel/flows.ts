/**
 * Decoding of the `flows` map as the addon dumps it: keys, and per-CPU
 * counters summed across CPUs (packets and bytes add up, first seen is the
 * earliest, last seen the latest, TCP flags are OR-ed).
 */
import { formatAddress } from '../net/address.js';
import { offsetOf } from './struct.js';
import { AF_INET, AF_INET6, flowCounters, flowKey, flowSlot } from './layout.js';
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
/** Where a slot of `flow_cache` keeps its key and its counters. */
const SLOT_KEY = offsetOf(flowSlot, 'key');
const SLOT_COUNTERS = offsetOf(flowSlot, 'counters');

function view(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The slot of a flow key (at `at` in `keys`) in `flow_cache`, of `slots`
 * slots: hf_flow_slot_index() of bpf/hostflow.h, over the key's 32-bit
 * words in the host's (little-endian) order.
 */
export function flowSlotIndex(keys: DataView, at: number, slots: number): number {
  const w = (index: number) => keys.getUint32(at + index * 4, true);
  let h = Math.imul(w(0) ^ w(1) ^ w(2) ^ w(3), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16) ^ w(4) ^ w(5) ^ w(6) ^ w(7), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16) ^ w(9), 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16) ^ w(8) ^ w(10), 0x27d4eb2f);
  return ((h ^ (h >>> 16)) & (slots - 1)) >>> 0;
}

function sameKey(a: DataView, aAt: number, b: DataView, bAt: number): boolean {
  for (let offset = 0; offset < KEY_BYTES; offset += 4) {
    if (a.getUint32(aAt + offset, true) !== b.getUint32(bAt + offset, true)) return false;
  }
  return true;
}

/** One flow's sums over the CPUs, as they are added up (one instance, reset per flow). */
class FlowSums {
  packets = 0;
  bytes = 0;
  droppedPackets = 0;
  droppedBytes = 0;
  firstSeenNs = Infinity;
  lastSeenNs = 0;
  tcpFlags = 0;

  reset(): this {
    this.packets = 0;
    this.bytes = 0;
    this.droppedPackets = 0;
    this.droppedBytes = 0;
    this.firstSeenNs = Infinity;
    this.lastSeenNs = 0;
    this.tcpFlags = 0;
    return this;
  }

  /** Adds one CPU's counters (a struct hf_flow_counters at `at`). */
  add(values: DataView, at: number): void {
    const packets = u64(values, at + V.packets);
    if (packets === 0) return;
    this.packets += packets;
    this.bytes += u64(values, at + V.bytes);
    this.droppedPackets += u64(values, at + V.droppedPackets);
    this.droppedBytes += u64(values, at + V.droppedBytes);
    this.firstSeenNs = Math.min(this.firstSeenNs, u64(values, at + V.first));
    this.lastSeenNs = Math.max(this.lastSeenNs, u64(values, at + V.last));
    this.tcpFlags |= values.getUint8(at + V.flags);
  }
}

/**
 * The table as the kernel dumped it, the CPUs summed at once: per-CPU values
 * take 56 bytes per CPU per flow, and a large host has many CPUs.
 *
 * With the dump of `flow_cache` (read before `flows`, see hostflow.h), a
 * flow's counters on one CPU are its slot's there when the slot holds it and
 * counted at least as many packets as `flows` says, and flows that so far
 * live in the cache alone are added.
 */
class KernelFlowTable implements FlowTable {
  readonly size: number;
  /** The dump's keys, and the cache's slots (empty without the cache). */
  private readonly keys: Buffer;
  private readonly slotKeys: Buffer;
  /** Where each kept flow's key is: the offset in `keys`, or in `slotKeys` when `inCache`. */
  private readonly keyOffsets: Uint32Array;
  private readonly inCache: Uint8Array;
  private readonly sums: Float64Array;

  constructor(dump: MapDump, cache?: MapDump) {
    const keys = view(dump.keys);
    const values = view(dump.values);
    const cpuStride = dump.valueStride / dump.cpus;
    const slots = cache && cache.cpus === dump.cpus && cache.count > 0 ? cache : undefined;
    const slotValues = slots ? view(slots.values) : undefined;
    const slotCpuStride = slots ? slots.valueStride / slots.cpus : 0;
    /** Slots (slot * cpus + cpu) already counted with a flow of `flows`. */
    const taken = new Uint8Array(slots ? slots.count * slots.cpus : 0);
    const capacity = dump.count + taken.length;
    const sums = new Float64Array(capacity * COLUMNS);
    const keyOffsets = new Uint32Array(capacity);
    const inCache = new Uint8Array(capacity);
    let size = 0;
    const sum = new FlowSums();
    const keep = (flow: FlowSums, fromCache: boolean, offset: number) => {
      if (flow.packets === 0) return;
      const row = size * COLUMNS;
      sums[row + PACKETS] = flow.packets;
      sums[row + BYTES] = flow.bytes;
      sums[row + DROPPED_PACKETS] = flow.droppedPackets;
      sums[row + DROPPED_BYTES] = flow.droppedBytes;
      sums[row + FIRST_SEEN] = flow.firstSeenNs;
      sums[row + LAST_SEEN] = flow.lastSeenNs;
      sums[row + TCP_FLAGS] = flow.tcpFlags;
      keyOffsets[size] = offset;
      inCache[size] = fromCache ? 1 : 0;
      size++;
    };
    for (let i = 0; i < dump.count; i++) {
      const key = i * dump.keySize;
      // The kernel's "other" entry (non-IP or cut frames, family 0) has no
      // addresses: it is no flow record, and no address to count.
      const family = keys.getUint16(key + K.family, true);
      if (family !== AF_INET && family !== AF_INET6) continue;
      const slot = slots && slotValues ? flowSlotIndex(keys, key, slots.count) : 0;
      const flow = sum.reset();
      for (let cpu = 0; cpu < dump.cpus; cpu++) {
        const value = i * dump.valueStride + cpu * cpuStride;
        if (slots && slotValues) {
          const at = slot * slots.valueStride + cpu * slotCpuStride;
          const slotPackets = u64(slotValues, at + SLOT_COUNTERS + V.packets);
          if (slotPackets !== 0 && sameKey(slotValues, at + SLOT_KEY, keys, key)) {
            taken[slot * slots.cpus + cpu] = 1;
            if (slotPackets >= u64(values, value + V.packets)) {
              flow.add(slotValues, at + SLOT_COUNTERS);
              continue;
            }
          }
        }
        flow.add(values, value);
      }
      keep(flow, false, key);
    }
    if (slots && slotValues) {
      // Flows the cache holds that `flows` has no entry for (yet, or no
      // more): one flow may hold its slot on several CPUs.
      for (let slot = 0; slot < slots.count; slot++) {
        for (let cpu = 0; cpu < slots.cpus; cpu++) {
          const at = slot * slots.valueStride + cpu * slotCpuStride;
          if (taken[slot * slots.cpus + cpu] || u64(slotValues, at + SLOT_COUNTERS + V.packets) === 0) continue;
          const family = slotValues.getUint16(at + SLOT_KEY + K.family, true);
          if (family !== AF_INET && family !== AF_INET6) continue;
          const flow = sum.reset();
          for (let other = cpu; other < slots.cpus; other++) {
            const otherAt = slot * slots.valueStride + other * slotCpuStride;
            if (taken[slot * slots.cpus + other] || !sameKey(slotValues, otherAt + SLOT_KEY, slotValues, at + SLOT_KEY)) continue;
            taken[slot * slots.cpus + other] = 1;
            flow.add(slotValues, otherAt + SLOT_COUNTERS);
          }
          keep(flow, true, at + SLOT_KEY);
        }
      }
    }
    this.size = size;
    // The per-CPU values are not kept: only the keys and the sums are.
    this.keys = dump.keys;
    this.slotKeys = slots ? slots.values : Buffer.alloc(0);
    this.keyOffsets = keyOffsets.subarray(0, size);
    this.inCache = inCache.subarray(0, size);
    this.sums = sums.subarray(0, size * COLUMNS);
  }

  /** The key's bytes as a one-byte string: one flat string, no concatenation. */
  private keyBuffer(i: number): Buffer {
    return this.inCache[i] ? this.slotKeys : this.keys;
  }

  key(i: number): string {
    const start = this.keyOffsets[i] as number;
    return this.keyBuffer(i).toString('latin1', start, start + KEY_BYTES);
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
    const key = this.keyOffsets[i] as number;
    const keys = this.keyBuffer(i);
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

/**
 * The flow table of a dump of the kernel's `flows` map, CPUs summed, with
 * the flows' slots in a dump of `flow_cache` taken before it.
 */
export function flowTable(dump: MapDump, cache?: MapDump): FlowTable {
  return new KernelFlowTable(dump, cache);
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

/** Every flow of a dump (and of a dump of `flow_cache` taken before it), decoded. */
export function decodeFlows(dump: MapDump, cache?: MapDump): FlowEntry[] {
  return flowEntries(flowTable(dump, cache));
}
