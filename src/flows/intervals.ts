/**
 * The kernel keeps cumulative counters per flow; a flow record covers one
 * interval. This turns successive reads of the table into per-interval
 * deltas. An entry whose counters went down was evicted and re-created by
 * the LRU in between: its whole count is new.
 */
import type { FlowEntry, FlowTable } from '../kernel/flows.js';

export interface FlowDelta extends FlowEntry {
  /** Start and end of the activity in this interval, kernel monotonic ns. */
  intervalStartNs: number;
  intervalEndNs: number;
}

/** What the next interval needs of a flow, one column each: its cumulative counts. */
const COUNTS = 5;
const [PACKETS, BYTES, DROPPED_PACKETS, DROPPED_BYTES, FIRST_SEEN] = [0, 1, 2, 3, 4] as const;

/**
 * The counts of the last read: a flow's key gives its row. About 130 bytes
 * a flow (the key, a map entry, five numbers), where an object per flow
 * with text keys took 680.
 */
class Counts {
  readonly rows = new Map<string, number>();
  readonly columns: Float64Array;

  constructor(capacity: number) {
    this.columns = new Float64Array(capacity * COUNTS);
  }
}

export class FlowIntervals {
  private previous = new Counts(0);

  /** Flows whose counts are remembered from the last interval. */
  get size(): number {
    return this.previous.rows.size;
  }

  /**
   * Hands each flow that saw packets since the last read to `onDelta`, one
   * at a time, all at once. Returns how many there were.
   */
  next(table: FlowTable, intervalStartNs: number, intervalEndNs: number, onDelta: (delta: FlowDelta) => void): number {
    const read = this.read(table, intervalStartNs, intervalEndNs);
    read.step(onDelta, Infinity);
    return read.deltas;
  }

  /**
   * The same, a slice at a time (FlowRead.step): a large table is turned
   * into records over several turns of the event loop. Reads must be
   * finished in the order they were begun.
   */
  read(table: FlowTable, intervalStartNs: number, intervalEndNs: number): FlowRead {
    return new FlowRead(table, intervalStartNs, intervalEndNs, this.previous, (current) => {
      this.previous = current;
    });
  }
}

/** One read of the flow table being turned into deltas. */
export class FlowRead {
  /** Deltas handed on so far. */
  deltas = 0;
  /** The next flow of the table to go through; -1 once done. */
  private next = 0;
  private readonly current: Counts;

  constructor(
    private readonly table: FlowTable,
    readonly intervalStartNs: number,
    readonly intervalEndNs: number,
    private readonly before: Counts,
    private readonly finished: (current: Counts) => void,
  ) {
    this.current = new Counts(table.size);
  }

  /** Whether the whole table was gone through. */
  get done(): boolean {
    return this.next < 0;
  }

  /**
   * Goes through up to `flows` more flows of the table, handing each that
   * saw packets to `onDelta`. Returns true when the table is done (its
   * counts are then the ones the next read compares with).
   */
  step(onDelta: (delta: FlowDelta) => void, flows: number): boolean {
    const { table, before, current, intervalStartNs, intervalEndNs } = this;
    if (this.next < 0) return true;
    const end = Math.min(table.size, this.next + flows);
    for (let i = this.next; i < end; i++) {
      const key = table.key(i);
      const packets = table.packets(i);
      const bytes = table.bytes(i);
      const droppedPackets = table.droppedPackets(i);
      const droppedBytes = table.droppedBytes(i);
      const firstSeenNs = table.firstSeenNs(i);
      const row = i * COUNTS;
      current.rows.set(key, row);
      current.columns[row + PACKETS] = packets;
      current.columns[row + BYTES] = bytes;
      current.columns[row + DROPPED_PACKETS] = droppedPackets;
      current.columns[row + DROPPED_BYTES] = droppedBytes;
      current.columns[row + FIRST_SEEN] = firstSeenNs;

      const found = before.rows.get(key);
      const last = found ?? 0;
      const was = before.columns;
      const restarted = found === undefined || packets < (was[last + PACKETS] as number) || firstSeenNs !== was[last + FIRST_SEEN];
      const newPackets = restarted ? packets : packets - (was[last + PACKETS] as number);
      if (newPackets === 0) continue;
      const flow = table.entry(i);
      const startNs = restarted ? Math.max(firstSeenNs, intervalStartNs) : intervalStartNs;
      // The kernel stamps flows with the coarse clock (one tick, up to 4 ms,
      // behind the interval's bounds): the end never precedes the start.
      const endNs = Math.max(startNs, Math.min(flow.lastSeenNs, intervalEndNs) || intervalEndNs);
      this.deltas++;
      onDelta({
        ...flow,
        packets: newPackets,
        bytes: restarted ? bytes : bytes - (was[last + BYTES] as number),
        droppedPackets: restarted ? droppedPackets : droppedPackets - (was[last + DROPPED_PACKETS] as number),
        droppedBytes: restarted ? droppedBytes : droppedBytes - (was[last + DROPPED_BYTES] as number),
        intervalStartNs: startNs,
        intervalEndNs: endNs,
      });
    }
    this.next = end;
    if (end < table.size) return false;
    // Once: the counts become the next read's.
    this.next = -1;
    this.finished(current);
    return true;
  }
}
