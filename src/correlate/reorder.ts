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
  /** Arrived since the last release, in arrival order. */
  private incoming: T[] = [];
  /** Events that arrived after newer ones had already been released. */
  late = 0;
  private releasedUpTo = 0;

  /** @param windowNs how long an event may wait for older ones to arrive */
  constructor(private readonly windowNs: number) {}

  push(event: T): void {
    if (event.tsNs < this.releasedUpTo) this.late++;
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
      this.sorted = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > sorted.length) {
      this.sorted = sorted.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Sorts what arrived since the last release (small, and nearly in order:
   * each ring is in order) and merges it into the waiting events: every
   * release would otherwise sort the whole window again. Both sorts are
   * stable and ties keep the waiting event first, so equal timestamps keep
   * arrival order.
   */
  private mergeIncoming(): void {
    const incoming = this.incoming.sort((a, b) => a.tsNs - b.tsNs);
    this.incoming = [];
    const waiting = this.sorted;
    const last = waiting[waiting.length - 1];
    if (this.head === waiting.length) {
      this.sorted = incoming;
      this.head = 0;
      return;
    }
    if (last && (incoming[0] as T).tsNs >= last.tsNs) {
      for (const event of incoming) waiting.push(event);
      return;
    }
    // Made at its final size: grown push by push it was copied a dozen times over at a flood's rate.
    const merged = new Array<T>(waiting.length - this.head + incoming.length);
    let i = this.head;
    let j = 0;
    let k = 0;
    while (i < waiting.length && j < incoming.length) {
      merged[k++] = (incoming[j] as T).tsNs < (waiting[i] as T).tsNs ? (incoming[j++] as T) : (waiting[i++] as T);
    }
    while (i < waiting.length) merged[k++] = waiting[i++] as T;
    while (j < incoming.length) merged[k++] = incoming[j++] as T;
    this.sorted = merged;
    this.head = 0;
  }
}
