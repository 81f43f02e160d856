/**
 * `block-host NAME` as one operation: the name is blocked first (so that
 * names learned meanwhile already count), then the addresses it has "now":
 * those the name index holds and those an active lookup returns. The
 * lookup is injected (node:dns in control-service.ts), so this is tested without
 * a resolver.
 */
import { firstLine } from '../errors.js';
import { hostMatches } from './host-pattern.js';
import { sortAddresses, type HostBlocks } from './host-blocks.js';

/** Where block-host finds a name's addresses "now". */
export interface BlockHostSources {
  /** Addresses the name index holds now for the names `matches` accepts (NameIndex.addrsOf). */
  indexAddrs: (matches: (host: string) => boolean) => string[];
  /** hostflow's own resolution of a name, every address (node:dns lookup); rejects when it fails. */
  lookup: (name: string) => Promise<string[]>;
  /** How long the lookup may take; an answer after it is ignored. @default 2000 */
  lookupTimeoutMs?: number;
}

/** block-host's answer (snake_case: it is the JSON result). */
export interface BlockHostResult {
  name: string;
  /** False when the name was blocked already (its addresses are still refreshed). */
  added: boolean;
  /** Every address blocked for the name now. */
  addrs: string[];
  /** Of those, the ones this command added. */
  new_addrs: string[];
  /** hostflow's own lookup: its addresses, or why it failed; null for a wildcard (nothing to look up). */
  lookup: { addrs: string[] } | { error: string } | null;
  /** Addresses not blocked (bound reached or blocklist failure), with the failures' messages. */
  refused: number;
  failures: string[];
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `block-host NAME`: blocks the name, then the addresses the name index
 * holds for it and those an active lookup from hostflow's own network
 * namespace returns (hostflow does not trace itself, so the index never
 * learns its own lookups). A failed lookup is reported, not an error: the
 * name stays blocked and its later resolutions still add to it. Throws only
 * when the name itself is refused.
 */
export async function blockHost(blocks: HostBlocks, text: string, sources: BlockHostSources): Promise<BlockHostResult> {
  const { pattern, added } = blocks.add(text);
  const result: BlockHostResult = { name: pattern.text, added, addrs: [], new_addrs: [], lookup: null, refused: 0, failures: [] };
  const take = (addrs: Iterable<string>): void => {
    const taken = blocks.addAddresses(pattern.text, addrs);
    result.new_addrs.push(...taken.added);
    result.refused += taken.refused;
    result.failures.push(...taken.failures);
  };
  take(sources.indexAddrs((host) => hostMatches(pattern, host)));
  if (!pattern.wildcard) {
    try {
      const addrs = await withTimeout(sources.lookup(pattern.name), sources.lookupTimeoutMs ?? 2000);
      result.lookup = { addrs };
      take(addrs);
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      result.lookup = { error: code && !message.includes(code) ? `${code}: ${message}` : firstLine(error) };
    }
  }
  result.addrs = blocks.list().find((row) => row.name === pattern.text)?.addrs ?? [];
  sortAddresses(result.new_addrs);
  return result;
}
