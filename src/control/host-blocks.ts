/**
 * Blocking by name (`block-host NAME`): which addresses each blocked name
 * holds in the XDP blocklist, so that `unblock-host` removes only what no
 * other rule needs. An address is one /32 or /128 blocklist entry, shared:
 * several names may hold it, and block-src (or --block at start) may want
 * it too; the entry leaves the kernel when its last holder lets go.
 *
 * Addresses come in from the caller (the name index now, an active
 * lookup: block-host.ts; every name learned later: control-service.ts), so this is
 * pure bookkeeping over a blocklist given as two functions. Bounded: at
 * most `maxNames` names and `maxAddrsPerName` addresses each; what does
 * not fit is refused and counted, never silently lost.
 */
import { isIP } from 'node:net';
import { firstLine } from '../errors.js';
import { parsePrefix } from '../kernel/prefix.js';
import { hostMatches, parseHostPattern, type HostPattern } from './host-pattern.js';

/** The blocklist operations host blocks use (Tracer.blocklist). */
export interface AddressBlocklist {
  /** Throws with a message for the user when the list is full or the map update fails. */
  block(prefix: string): { prefix: string; added: boolean };
  unblock(prefix: string): unknown;
}

export interface HostBlocksOptions {
  /** Names blocked at once; more are refused. @default 64 */
  maxNames?: number;
  /** Addresses blocked for one name; more are refused. @default 256 */
  maxAddrsPerName?: number;
  now?: () => number;
}

export interface HostBlockStats {
  /** block-host refused: too many names. */
  namesRefused: number;
  /** Addresses not blocked because their name already held maxAddrsPerName. */
  addrsRefused: number;
  /** Addresses that cannot be a packet's source (0.0.0.0, ::) or are not addresses. */
  addrsSkipped: number;
  /** Addresses the blocklist refused (full) or failed to take. */
  blockFailures: number;
  /** Addresses added after block-host answered, from names learned later. */
  addrsLearned: number;
}

export interface HostBlockRow {
  name: string;
  /** Addresses blocked for this name, IPv4 first. */
  addrs: string[];
  addedMs: number;
  /** Addresses this name could not take (bound or blocklist failure). */
  refused: number;
}

export interface AddResult {
  /** Addresses this call newly blocked for the name. */
  added: string[];
  refused: number;
  /** One message per address the blocklist would not take. */
  failures: string[];
}

export interface RemoveResult {
  name: string;
  /** Addresses removed from the blocklist. */
  released: string[];
  /** Addresses that stay blocked, and for whom: other names, or 'block-src'. */
  kept: Array<{ addr: string; for: string[] }>;
}

interface Rule {
  pattern: HostPattern;
  /** Canonical prefix ('192.0.2.1/32') -> address text. */
  prefixes: Map<string, string>;
  addedMs: number;
  refused: number;
}

const UNSPECIFIED = new Set(['0.0.0.0/32', '::/128']);

/**
 * The blocklist entry an address stands for ('192.0.2.1/32'); an
 * IPv4-mapped IPv6 address is the IPv4 one, as the blocklist keys it. Null
 * for text that is not an address.
 */
export function addressPrefix(addr: string): string | null {
  if (isIP(addr.replace(/%.*$/, '')) === 0) return null;
  const { family, bytes, text } = parsePrefix(addr.replace(/%.*$/, ''));
  const mapped = family === 6 && bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? `${Array.from(bytes.subarray(12, 16)).join('.')}/32` : text;
}

/** A user's prefix text in canonical form, or null when it is not one (the blocklist then says why). */
function canonicalPrefix(text: string): string | null {
  try {
    const prefix = parsePrefix(text);
    // Names hold single addresses only; a mapped IPv6 one is its IPv4 entry.
    return prefix.family === 6 && prefix.length === 128 ? addressPrefix(stripLength(prefix.text)) : prefix.text;
  } catch {
    return null;
  }
}

const stripLength = (prefix: string): string => prefix.slice(0, prefix.lastIndexOf('/'));

export class HostBlocks {
  readonly stats: HostBlockStats = { namesRefused: 0, addrsRefused: 0, addrsSkipped: 0, blockFailures: 0, addrsLearned: 0 };
  private readonly rules = new Map<string, Rule>();
  /** Blocklist entry -> names holding it. */
  private readonly holders = new Map<string, Set<string>>();
  /** Entries someone else wants too (block-src, --block): never removed by unblock-host. */
  private readonly external = new Set<string>();
  private readonly maxNames: number;
  private readonly maxAddrsPerName: number;
  private readonly now: () => number;

