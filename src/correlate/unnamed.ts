/**
 * Open connections that have no name yet, waiting for a late one: by
 * 4-tuple (a TLS ClientHello or HTTP request names its own connection) and
 * by remote address (a DNS answer names every connection to it). Bounded
 * LRU; an entry leaves when it is named, closes or is pushed out.
 */
import { BoundedMap } from './bounded-map.js';

export interface Unnamed<T> {
  /** The connection's local|lport|remote|rport key. */
  key: string;
  /** Its remote address. */
  addr: string;
  /** Kernel time it opened. */
  openedNs: number;
  value: T;
}

export class UnnamedConnections<T> {
  private readonly byKey: BoundedMap<string, Unnamed<T>>;
  private readonly byAddr = new Map<string, Set<string>>();

  /**
   * @param max connections kept
   * @param onEvict called for each one pushed out by the bound before it was named or closed
   */
  constructor(max: number, onEvict: () => void = () => {}) {
    this.byKey = new BoundedMap<string, Unnamed<T>>(max, (key, entry) => {
      this.forgetAddress(key, entry.addr);
      onEvict();
    });
  }

  private forgetAddress(key: string, addr: string): void {
    const keys = this.byAddr.get(addr);
    keys?.delete(key);
    if (keys?.size === 0) this.byAddr.delete(addr);
  }

  private remove(entry: Unnamed<T>): void {
    this.byKey.delete(entry.key);
    this.forgetAddress(entry.key, entry.addr);
  }

  get size(): number {
    return this.byKey.size;
  }

  get capacity(): number {
    return this.byKey.max;
  }

  add(entry: Unnamed<T>): void {
    const replaced = this.byKey.peek(entry.key);
    if (replaced) this.remove(replaced);
    this.byKey.set(entry.key, entry);
    let keys = this.byAddr.get(entry.addr);
    if (!keys) this.byAddr.set(entry.addr, (keys = new Set()));
    keys.add(entry.key);
  }

  /** The connection with this key, left waiting. */
  peek(key: string): Unnamed<T> | undefined {
    return this.byKey.peek(key);
  }

  /** Removes and returns the connection with this key. */
  take(key: string): Unnamed<T> | undefined {
    const entry = this.byKey.peek(key);
    if (entry) this.remove(entry);
    return entry;
  }

  /**
   * Removes and returns the connections to `addr` that opened at most
   * `windowNs` before `nowNs`; older ones stay (a ClientHello may still
   * name them).
   */
  takeByAddress(addr: string, nowNs: number, windowNs: number): Array<Unnamed<T>> {
    const keys = this.byAddr.get(addr);
    if (!keys) return [];
    const taken: Array<Unnamed<T>> = [];
    for (const key of [...keys]) {
      const entry = this.byKey.peek(key);
      if (entry && nowNs - entry.openedNs <= windowNs) {
        taken.push(entry);
        this.remove(entry);
      }
    }
    return taken;
  }
}
