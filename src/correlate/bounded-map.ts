/**
 * A Map with a bound on its entries: past `max`, the least recently used
 * entry goes, and is counted. For the per-connection tables, which empty
 * out between connections.
 *
 * Not lru-cache for these: lru-cache allocates arrays as long as `max` up
 * front (about 24 bytes per slot, used or not) and refills them whenever
 * its last entry is deleted. A table that holds one connection at a time
 * under a flood and is sized for 262,144 refilled 6 MB per connection; that
 * refill was 63% of the main thread at 10 k connections/s. A Map costs per
 * entry held, and its insertion order is the recency order: `get` moves an
 * entry to the end, the first entry is the one to evict.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Entries pushed out by the bound. */
  evicted = 0;

  /**
   * @param max entries kept (at least 1)
   * @param onEvict called with each entry the bound pushed out
   */
  constructor(
    readonly max: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`a bounded map holds at least 1 entry, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** The value, its recency left alone. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets the value as the most recently used; evicts the least recently used past the bound. */
  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) {
      const oldest = this.map.entries().next().value;
      if (oldest !== undefined) {
        this.map.delete(oldest[0]);
        this.evicted++;
        this.onEvict?.(oldest[0], oldest[1]);
      }
    }
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Least recently used first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  clear(): void {
    this.map.clear();
  }
}
