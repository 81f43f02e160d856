/**
 * Live TCP connections and UDP conversations and the recently closed ones,
 * by socket tuple: an open record adds a live row, its close record moves
 * it to the closed ones, which stay listed for a while. Rows are immutable
 * (a close makes a new row), so a paused screen can keep them. Bounded on
 * both sides.
 */
import { trimOldest } from './recent.js';
import type { ConnRow } from './rows.js';

export interface ConnectionLimits {
  /** Live connections kept, the oldest dropped beyond (a tenth more between trims). */
  live: number;
  /** Closed connections kept (a tenth more between trims). */
  closed: number;
  /** How long a closed connection stays listed, in ms. */
  closedRetentionMs: number;
}

export function connectionKey(direction: string, localAddress: string, localPort: number, remoteAddress: string, remotePort: number): string {
  return `${direction}|${localAddress}|${localPort}|${remoteAddress}|${remotePort}`;
}

export class ConnectionsTable {
  private live = new Map<string, ConnRow>();
  /** Insertion order is closing order. */
  private closed = new Map<string, ConnRow>();
  /** Live connections dropped because of the limit. */
  dropped = 0;

  constructor(private readonly limits: ConnectionLimits) {}

  get liveCount(): number {
    return this.live.size;
  }

  get closedCount(): number {
    return this.closed.size;
  }

  /** Adds an open connection; false when it was already listed as live. */
  open(row: ConnRow): boolean {
    const known = this.live.has(row.key);
    this.closed.delete(row.key);
    this.live.set(row.key, row);
    this.dropped += trimOldest(this.live, this.limits.live);
    return !known;
  }

  /**
   * Closes a connection: the closed row takes what the open knew (its
   * time, latency, name) where the close record does not say. Returns
   * whether the open had been seen.
   */
  close(row: ConnRow): boolean {
    const opened = this.live.get(row.key);
    this.live.delete(row.key);
    this.closed.delete(row.key);
    const merged: ConnRow = opened
      ? {
          ...row,
          openedAt: opened.openedAt,
          connectLatencyMs: row.connectLatencyMs ?? opened.connectLatencyMs,
          host: row.host ?? opened.host,
          hostSource: row.hostSource ?? opened.hostSource,
          unresolved: (row.host ?? opened.host) === null ? (row.unresolved ?? opened.unresolved) : null,
          pid: row.pid ?? opened.pid,
          ppid: row.ppid ?? opened.ppid,
          comm: row.comm ?? opened.comm,
          exe: row.exe ?? opened.exe,
          cmdline: row.cmdline ?? opened.cmdline,
          iface: row.iface ?? opened.iface,
        }
      : row;
    this.closed.set(row.key, merged);
    trimOldest(this.closed, this.limits.closed);
    return opened !== undefined;
  }

  /**
   * A live connection got its name late (a `named` record): its row takes
   * the name. Returns the row as it was, or undefined when it is not live.
   */
  name(key: string, host: string | null, hostSource: string | null): ConnRow | undefined {
    const row = this.live.get(key);
    if (row) this.live.set(key, { ...row, host, hostSource, unresolved: null });
    return row;
  }

  /** Forgets closed connections older than the retention. */
  expire(now: number): void {
    const before = now - this.limits.closedRetentionMs;
    for (const [key, row] of this.closed) {
      if ((row.closedAt ?? 0) >= before) break;
      this.closed.delete(key);
    }
  }

  /** Live connections per host key (a null host counts under `unresolvedKey`). */
  openByHost(unresolvedKey: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const row of this.live.values()) {
      const key = row.host ?? unresolvedKey;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  rows(): ConnRow[] {
    return [...this.live.values(), ...this.closed.values()];
  }

  clear(): void {
    this.live.clear();
    this.closed.clear();
    this.dropped = 0;
  }
}
