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
  /** Waiting events, oldest first, from `head` on (the released prefix is dropped lazily). */
  private sorted: T[] = [];
  private head = 0;
  /** Arrived out of order (older than the newest waiting event) since the last release, in arrival order. */
  private incoming: T[] = [];
  /** Events that arrived after newer ones had already been released. */
  late = 0;
  private releasedUpTo = 0;

  /** @param windowNs how long an event may wait for older ones to arrive */
  constructor(private readonly windowNs: number) {}

  push(event: T): void {
    if (event.tsNs < this.releasedUpTo) this.late++;
    const { sorted } = this;
    // In order (most events: one ring, one CPU at a time) it goes straight to its place. Every event that
    // waits in `incoming` is older than the newest sorted one, so this never passes one of equal time.
    if (this.head === sorted.length || event.tsNs >= (sorted[sorted.length - 1] as T).tsNs) {
      sorted.push(event);
      return;
    }
    this.incoming.push(event);
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
    return this.sorted.length - this.head + this.incoming.length;
  }

  private releaseUpTo(limitNs: number, emit: (event: T) => void): void {
    if (this.incoming.length > 0) this.mergeIncoming();
    const { sorted } = this;
    let at = this.head;
    while (at < sorted.length && (sorted[at] as T).tsNs <= limitNs) at++;
    if (at === this.head) return;
    this.releasedUpTo = Math.max(this.releasedUpTo, (sorted[at - 1] as T).tsNs);
    // Advance before emitting: an emit may push (never re-enter release).
    const from = this.head;
    this.head = at;
    for (let i = from; i < at; i++) emit(sorted[i] as T);
    if (this.head === sorted.length) {
      sorted.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > sorted.length) {
      // In place: a copy of a flood's window is a large object, allocated and freed with the pages under it.
      sorted.copyWithin(0, this.head);
      sorted.length -= this.head;
      this.head = 0;
    }
  }

  /**
   * Sorts what arrived since the last release (small, and nearly in order:
   * each ring is in order) and merges it into the waiting events: every
   * release would otherwise sort the whole window again. Only the waiting
   * events newer than the oldest arrival are merged again (a few, from
   * another ring or CPU), in place: a new array the size of a flood's window
   * at each release was a large object every 50 ms. Both sorts are stable
   * and ties keep the waiting event first, so equal timestamps keep arrival
   * order.
   */
  private mergeIncoming(): void {
    const incoming = this.incoming.sort((a, b) => a.tsNs - b.tsNs);
    this.incoming = [];
    const waiting = this.sorted;
    if (this.head === waiting.length) {
      this.sorted = incoming;
      this.head = 0;
      return;
    }
    // The first waiting event newer than the oldest arrival: those before it stay where they are.
    const oldest = (incoming[0] as T).tsNs;
    let low = this.head;
    let high = waiting.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((waiting[middle] as T).tsNs <= oldest) low = middle + 1;
      else high = middle;
    }
    const tail = waiting.length > low ? waiting.slice(low) : [];
    waiting.length = low;
    let i = 0;
    let j = 0;
    while (i < tail.length && j < incoming.length) {
      waiting.push((incoming[j] as T).tsNs < (tail[i] as T).tsNs ? (incoming[j++] as T) : (tail[i++] as T));
    }
    while (i < tail.length) waiting.push(tail[i++] as T);
    while (j < incoming.length) waiting.push(incoming[j++] as T);
  }
}
