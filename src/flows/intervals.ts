/**
 * The kernel keeps cumulative counters per flow; a flow record covers one
 * interval. This turns successive snapshots of the table into per-interval
 * deltas. An entry whose counters went down was evicted and re-created by
 * the LRU in between: its whole count is new.
 */
import type { FlowEntry } from '../kernel/flows.js';

export interface FlowDelta extends FlowEntry {
  /** Start and end of the activity in this interval, kernel monotonic ns. */
  intervalStartNs: number;
  intervalEndNs: number;
}

function keyOf(flow: FlowEntry): string {
  return `${flow.ifindex}|${flow.direction}|${flow.proto}|${flow.saddr}|${flow.sport}|${flow.daddr}|${flow.dport}`;
}

/** What the next interval needs of a flow: its cumulative counts, not the whole entry (100k flows: ~40 MB less). */
interface Counts {
  packets: number;
  bytes: number;
  droppedPackets: number;
  droppedBytes: number;
  firstSeenNs: number;
}

export class FlowIntervals {
  private previous = new Map<string, Counts>();

  /** Flows whose counts are remembered from the last interval. */
  get size(): number {
    return this.previous.size;
  }

  /** Deltas since the last call, only for flows that saw packets. */
  next(snapshot: readonly FlowEntry[], intervalStartNs: number, intervalEndNs: number): FlowDelta[] {
    const current = new Map<string, Counts>();
    const deltas: FlowDelta[] = [];
    for (const flow of snapshot) {
      const key = keyOf(flow);
      current.set(key, {
        packets: flow.packets,
        bytes: flow.bytes,
        droppedPackets: flow.droppedPackets,
        droppedBytes: flow.droppedBytes,
        firstSeenNs: flow.firstSeenNs,
      });
      const before = this.previous.get(key);
      const restarted = !before || flow.packets < before.packets || flow.firstSeenNs !== before.firstSeenNs;
      const packets = restarted ? flow.packets : flow.packets - before.packets;
      if (packets === 0) continue;
      const startNs = restarted ? Math.max(flow.firstSeenNs, intervalStartNs) : intervalStartNs;
      // The kernel stamps flows with the coarse clock (one tick, up to 4 ms,
      // behind the interval's bounds): the end never precedes the start.
      const endNs = Math.max(startNs, Math.min(flow.lastSeenNs, intervalEndNs) || intervalEndNs);
      deltas.push({
        ...flow,
        packets,
        bytes: restarted ? flow.bytes : flow.bytes - before.bytes,
        droppedPackets: restarted ? flow.droppedPackets : flow.droppedPackets - before.droppedPackets,
        droppedBytes: restarted ? flow.droppedBytes : flow.droppedBytes - before.droppedBytes,
        intervalStartNs: startNs,
        intervalEndNs: endNs,
      });
    }
    this.previous = current;
    return deltas;
  }
}
