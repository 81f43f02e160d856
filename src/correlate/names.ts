/**
 * The name indexes: which hostname an address stands for. Two bounded LRU
 * caches, per process `(pid, address) -> name` and global `address -> most
 * recent name`, each entry living for the DNS TTL where the wire gave one
 * and at least `minTtlSeconds`. Time is the kernel's (events are applied in
 * timestamp order), so expiry is deterministic and replayable.
 */
import { LRUCache } from 'lru-cache';
import type { HostSource } from '../records/types.js';

export interface NameIndexOptions {
  /** Entries of the per-process index. @default 65536 */
  processEntries?: number;
  /** Entries of the global index. @default 65536 */
  globalEntries?: number;
  /** Shortest life of an entry, and the life of one without a known TTL (getaddrinfo). @default 300 */
  minTtlSeconds?: number;
}

export interface NameMatch {
  host: string;
  source: HostSource;
}

export class NameIndex {
  private nowMs = 0;
  // lru-cache reads a start time of 0 as "never expires": keep the clock above it.
  private readonly clock = { now: () => this.nowMs + 1 };
  private readonly byProcess: LRUCache<string, string>;
  private readonly global: LRUCache<string, string>;
  private readonly minTtlMs: number;

  constructor(options: NameIndexOptions = {}) {
    this.minTtlMs = (options.minTtlSeconds ?? 300) * 1000;
    const common = { ttlResolution: 0, perf: this.clock, ttlAutopurge: false } as const;
    this.byProcess = new LRUCache<string, string>({ max: options.processEntries ?? 65536, ...common });
    this.global = new LRUCache<string, string>({ max: options.globalEntries ?? 65536, ...common });
  }

  /** Moves the index's clock to an event's kernel time; time never goes back. */
  advanceTo(monotonicNs: number): void {
    this.nowMs = Math.max(this.nowMs, monotonicNs / 1e6);
  }

  private ttlMs(ttlSeconds: number | null): number {
    return Math.max(this.minTtlMs, (ttlSeconds ?? 0) * 1000);
  }

  /** A process resolved `host` to `addrs` (getaddrinfo): both indexes learn it. */
  learnFromProcess(pid: number, host: string, addrs: readonly string[], ttlSeconds: number | null): void {
    const ttl = this.ttlMs(ttlSeconds);
    for (const addr of addrs) {
      this.byProcess.set(`${pid}|${addr}`, host, { ttl });
      this.global.set(addr, host, { ttl });
    }
  }

  /** An answer seen on the wire, of no known process: only the global index learns it. */
  learnFromWire(host: string, addrTtls: ReadonlyArray<readonly [string, number | null]>): void {
    for (const [addr, ttlSeconds] of addrTtls) this.global.set(addr, host, { ttl: this.ttlMs(ttlSeconds) });
  }

  /** The process's own lookup first, then the most recent name of the address anywhere. */
  resolve(pid: number | null, addr: string): NameMatch | null {
    if (pid !== null) {
      const own = this.byProcess.get(`${pid}|${addr}`);
      if (own !== undefined) return { host: own, source: 'process' };
    }
    const global = this.global.get(addr);
    return global === undefined ? null : { host: global, source: 'global' };
  }

  /** Name of an address from the global index only (flows have no process). */
  nameOf(addr: string): string | null {
    return this.global.get(addr) ?? null;
  }

  /** Every address the global index names now (control socket `list-hosts`). */
  hosts(): Array<{ addr: string; host: string }> {
    return [...this.global.entries()].map(([addr, host]) => ({ addr, host }));
  }

  get sizes(): { process: number; global: number } {
    return { process: this.byProcess.size, global: this.global.size };
  }
}
