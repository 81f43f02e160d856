/**
 * The record types hostflow writes: the public schema users query
 * (JSON lines, S3). Field names are snake_case and stable; a field that is
 * not known is null, never missing. Times are ISO-8601 UTC with
 * microseconds, converted from kernel timestamps.
 */

/**
 * How a connection got its hostname: `process` its own process's lookup,
 * `global` the most recent resolution of the address anywhere on the host,
 * `sni` the server name of the TLS ClientHello it sent, `http` the `Host`
 * header of the plaintext HTTP request it sent, `quic` the server name of
 * the ClientHello in the QUIC Initial it sent (decrypted, RFC 9001 §5.2).
 */
export type HostSource = 'process' | 'global' | 'sni' | 'http' | 'quic';

/**
 * Why a connection or flow end has no hostname (README "Records" says what
 * causes each). `socket_before_start`: the socket was opened before the
 * trace; `process_before_start`: the process was running before it. Both
 * replace `lookup_before_start`, which meant either.
 */
export type UnresolvedReason =
  | 'inbound'
  | 'socket_before_start'
  | 'cache_expired'
  | 'address_literal'
  | 'encrypted_client_hello'
  | 'encrypted_dns'
  | 'process_before_start'
  | 'no_lookup_seen';

/** Every reason, in the order the rules are tried (the first that applies wins). */
export const UNRESOLVED_REASONS: readonly UnresolvedReason[] = [
  'inbound',
  'socket_before_start',
  'cache_expired',
  'address_literal',
  'encrypted_client_hello',
  'encrypted_dns',
  'process_before_start',
  'no_lookup_seen',
];

/** open: established; named: an open connection without a host got one later (once); close: it ended. */
export type ConnEvent = 'open' | 'named' | 'close';

/** Where a name resolution was seen: libc's getaddrinfo, or its DNS messages (at a socket, with the process, or at an interface, without). */
export type DnsSource = 'getaddrinfo' | 'wire';

/**
 * The process a record is about; null when unknown (DNS seen only at an
 * interface, an accepted connection before its process touched it).
 */
export interface ProcessFields {
  pid: number | null;
  /** The parent's pid when the record's process was seen. */
  ppid: number | null;
  comm: string | null;
  /** Path of the process's executable; null when it could not be read for this very process (exited, or its pid reused since). */
  exe: string | null;
  /** Its command line, arguments joined by spaces and cut to a bound; null unless `--cmdline` (it can hold secrets). */
  cmdline: string | null;
  uid: number | null;
  /** Container id (64 hex) from the process's cgroup, when it runs in one. */
  container_id: string | null;
  /** docker | containerd | cri-o | podman | kubernetes, when known. */
  container_runtime: string | null;
}

/** One name resolution seen on this host. */
export interface DnsRecord extends ProcessFields {
  type: 'dns';
  ts: string;
  /** The thread that resolved (getaddrinfo) or sent the query (wire, at a socket); null when unknown. */
  tid: number | null;
  /** The name as asked, lower case, without the trailing dot. */
  host: string;
  /** CNAME chain from `host` to the name holding the addresses (wire answers); null when none or unknown. */
  cnames: string[] | null;
  /** Every address of the answer, IPv4 first then IPv6, each once. */
  addrs: string[];
  /** Smallest TTL of the answer's records in seconds; null when unknown (getaddrinfo). */
  ttl: number | null;
  /** getaddrinfo: call to return; wire: query to response when the query was seen, else null. */
  latency_ms: number | null;
  source: DnsSource;
  /**
   * getaddrinfo's return code (0, or an EAI_* value); for wire lookups the
   * DNS rcode name ('NOERROR', 'NXDOMAIN', 'SERVFAIL', ...) or 'TIMEOUT'
   * when a query saw no response within the DNS timeout.
   */
  status: string;
  /** Wire answers: the interface and the resolver that answered. */
  iface: string | null;
  server: string | null;
}

/**
 * One TCP connection's life: an `open` record when established, a `close`
 * record at the end, and in between at most one `named` record when a
 * connection opened without a host got one (late DNS answer, TLS SNI, HTTP
 * Host); records already written are never rewritten.
 */
export interface ConnRecord extends ProcessFields {
  type: 'conn';
  event: ConnEvent;
  ts: string;
  family: 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** out: this host connected; in: this host accepted. */
  direction: 'out' | 'in';
  /** Name of the remote address (daddr), null when none was seen. */
  host: string | null;
  host_source: HostSource | null;
  /** Why `host` is null; null when it is set. */
  unresolved: UnresolvedReason | null;
  /** The connect probe mode this run uses: kprobe | fentry | tracepoint. */
  probe: string;
  /** connect() to established (out) or SYN_RECV to established (in); null when it never established. */
  connect_latency_ms: number | null;
  /** close records only (null on open and named): */
  duration_ms: number | null;
  bytes_sent: number | null;
  bytes_received: number | null;
  retransmits: number | null;
  /** close records: false when the connection never reached ESTABLISHED (refused, timed out); null on open. */
  established: boolean | null;
}

/** Counters of one 5-tuple on one interface over one interval. */
export interface FlowRecord {
  type: 'flow';
  /** Start and end of the interval's activity. */
  start: string;
  end: string;
  iface: string;
  direction: 'ingress' | 'egress';
  /** tcp | udp | icmp | icmpv6 | the protocol number as text. */
  proto: string;
  family: 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  packets: number;
  bytes: number;
  /** OR of the TCP flags seen (0 for other protocols). */
  tcp_flags: number;
  /** Of `packets` and `bytes`, those the XDP blocklist dropped (ingress only). */
  dropped_packets: number;
  dropped_bytes: number;
  src_host: string | null;
  dst_host: string | null;
  /** Why the remote end (dst on egress, src on ingress) has no name; null when it has one. */
  unresolved: UnresolvedReason | null;
  /** The local process of the TCP connection or UDP conversation this flow belongs to, when known. */
  pid: number | null;
  comm: string | null;
}

/** open: first seen; close: it ended. */
export type UdpEvent = 'open' | 'close';

/** Why a UDP conversation ended: its socket was closed, it was idle for `--udp-idle`, or hostflow stopped. */
export type UdpEndReason = 'close' | 'idle' | 'stop';

/**
 * One UDP socket's exchange with one remote address: an `open` record when
 * first seen, a `close` record with the counts when it ends. Counted at the
 * socket, on every interface and in every network namespace; bytes are UDP
 * payload bytes. DNS lookups are not conversations: they are `dns` records.
 */
export interface UdpRecord extends ProcessFields {
  type: 'udp';
  event: UdpEvent;
  ts: string;
  family: 4 | 6;
  /** The local end. */
  saddr: string;
  sport: number;
  /** The remote end. */
  daddr: string;
  dport: number;
  /** Name of the remote address, null when none was seen. */
  host: string | null;
  host_source: HostSource | null;
  unresolved: UnresolvedReason | null;
  /** Interface of its first datagram, when in hostflow's network namespace. */
  iface: string | null;
  /** First datagram either way. */
  first_seen: string;
  /** close records only (null on open): */
  last_seen: string | null;
  packets_sent: number | null;
  bytes_sent: number | null;
  packets_received: number | null;
  bytes_received: number | null;
  end_reason: UdpEndReason | null;
}

export type HostflowRecord = DnsRecord | ConnRecord | FlowRecord | UdpRecord;
export type RecordType = HostflowRecord['type'];
export const RECORD_TYPES: readonly RecordType[] = ['dns', 'conn', 'flow', 'udp'];
