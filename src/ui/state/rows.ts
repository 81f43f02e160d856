/**
 * The rows the four views list. Every string in a row that came from
 * outside (names, process names, interface names, statuses) is already
 * sanitized: the model sanitizes once, where records come in, so nothing
 * downstream can forget to.
 */

/** Key of the one row that groups connections and flows whose remote address has no name. */
export const UNRESOLVED_KEY = '';
/** How that row is labelled. */
export const UNRESOLVED_LABEL = '(unresolved)';

/** One hostname (or the unresolved group): everything this host did with it. */
export interface HostRow {
  key: string;
  /** null for the unresolved group. */
  host: string | null;
  /** Process names that resolved or connected to it, most recent first. */
  processes: readonly string[];
  pids: readonly number[];
  /** Addresses it resolved to or was reached at, most recent first (at most 16 kept). */
  addresses: readonly string[];
  /** Live connections and UDP conversations with it right now. */
  open: number;
  /** Connections and UDP conversations seen since start (or the last clear). */
  connections: number;
  lookups: number;
  /** Payload of its closed TCP connections and UDP conversations. */
  bytesIn: number;
  bytesOut: number;
  /** Bytes on the wire (flow counters) since start. */
  wireIn: number;
  wireOut: number;
  /** Wire bytes per second over the last flow interval. */
  rateIn: number;
  rateOut: number;
  /** Epoch ms of the last record about it. */
  lastSeen: number;
}

export type ConnState = 'open' | 'closed' | 'failed';

/** The process fields of a record, as a row shows them. */
export interface ProcessInfo {
  pid: number | null;
  ppid: number | null;
  comm: string | null;
  /** Executable path, null when unknown. */
  exe: string | null;
  /** Command line, null unless hostflow runs with `--cmdline`. */
  cmdline: string | null;
}

/** One TCP connection or UDP conversation, live or recently closed. */
export interface ConnRow extends ProcessInfo {
  /** TCP: direction|local|lport|remote|rport; UDP: udp|local|lport|remote|rport. */
  key: string;
  proto: 'tcp' | 'udp';
  state: ConnState;
  uid: number | null;
  container: string | null;
  family: 4 | 6;
  /** TCP only: who connected; null for a UDP conversation. */
  direction: 'out' | 'in' | null;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  host: string | null;
  hostSource: string | null;
  /** Why host is null (a record's `unresolved`); null when named. */
  unresolved: string | null;
  /** TCP: the connect probe mode; null for UDP. */
  probe: string | null;
  /** Epoch ms (UDP: its first datagram); null when only the close was seen. */
  openedAt: number | null;
  closedAt: number | null;
  connectLatencyMs: number | null;
  /** TCP: open to close; UDP: first to last datagram. */
  durationMs: number | null;
  /** Payload bytes, known at close (TCP and UDP alike). */
  bytesSent: number | null;
  bytesReceived: number | null;
  retransmits: number | null;
  /** UDP, known at close. */
  packetsSent: number | null;
  packetsReceived: number | null;
  /** UDP: close, idle or stop; null while open and for TCP. */
  endReason: string | null;
  /** UDP: interface of its first datagram, when known. */
  iface: string | null;
}

/** One 5-tuple on one interface over the last flow interval, seen from this host. */
export interface FlowRow {
  key: string;
  iface: string;
  direction: 'ingress' | 'egress';
  proto: string;
  family: 4 | 6;
  /** The end on this host (source of egress, destination of ingress) and the other one. */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  remoteHost: string | null;
  localHost: string | null;
  pid: number | null;
  comm: string | null;
  packets: number;
  bytes: number;
  tcpFlags: number;
  start: number;
  end: number;
}

/** What one process's lookups came to since start (or the last clear). */
export interface ProcessLookups {
  lookups: number;
  /** Lookups that failed: NXDOMAIN, SERVFAIL, TIMEOUT, an EAI_* code, ... */
  failed: number;
  /** Failed lookups by status, most first. */
  failures: ReadonlyArray<readonly [status: string, count: number]>;
}

/** One name resolution, with its process's lookups so far (as of the snapshot). */
export interface DnsRow extends ProcessInfo {
  key: string;
  at: number;
  tid: number | null;
  host: string;
  cnames: readonly string[];
  addrs: readonly string[];
  ttl: number | null;
  latencyMs: number | null;
  source: 'getaddrinfo' | 'wire';
  status: string;
  /** True when `status` says the lookup failed. */
  failed: boolean;
  iface: string | null;
  server: string | null;
  /** The process as the lookups are counted: `pid comm`, or '' for lookups seen at an interface, without a process. */
  processKey: string;
  process: ProcessLookups;
}

export type AnyRow = HostRow | ConnRow | FlowRow | DnsRow;
