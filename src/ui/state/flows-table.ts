/**
 * Flows of the last interval. A session writes one interval's flow
 * records in one burst; they fill the next interval, and `endInterval`
 * (called between frames, never within a burst) makes it the one shown,
 * keeping the top talkers by bytes.
 */
import type { FlowRow } from './rows.js';

/** An interval collects up to this many times the limit before the smallest are let go. */
const FILLING_FACTOR = 4;

export class FlowsTable {
  private filling: FlowRow[] = [];
  private current: FlowRow[] = [];
  /** When the shown interval was taken (epoch ms), 0 before the first. */
  endedAt = 0;
  /** Flows of the shown interval not kept because of the limit. */
  omitted = 0;
  private fillingOmitted = 0;

  /** @param limit flows of one interval kept (the top ones by bytes) */
  constructor(private readonly limit: number) {}

  add(row: FlowRow): void {
    this.filling.push(row);
    if (this.filling.length >= this.limit * FILLING_FACTOR) {
      // Keep the top ones so far: the memory stays bounded and no top talker is lost.
      this.filling.sort((a, b) => b.bytes - a.bytes);
      this.fillingOmitted += this.filling.length - this.limit;
      this.filling.length = this.limit;
    }
  }

  /** True when there was a burst to end. */
  get pending(): boolean {
    return this.filling.length > 0 || this.fillingOmitted > 0;
  }

  endInterval(now: number): void {
    const rows = this.filling;
    rows.sort((a, b) => b.bytes - a.bytes);
    this.omitted = this.fillingOmitted + Math.max(0, rows.length - this.limit);
    this.current = rows.length > this.limit ? rows.slice(0, this.limit) : rows;
    this.filling = [];
    this.fillingOmitted = 0;
    this.endedAt = now;
  }

  rows(): readonly FlowRow[] {
    return this.current;
  }

  clear(): void {
    this.filling = [];
    this.current = [];
    this.omitted = 0;
    this.fillingOmitted = 0;
  }
}
