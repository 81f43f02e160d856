/**
 * The name indexes: which hostname an address stands for. Two bounded LRU
 * maps, per process `(pid, address) -> name` and global `address -> most
 * recent name`, each entry living for the DNS TTL where the wire gave one
 * and at least `minTtlSeconds`. Time is the kernel's (events are applied in
 * timestamp order), so expiry is deterministic and replayable.
 *
 * An entry is its own match object, expiry included: resolve hands out the
 * entry itself (no object per connection), and an entry costs one object
 * and a Map slot (lru-cache kept five arrays as long as the bound besides).
 */
import type { HostSource } from '../records/types.js';
import { BoundedMap } from './bounded-map.js';
import { flatKey } from './flat-key.js';

/** The defaults of NameIndexOptions: their one home (the CLI takes them from here). */
export const NAME_INDEX_DEFAULTS: Required<NameIndexOptions> = { processEntries: 65536, globalEntries: 65536, minTtlSeconds: 300 };

export interface NameIndexOptions {
  /** Entries of the per-process index. @default 65536 */
  processEntries?: number;
  /** Entries of the global index. @default 65536 */
  globalEntries?: number;
  /** Shortest life of an entry, and the life of one without a known TTL (getaddrinfo). @default 300 */
  minTtlSeconds?: number;
}

/** Shared by every connection the entry names: never changed. */
export interface NameMatch {
  readonly host: string;
  readonly source: HostSource;
}

interface NameEntry extends NameMatch {
  /** Index time (ms) after which the entry is stale. */
  readonly expiresMs: number;
}

/** One resolution as the index learned it (for NameIndex.onLearn). */
export interface LearnedName {
  host: string;
  /** The CNAME targets followed from `host` (wire answers), in order; [] when none or unknown. */
  aliases: readonly string[];
  addrs: readonly string[];
}

export class NameIndex {
  private nowMs = 0;
  private readonly byProcess: BoundedMap<string, NameEntry>;
  private readonly global: BoundedMap<string, NameEntry>;
  private readonly minTtlMs: number;
  private readonly learnListeners = new Set<(learned: LearnedName) => void>();
  /**
   * Entries of the per-process index by pid: a connection of a process
   * that resolved nothing (a server's accepted ones, an address dialled
   * directly) skips building its `pid|address` key to look it up.
   */
  private readonly entriesByPid = new Map<number, number>();

  constructor(options: NameIndexOptions = {}) {
    this.minTtlMs = (options.minTtlSeconds ?? NAME_INDEX_DEFAULTS.minTtlSeconds) * 1000;
    this.byProcess = new BoundedMap(options.processEntries ?? NAME_INDEX_DEFAULTS.processEntries, (key) => this.forgetProcessEntry(key));
    this.global = new BoundedMap(options.globalEntries ?? NAME_INDEX_DEFAULTS.globalEntries);
  }

  /** Names pushed out by the bounds (the least recently used), per index. */
  get evicted(): { process: number; global: number } {
    return { process: this.byProcess.evicted, global: this.global.evicted };
  }

  /** The bounds of `sizes`. */
  get capacities(): { process: number; global: number } {
    return { process: this.byProcess.max, global: this.global.max };
  }

  /** Entries held (expired ones included until they are read or pushed out). */
  get sizes(): { process: number; global: number } {
    return { process: this.byProcess.size, global: this.global.size };
  }

  /** Moves the index's clock to an event's kernel time; time never goes back. */
  advanceTo(monotonicNs: number): void {
    this.nowMs = Math.max(this.nowMs, monotonicNs / 1e6);
  }

  private expiry(ttlSeconds: number | null): number {
    return this.nowMs + Math.max(this.minTtlMs, (ttlSeconds ?? 0) * 1000);
  }

