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
  /** Live connections to it right now. */
  open: number;
  /** Connections seen since start (or the last clear). */
  connections: number;
  lookups: number;
  /** TCP payload of its closed connections. */
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

/** One TCP connection, live or recently closed. */
export interface ConnRow {
  /** direction|local|lport|remote|rport. */
  key: string;
  state: ConnState;
  pid: number | null;
  comm: string | null;
  uid: number | null;
  container: string | null;
  family: 4 | 6;
  direction: 'out' | 'in';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  host: string | null;
  hostSource: string | null;
  /** Why host is null (a record's `unresolved`); null when named. */
  unresolved: string | null;
  probe: string;
  /** Epoch ms; null when only the close was seen. */
  openedAt: number | null;
  closedAt: number | null;
  connectLatencyMs: number | null;
  durationMs: number | null;
  bytesSent: number | null;
  bytesReceived: number | null;
  retransmits: number | null;
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

/** One name resolution. */
export interface DnsRow {
  key: string;
  at: number;
  pid: number | null;
  tid: number | null;
  comm: string | null;
  host: string;
  cnames: readonly string[];
  addrs: readonly string[];
  ttl: number | null;
  latencyMs: number | null;
  source: 'getaddrinfo' | 'wire';
  status: string;
  iface: string | null;
  server: string | null;
}

export type AnyRow = HostRow | ConnRow | FlowRow | DnsRow;
