/**
 * Events reach user space from several ring buffers and CPUs, slightly out
 * of order. They wait here for a short window and leave in kernel-timestamp
 * order, so a connection is never correlated before the lookup that
 * preceded it.
 */

export interface Timestamped {
  tsNs: number;
}

export class ReorderBuffer<T extends Timestamped> {
  private pending: T[] = [];
  /** Events that arrived after newer ones had already been released. */
  late = 0;
  private releasedUpTo = 0;

  /** @param windowNs how long an event may wait for older ones to arrive */
  constructor(private readonly windowNs: number) {}

  push(event: T): void {
    if (event.tsNs < this.releasedUpTo) this.late++;
    this.pending.push(event);
  }

  /** Releases, oldest first, every event older than `nowNs - window`. */
  release(nowNs: number, emit: (event: T) => void): void {
    this.releaseUpTo(nowNs - this.windowNs, emit);
  }

  /** Releases everything, oldest first (at shutdown). */
  flush(emit: (event: T) => void): void {
    this.releaseUpTo(Infinity, emit);
  }

  get size(): number {
    return this.pending.length;
  }

  private releaseUpTo(limitNs: number, emit: (event: T) => void): void {
    if (this.pending.length === 0) return;
    // Array.prototype.sort is stable: equal timestamps keep arrival order.
    this.pending.sort((a, b) => a.tsNs - b.tsNs);
    let count = 0;
    while (count < this.pending.length && (this.pending[count] as T).tsNs <= limitNs) count++;
    if (count === 0) return;
    const ready = this.pending.slice(0, count);
    this.pending = this.pending.slice(count);
    const last = ready[ready.length - 1] as T;
    this.releasedUpTo = Math.max(this.releasedUpTo, last.tsNs);
    for (const event of ready) emit(event);
  }
}