  constructor(
    private readonly blocklist: () => AddressBlocklist | null,
    options: HostBlocksOptions = {},
  ) {
    this.maxNames = options.maxNames ?? 64;
    this.maxAddrsPerName = options.maxAddrsPerName ?? 256;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts blocking a name (no addresses yet: see addAddresses). Throws an
   * Error with a one-line message for the user when NAME is not a host
   * name or too many names are blocked.
   */
  add(text: string): { pattern: HostPattern; added: boolean } {
    const parsed = parseHostPattern(text);
    if (!parsed.ok) throw new Error(parsed.error);
    const { pattern } = parsed;
    if (this.rules.has(pattern.text)) return { pattern, added: false };
    if (this.rules.size >= this.maxNames) {
      this.stats.namesRefused++;
      throw new Error(`${this.maxNames} names are blocked already (unblock-host one first)`);
    }
    this.rules.set(pattern.text, { pattern, prefixes: new Map(), addedMs: this.now(), refused: 0 });
    return { pattern, added: true };
  }

  /** The blocked name's pattern, or null; for callers that look addresses up. */
  pattern(text: string): HostPattern | null {
    const parsed = parseHostPattern(text);
    return parsed.ok ? (this.rules.get(parsed.pattern.text)?.pattern ?? null) : null;
  }

  /** Blocks `addrs` for a blocked name (canonical text, as add() returned it). */
  addAddresses(name: string, addrs: Iterable<string>): AddResult {
    const result: AddResult = { added: [], refused: 0, failures: [] };
    const rule = this.rules.get(name);
    const blocklist = this.blocklist();
    if (!rule || !blocklist) return result;
    for (const addr of addrs) {
      const prefix = addressPrefix(addr);
      if (prefix === null || UNSPECIFIED.has(prefix)) {
        this.stats.addrsSkipped++;
        continue;
      }
      if (rule.prefixes.has(prefix)) continue;
      if (rule.prefixes.size >= this.maxAddrsPerName) {
        rule.refused++;
        result.refused++;
        this.stats.addrsRefused++;
        continue;
      }
      let holders = this.holders.get(prefix);
      if (!holders) {
        try {
          // Not added: it was there before any name took it (block-src, --block).
          if (!blocklist.block(prefix).added) this.external.add(prefix);
        } catch (error) {
          rule.refused++;
          result.refused++;
          this.stats.blockFailures++;
          result.failures.push(`${stripLength(prefix)}: ${firstLine(error)}`);
          continue;
        }
        holders = new Set();
        this.holders.set(prefix, holders);
      }
      holders.add(name);
      rule.prefixes.set(prefix, stripLength(prefix));
      result.added.push(stripLength(prefix));
    }
    return result;
  }

  /** A name was resolved (name index): its addresses join every blocked name it, or a CNAME on its way, matches. */
  learned(host: string, aliases: readonly string[], addrs: readonly string[]): void {
    for (const rule of this.rules.values()) {
      if (!hostMatches(rule.pattern, host) && !aliases.some((alias) => hostMatches(rule.pattern, alias))) continue;
      this.stats.addrsLearned += this.addAddresses(rule.pattern.text, addrs).added.length;
    }
  }

  /** Stops blocking a name; null when it was not blocked. Its addresses leave the blocklist unless someone else holds them. */
  remove(text: string): RemoveResult | null {
    const parsed = parseHostPattern(text);
    if (!parsed.ok) throw new Error(parsed.error);
    const name = parsed.pattern.text;
    const rule = this.rules.get(name);
    if (!rule) return null;
    this.rules.delete(name);
    const result: RemoveResult = { name, released: [], kept: [] };
    const blocklist = this.blocklist();
    for (const [prefix, addr] of rule.prefixes) {
      const holders = this.holders.get(prefix);
      holders?.delete(name);
      if (holders && holders.size > 0) {
        result.kept.push({ addr, for: [...holders, ...(this.external.has(prefix) ? ['block-src'] : [])] });
        continue;
      }
      this.holders.delete(prefix);
      if (this.external.has(prefix)) {
        this.external.delete(prefix);
        result.kept.push({ addr, for: ['block-src'] });
        continue;
      }
      blocklist?.unblock(prefix);
      result.released.push(addr);
    }
    return result;
  }

  /** Every blocked name with its addresses, by name. */
  list(): HostBlockRow[] {
    return [...this.rules.values()]
      .sort((a, b) => a.pattern.text.localeCompare(b.pattern.text))
      .map((rule) => ({ name: rule.pattern.text, addrs: sortAddresses([...rule.prefixes.values()]), addedMs: rule.addedMs, refused: rule.refused }));
  }

  /** block-src took `prefix` (canonical, as the blocklist answered): unblock-host must leave it. */
  sourceBlocked(prefix: string): void {
    if (this.holders.has(prefix)) this.external.add(prefix);
  }

  /**
   * unblock-src of `text`: when names hold that entry, block-src lets go of
   * it but it stays in the blocklist; returns the entry and those names
   * (null: no name holds it, the caller removes the entry as usual).
   */
  sourceUnblocked(text: string): { prefix: string; names: string[] } | null {
    const prefix = canonicalPrefix(text);
    const holders = prefix === null ? undefined : this.holders.get(prefix);
    if (prefix === null || !holders || holders.size === 0) return null;
    this.external.delete(prefix);
    return { prefix, names: [...holders].sort() };
  }

  get size(): { names: number; addrs: number } {
    return { names: this.rules.size, addrs: this.holders.size };
  }
}

/** Sorts in place, IPv4 first, then numerically; returns the array. */
export function sortAddresses(addrs: string[]): string[] {
  const family = (addr: string) => (addr.includes(':') ? 6 : 4);
  return addrs.sort((a, b) => family(a) - family(b) || a.localeCompare(b, 'en', { numeric: true }));
}
