/** The most recent name resolutions, a fixed-size ring. */
import type { DnsRow } from './rows.js';

export class DnsTable {
  private ring: DnsRow[] = [];
  private next = 0;

  /** @param limit lookups kept */
  constructor(private readonly limit: number) {}

  add(row: DnsRow): void {
    if (this.ring.length < this.limit) {
      this.ring.push(row);
      return;
    }
    this.ring[this.next] = row;
    this.next = (this.next + 1) % this.limit;
  }

  /** Oldest first. */
  rows(): DnsRow[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  get size(): number {
    return this.ring.length;
  }

  clear(): void {
    this.ring = [];
    this.next = 0;
  }
}
