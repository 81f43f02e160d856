/**
 * The blocklist's user-space half: the prefixes in the kernel's LPM tries
 * (`blocked_v4`, `blocked_v6`), the `block_counters` slots that count
 * each entry's drops, and `blocklist_entries`, the number of prefixes per
 * family (flow_xdp skips the lookup for a family without any). Runs on the JavaScript thread; the kernel reads the
 * tries concurrently, so an entry's slot is zeroed before the entry appears
 * and read after it is gone.
 */
import { HostflowError } from '../errors.js';
import { blockCounters, blockEntry, blockKey4, blockKey6 } from './layout.js';
import type { BpfObject } from './native-api.js';
import { parsePrefix, type Prefix } from './prefix.js';
import { offsetOf } from './struct.js';

/** The map operations the blocklist needs (a BpfObject, or a fake in tests). */
export type BlockMaps = Pick<BpfObject, 'update' | 'delete' | 'lookup'>;

export interface BlockEntry {
  /** Canonical prefix, e.g. '10.0.0.0/8', '192.0.2.1/32', 'fd00::/64'. */
  prefix: string;
  family: 4 | 6;
  /** Packets and L3 bytes dropped because of this entry since it was added. */
  packets: number;
  bytes: number;
  /** Wall-clock ms when it was added. */
  addedMs: number;
}

export interface BlocklistTotals {
  entries: number;
  /** Drops of every entry, removed ones included. */
  packets: number;
  bytes: number;
}

interface Slot {
  prefix: Prefix;
  slot: number;
  addedMs: number;
}

const ROUND8 = (size: number) => (size + 7) & ~7;
const COUNT_PACKETS = offsetOf(blockCounters, 'packets');
const COUNT_BYTES = offsetOf(blockCounters, 'bytes');

function keyOf(prefix: Prefix): Buffer {
  if (prefix.family === 4) {
    const key = Buffer.alloc(blockKey4.size);
    key.writeUInt32LE(prefix.length, offsetOf(blockKey4, 'prefixlen'));
    key.set(prefix.bytes.subarray(0, 4), offsetOf(blockKey4, 'addr'));
    return key;
  }
  const key = Buffer.alloc(blockKey6.size);
  key.writeUInt32LE(prefix.length, offsetOf(blockKey6, 'prefixlen'));
  key.set(prefix.bytes, offsetOf(blockKey6, 'addr'));
  return key;
}

function slotKey(slot: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(slot);
  return key;
}

export class Blocklist {
  private readonly entries = new Map<string, Slot>();
  private readonly free: number[];
  private removedPackets = 0;
  private removedBytes = 0;

  /**
   * `capacity`: entries per family and counter slots (the maps' size);
   * `cpus`: possible CPUs (per-CPU values come back one per CPU).
   */
  constructor(
    private readonly maps: BlockMaps,
    readonly capacity: number,
    private readonly cpus: number,
    private readonly now: () => number = Date.now,
  ) {
    this.free = Array.from({ length: capacity }, (_, index) => capacity - 1 - index);
  }

  /**
   * Adds a prefix ('192.0.2.1', '10.0.0.0/8', 'fd00::/64'). Returns the
   * canonical prefix and false when it was already there. Throws a
   * HostflowError with a message for the user when the text is not a prefix
   * or the list is full.
   */
  block(text: string): { prefix: string; added: boolean } {
    const prefix = parseUserPrefix(text);
    if (this.entries.has(prefix.text)) return { prefix: prefix.text, added: false };
    const slot = this.free.pop();
    if (slot === undefined) throw new HostflowError(`the blocklist is full (${this.capacity} entries)`);
    try {
      this.maps.update('block_counters', slotKey(slot), Buffer.alloc(ROUND8(blockCounters.size) * this.cpus));
      const value = Buffer.alloc(blockEntry.size);
      value.writeUInt32LE(slot, offsetOf(blockEntry, 'slot'));
      this.maps.update(prefix.family === 4 ? 'blocked_v4' : 'blocked_v6', keyOf(prefix), value);
    } catch (error) {
      this.free.push(slot);
      throw new HostflowError(`cannot block ${prefix.text}: ${(error as Error).message}`, { cause: error });
    }
    this.entries.set(prefix.text, { prefix, slot, addedMs: this.now() });
    this.publishCount(prefix.family);
    return { prefix: prefix.text, added: true };
  }

  /** Removes a prefix given as it was blocked (any spelling); its final counts, or null when it was not blocked. */
  unblock(text: string): BlockEntry | null {
    const prefix = parseUserPrefix(text);
    const entry = this.entries.get(prefix.text);
    if (!entry) return null;
    this.maps.delete(prefix.family === 4 ? 'blocked_v4' : 'blocked_v6', keyOf(prefix));
    const final = this.describe(entry);
    this.entries.delete(prefix.text);
    this.publishCount(prefix.family);
    this.free.push(entry.slot);
    this.removedPackets += final.packets;
    this.removedBytes += final.bytes;
    return final;
  }

  /** Every entry with its drops so far, IPv4 first, then by address. */
  list(): BlockEntry[] {
    return [...this.entries.values()]
      .sort((a, b) => a.prefix.family - b.prefix.family || compareBytes(a.prefix.bytes, b.prefix.bytes) || a.prefix.length - b.prefix.length)
      .map((entry) => this.describe(entry));
  }

  has(text: string): boolean {
    return this.entries.has(parseUserPrefix(text).text);
  }

  get size(): number {
    return this.entries.size;
  }

  totals(): BlocklistTotals {
    let packets = this.removedPackets;
    let bytes = this.removedBytes;
    for (const entry of this.list()) {
      packets += entry.packets;
      bytes += entry.bytes;
    }
    return { entries: this.entries.size, packets, bytes };
  }

  /** Tells flow_xdp how many prefixes of a family there are (0: skip the lookup). */
  private publishCount(family: 4 | 6): void {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.prefix.family === family) count++;
    const value = Buffer.alloc(4);
    value.writeUInt32LE(count);
    this.maps.update('blocklist_entries', slotKey(family === 4 ? 0 : 1), value);
  }

  private describe(entry: Slot): BlockEntry {
    const perCpu = this.maps.lookup('block_counters', slotKey(entry.slot));
    let packets = 0;
    let bytes = 0;
    const stride = ROUND8(blockCounters.size);
    for (let at = 0; perCpu && at + stride <= perCpu.length; at += stride) {
      packets += Number(perCpu.readBigUInt64LE(at + COUNT_PACKETS));
      bytes += Number(perCpu.readBigUInt64LE(at + COUNT_BYTES));
    }
    return { prefix: entry.prefix.text, family: entry.prefix.family, packets, bytes, addedMs: entry.addedMs };
  }
}

/**
 * The prefix a user means: an IPv4-mapped IPv6 prefix (::ffff:192.0.2.1, as
 * `ss` prints dual-stack sockets) is the IPv4 prefix it stands for, which is
 * what IPv4 packets carry.
 */
function parseUserPrefix(text: string): Prefix {
  let prefix: Prefix;
  try {
    prefix = parsePrefix(text);
  } catch (error) {
    throw new HostflowError((error as Error).message);
  }
  const mapped =
    prefix.family === 6 &&
    prefix.length >= 96 &&
    prefix.bytes.subarray(0, 10).every((byte) => byte === 0) &&
    prefix.bytes[10] === 0xff &&
    prefix.bytes[11] === 0xff;
  if (!mapped) return prefix;
  return parsePrefix(`${Array.from(prefix.bytes.subarray(12, 16)).join('.')}/${prefix.length - 96}`);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}
