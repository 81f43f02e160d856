/** Per-second rate of a growing counter, from samples taken about once a second. */
export class RateMeter {
  private last: { total: number; at: number } | null = null;
  /** Units per second between the last two samples. */
  rate = 0;

  sample(total: number, at: number): void {
    if (this.last && at > this.last.at) {
      this.rate = Math.max(0, ((total - this.last.total) * 1000) / (at - this.last.at));
    }
    this.last = { total, at };
  }
}
