/**
 * Why a connection or flow end has no name: the evidence the correlator
 * gathers as events pass (addresses that once had a name, address literals
 * given to getaddrinfo, encrypted DNS in use) and the rule that turns it
 * into one `UnresolvedReason`. Pure; time is the kernel's.
 */
import { LRUCache } from 'lru-cache';
import { flatKey } from './flat-key.js';
import { UNRESOLVED_REASONS, type UnresolvedReason } from '../records/types.js';

/** DNS over TLS (RFC 7858). */
export const DOT_PORT = 853;
const HTTPS_PORT = 443;

/**
 * Names of public DNS-over-HTTPS services (browsers' and OS resolvers'
 * built-in lists): a connection to one on port 443 is a DoH resolver, not
 * a web site.
 */
export const DOH_NAMES: ReadonlySet<string> = new Set([
  'dns.google',
  'dns.google.com',
  'cloudflare-dns.com',
  'mozilla.cloudflare-dns.com',
  'chrome.cloudflare-dns.com',
  'one.one.one.one',
  '1dot1dot1dot1.cloudflare-dns.com',
  'security.cloudflare-dns.com',
  'family.cloudflare-dns.com',
  'dns.quad9.net',
  'dns9.quad9.net',
  'dns10.quad9.net',
  'dns11.quad9.net',
  'doh.opendns.com',
  'dns.adguard.com',
  'dns.adguard-dns.com',
  'dns.nextdns.io',
  'doh.cleanbrowsing.org',
  'doh.mullvad.net',
  'dns.mullvad.net',
  'doh.dns.sb',
  'freedns.controld.com',
]);

/**
 * How long encrypted DNS seen anywhere on the host explains other
 * processes' blanks: a stub resolver (systemd-resolved, dnscrypt-proxy)
 * speaks DoT/DoH for every process, so the process that connects is not
 * the one seen using it.
 */
const HOST_ENCRYPTED_DNS_MEMORY_NS = 15 * 60 * 1e9;

/** Bounds of the evidence kept (addresses, pid|address pairs, pids). */
const EVIDENCE_ENTRIES = 65_536;

/** Whether a connection to `dport` named `host` is itself an encrypted DNS transport (DoT, or DoH to a known service). */
export function isEncryptedDns(dport: number, host: string | null): boolean {
  return dport === DOT_PORT || (dport === HTTPS_PORT && host !== null && DOH_NAMES.has(host));
}

export interface ReasonInput {
  direction: 'in' | 'out';
  /** The local process, null when unknown. */
  pid: number | null;
  /** The remote address. */
  addr: string;
  /** Kernel time of the connection. */
  tsNs: number;
  /** The kernel says the socket existed before hostflow started (close without a tracked open). */
  openedBeforeTrace: boolean;
  /** It sent a ClientHello with Encrypted Client Hello (TLS or QUIC). */
  encryptedHello?: boolean;
}

export class UnresolvedEvidence {
  /** Addresses that had a name from some lookup or answer (expired or not). */
  private readonly everNamed = new LRUCache<string, true>({ max: EVIDENCE_ENTRIES });
  /** `pid|address` of getaddrinfo calls given the address itself. */
  private readonly literals = new LRUCache<string, true>({ max: EVIDENCE_ENTRIES });
  /** Processes seen using encrypted DNS. */
  private readonly encryptedPids = new LRUCache<number, true>({ max: EVIDENCE_ENTRIES });
  private encryptedHostNs = Number.NEGATIVE_INFINITY;

  /** @param startedBeforeTrace whether a process was already running when tracing began (false when unknown) */
  constructor(private readonly startedBeforeTrace: (pid: number) => boolean = () => false) {}

  /** A lookup or answer named these addresses. */
  named(addrs: Iterable<string>): void {
    for (const addr of addrs) this.everNamed.set(addr, true);
  }

  /** A process called getaddrinfo with an address literal. */
  literal(pid: number, addr: string): void {
    this.literals.set(flatKey(`${pid}|${addr}`), true);
  }

  /** A process (null: unknown) used DoT or DoH at `tsNs`. */
  encryptedDns(pid: number | null, tsNs: number): void {
    if (pid !== null) this.encryptedPids.set(pid, true);
    this.encryptedHostNs = Math.max(this.encryptedHostNs, tsNs);
  }

  private hostUsesEncryptedDns(tsNs: number): boolean {
    return tsNs - this.encryptedHostNs <= HOST_ENCRYPTED_DNS_MEMORY_NS;
  }

  /**
   * The reason of an unnamed connection, the first that applies, in the
   * order of UNRESOLVED_REASONS: inbound, socket_before_start,
   * cache_expired, address_literal, encrypted_client_hello, encrypted_dns,
   * process_before_start, no_lookup_seen.
   */
  reason(input: ReasonInput): UnresolvedReason {
    const { direction, pid, addr, tsNs } = input;
    if (direction === 'in') return 'inbound';
    // Whatever was seen after the start says nothing of how an older socket was named.
    if (input.openedBeforeTrace) return 'socket_before_start';
    if (this.everNamed.has(addr)) return 'cache_expired';
    if (pid !== null && this.literals.size > 0 && this.literals.has(`${pid}|${addr}`)) return 'address_literal';
    if (input.encryptedHello) return 'encrypted_client_hello';
    if ((pid !== null && this.encryptedPids.has(pid)) || this.hostUsesEncryptedDns(tsNs)) return 'encrypted_dns';
    // Only a possibility: whatever was seen since the start explains more, so it comes after.
    if (pid !== null && this.startedBeforeTrace(pid)) return 'process_before_start';
    return 'no_lookup_seen';
  }

  /**
   * The reason once a connection turned out to have sent Encrypted Client
   * Hello (its ClientHello comes after it opened): it replaces the reasons
   * that come after it in UNRESOLVED_REASONS, never those before.
   */
  static withEncryptedHello(reason: UnresolvedReason | null | undefined): UnresolvedReason {
    const order = UNRESOLVED_REASONS.indexOf('encrypted_client_hello');
    return reason && UNRESOLVED_REASONS.indexOf(reason) < order ? reason : 'encrypted_client_hello';
  }

  /** The reason of an unnamed flow end without a known connection: only what the address itself says. */
  addressReason(addr: string, tsNs: number): UnresolvedReason {
    if (this.everNamed.has(addr)) return 'cache_expired';
    if (this.hostUsesEncryptedDns(tsNs)) return 'encrypted_dns';
    return 'no_lookup_seen';
  }
}
