/**
 * What a non-zero kernel counter (enum hf_counter, COUNTER_NAMES) means for
 * the records: which ones count records lost, and what ran out. The others
 * count work done (retransmits, closes recovered) or losses of another
 * kind, reported on their own: capture frames (captureStats), flow
 * updates (flows_failed, packets not counted in any flow) and UDP
 * conversation updates (udp_convs_failed, datagrams not counted).
 */
import { COUNTER_NAMES, type CounterName } from './layout.js';
import type { BpfObject } from './native-api.js';

/** Records lost because their ring buffer was full when the kernel wrote them. */
export const RING_LOSSES = [
  'drop_connect',
  'drop_established',
  'drop_close',
  'drop_lookup',
  'drop_dns_xdp',
  'drop_dns_tc',
  'drop_payload_tc',
  'drop_dns_sock',
  'drop_payload_sock',
  'drop_udp_close',
] as const satisfies readonly CounterName[];

/**
 * Records lost, or closed without their process, because a kernel table
 * had no room for the entry that pairs them; by the table (bpf/README.md).
 */
export const TABLE_LOSSES = {
  sockets_full: 'sockets',
  lookups_full: 'lookups',
  connecting_full: 'connecting',
} as const satisfies Partial<Record<CounterName, string>>;
export type TableLoss = keyof typeof TABLE_LOSSES;

/** Counters that count no lost record. */
export const NOT_LOSSES = [
  'flows_failed',
  'udp_convs_failed',
  'retransmits',
  'capture_lost_xdp',
  'capture_lost_tc',
  'close_recovered',
] as const satisfies readonly CounterName[];

/** Every counter whose any non-zero value means records were lost. */
export const LOSS_COUNTERS: ReadonlySet<CounterName> = new Set<CounterName>([...RING_LOSSES, ...(Object.keys(TABLE_LOSSES) as TableLoss[])]);

/** Every kernel counter of a loaded object, its per-CPU values summed. */
export function readCounters(object: BpfObject): Record<CounterName, number> {
  const result = {} as Record<CounterName, number>;
  COUNTER_NAMES.forEach((name, index) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index);
    const perCpu = object.lookup('counters', key);
    let total = 0;
    for (let at = 0; perCpu && at + 8 <= perCpu.length; at += 8) total += Number(perCpu.readBigUInt64LE(at));
    result[name] = total;
  });
  return result;
}