  /** A live entry, now the most recently used; a stale one is dropped. */
  private live(index: BoundedMap<string, NameEntry>, key: string): NameEntry | undefined {
    const entry = index.get(key);
    if (entry === undefined || entry.expiresMs >= this.nowMs) return entry;
    index.delete(key);
    if (index === this.byProcess) this.forgetProcessEntry(key);
    return undefined;
  }

  /** A `pid|address` entry left the per-process index. */
  private forgetProcessEntry(key: string): void {
    const pid = Number(key.slice(0, key.indexOf('|')));
    const left = (this.entriesByPid.get(pid) ?? 1) - 1;
    if (left > 0) this.entriesByPid.set(pid, left);
    else this.entriesByPid.delete(pid);
  }

  /** Live entries, without touching their recency. */
  private *liveEntries(index: BoundedMap<string, NameEntry>): IterableIterator<[string, NameEntry]> {
    for (const entry of index.entries()) if (entry[1].expiresMs >= this.nowMs) yield entry;
  }

  /**
   * A process resolved `host` to `addrs` (getaddrinfo, or an answer to a
   * query its own socket sent): both indexes learn it.
   */
  learnFromProcess(pid: number, host: string, addrs: readonly string[], ttlSeconds: number | null, aliases: readonly string[] = []): void {
    const expiresMs = this.expiry(ttlSeconds);
    for (const addr of addrs) {
      const key = flatKey(`${pid}|${addr}`);
      if (!this.byProcess.has(key)) this.entriesByPid.set(pid, (this.entriesByPid.get(pid) ?? 0) + 1);
      this.byProcess.set(key, { host, source: 'process', expiresMs });
      this.global.set(addr, { host, source: 'global', expiresMs });
    }
    this.notify({ host, aliases, addrs });
  }

  /** An answer seen on the wire at an interface, of no known process: only the global index learns it. */
  learnFromWire(host: string, addrTtls: ReadonlyArray<readonly [string, number | null]>, aliases: readonly string[] = []): void {
    for (const [addr, ttlSeconds] of addrTtls) this.global.set(addr, { host, source: 'global', expiresMs: this.expiry(ttlSeconds) });
    this.notify({ host, aliases, addrs: addrTtls.map(([addr]) => addr) });
  }

  /**
   * Calls `listener` with every resolution learned from now on (the control
   * socket's block-host follows names with it); returns the unsubscribe.
   * A listener that throws is its own problem: the index carries on.
   */
  onLearn(listener: (learned: LearnedName) => void): () => void {
    this.learnListeners.add(listener);
    return () => this.learnListeners.delete(listener);
  }

  private notify(learned: LearnedName): void {
    if (learned.addrs.length === 0) return;
    for (const listener of this.learnListeners) {
      try {
        listener(learned);
      } catch {
        // Naming must not stop because a follower failed.
      }
    }
  }

  /** Every address either index holds now for a name `matches` accepts (block-host's "now"). */
  addrsOf(matches: (host: string) => boolean): string[] {
    const addrs = new Set<string>();
    for (const [addr, { host }] of this.liveEntries(this.global)) if (matches(host)) addrs.add(addr);
    for (const [key, { host }] of this.liveEntries(this.byProcess)) if (matches(host)) addrs.add(key.slice(key.indexOf('|') + 1));
    return [...addrs];
  }

  /** The process's own lookup first, then the most recent name of the address anywhere. */
  resolve(pid: number | null, addr: string): NameMatch | null {
    if (pid !== null && this.entriesByPid.has(pid)) {
      const own = this.live(this.byProcess, `${pid}|${addr}`);
      if (own !== undefined) return own;
    }
    return this.live(this.global, addr) ?? null;
  }

  /** Name of an address from the global index only (flows have no process). */
  nameOf(addr: string): string | null {
    return this.live(this.global, addr)?.host ?? null;
  }

  /** Every address the global index names now (control socket `list-hosts`), most recently used last. */
  hosts(): Array<{ addr: string; host: string }> {
    return [...this.liveEntries(this.global)].map(([addr, { host }]) => ({ addr, host }));
  }
}
