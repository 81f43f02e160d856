/**
 * Aggregation per hostname: who resolved or reached it, how many
 * connections, how many bytes, and its wire rate over the last flow
 * interval. Connections and flows whose remote address has no name share
 * one row. Bounded: the least recently seen host is dropped first.
 */
import { pushRecent, trimOldest } from './recent.js';
import { UNRESOLVED_KEY, type HostRow } from './rows.js';

const PROCESSES_KEPT = 8;
const PIDS_KEPT = 16;
const ADDRESSES_KEPT = 16;

interface HostEntry extends Omit<HostRow, 'open' | 'processes' | 'pids' | 'addresses'> {
  processes: string[];
  pids: number[];
  addresses: string[];
  /** Wire bytes of the flow interval being filled. */
  fillingIn: number;
  fillingOut: number;
}

export class HostsTable {
  /** Insertion order is recency order: a touched entry moves to the end. */
  private entries = new Map<string, HostEntry>();

  /** @param limit hosts kept (a tenth more between trims) */
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  private touch(host: string | null, at: number): HostEntry {
    const key = host ?? UNRESOLVED_KEY;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = {
        key,
        host,
        processes: [],
        pids: [],
        addresses: [],
        connections: 0,
        lookups: 0,
        bytesIn: 0,
        bytesOut: 0,
        wireIn: 0,
        wireOut: 0,
        fillingIn: 0,
        fillingOut: 0,
        rateIn: 0,
        rateOut: 0,
        lastSeen: at,
      };
    }
    entry.lastSeen = Math.max(entry.lastSeen, at);
    this.entries.set(key, entry);
    trimOldest(this.entries, this.limit);
    return entry;
  }

  private process(entry: HostEntry, comm: string | null, pid: number | null): void {
    if (comm !== null) pushRecent(entry.processes, comm, PROCESSES_KEPT);
    if (pid !== null) pushRecent(entry.pids, pid, PIDS_KEPT);
  }

  lookup(host: string, addrs: readonly string[], comm: string | null, pid: number | null, at: number): void {
    const entry = this.touch(host, at);
    entry.lookups++;
    this.process(entry, comm, pid);
    for (let i = addrs.length - 1; i >= 0; i--) pushRecent(entry.addresses, addrs[i] as string, ADDRESSES_KEPT);
  }

  /** A connection was seen; `isNew` when it was not counted before (its open, or a close without one). */
  connection(
    host: string | null,
    remoteAddress: string,
    comm: string | null,
    pid: number | null,
    at: number,
    isNew: boolean,
    closed?: { bytesIn: number; bytesOut: number },
  ): void {
    const entry = this.touch(host, at);
    if (isNew) entry.connections++;
    this.process(entry, comm, pid);
    pushRecent(entry.addresses, remoteAddress, ADDRESSES_KEPT);
    if (closed) {
      entry.bytesIn += closed.bytesIn;
      entry.bytesOut += closed.bytesOut;
    }
  }

  /** A connection counted under `from` (null: the unresolved group) got the name `host` late: it moves there. */
  renamed(from: string | null, host: string, remoteAddress: string, comm: string | null, pid: number | null, at: number): void {
    const previous = this.entries.get(from ?? UNRESOLVED_KEY);
    if (previous && previous.connections > 0) previous.connections--;
    this.connection(host, remoteAddress, comm, pid, at, true);
  }

  /** Wire bytes to (`out`) or from (`in`) a host in the interval being filled. */
  flow(host: string | null, remoteAddress: string, direction: 'in' | 'out', bytes: number, comm: string | null, pid: number | null, at: number): void {
    const entry = this.touch(host, at);
    this.process(entry, comm, pid);
    pushRecent(entry.addresses, remoteAddress, ADDRESSES_KEPT);
    if (direction === 'in') {
      entry.wireIn += bytes;
      entry.fillingIn += bytes;
    } else {
      entry.wireOut += bytes;
      entry.fillingOut += bytes;
    }
  }

  /** The flow interval ended: its bytes become every host's rate. */
  endInterval(seconds: number): void {
    for (const entry of this.entries.values()) {
      entry.rateIn = entry.fillingIn / seconds;
      entry.rateOut = entry.fillingOut / seconds;
      entry.fillingIn = 0;
      entry.fillingOut = 0;
    }
  }

  /** Rows as of now; `openOf` counts the live connections of a host key. */
  rows(openOf: (key: string) => number): HostRow[] {
    const rows: HostRow[] = [];
    for (const entry of this.entries.values()) {
      const { fillingIn: _in, fillingOut: _out, ...row } = entry;
      rows.push({ ...row, processes: [...entry.processes], pids: [...entry.pids], addresses: [...entry.addresses], open: openOf(entry.key) });
    }
    return rows;
  }

  clear(): void {
    this.entries.clear();
  }
}
