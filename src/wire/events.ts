/**
 * What the wire stage hands the correlator: the socket and lookup events
 * as the kernel gave them, and, for the bytes it copied off the wire,
 * names: a parsed DNS query or answer (from a datagram or a TCP stream),
 * a server name (a ClientHello's SNI, an HTTP request's Host, the SNI of a
 * QUIC Initial), or a ClientHello whose real name is encrypted (ECH).
 */
import type { ConnectEvent, CloseEvent, EstablishedEvent, LookupEvent, Task, Tuple, UdpCloseEvent } from '../kernel/decode.js';
import type { WireQuery } from '../dns/query.js';
import type { WireAnswer } from '../dns/wire.js';

interface SeenOnTheWire {
  tsNs: number;
  cpu: number;
  tuple: Tuple;
  ifindex: number;
  direction: 'in' | 'out';
  /** 'socket': at a local socket, whose owner is `task`; 'interface': at a traced interface, no process. */
  seenAt: 'interface' | 'socket';
  task: Task | null;
  /** The socket's cookie (seenAt 'socket'). */
  socket: string | null;
  /** The socket's network namespace cookie (seenAt 'socket'), in which `ifindex` is an index. */
  netns: string | null;
}

/** One whole DNS response, parsed. */
export interface DnsAnswerEvent extends SeenOnTheWire {
  kind: 'dnsAnswer';
  /** How it came: one UDP datagram, or a message of a TCP stream. */
  transport: 'udp' | 'tcp';
  answer: WireAnswer;
}

/** One DNS query a local socket sent (seenAt 'socket', direction 'out'). */
export interface DnsQueryEvent extends SeenOnTheWire {
  kind: 'dnsQuery';
  transport: 'udp' | 'tcp';
  query: WireQuery;
}

/** A host name a connection sent in its first bytes. */
export interface ServerNameEvent extends SeenOnTheWire {
  kind: 'serverName';
  /** Egress: saddr/sport are the local end, daddr/dport the remote. */
  name: string;
  source: 'sni' | 'http' | 'quic';
}

/** A TLS or QUIC ClientHello with Encrypted Client Hello: its outer name is not the server's. */
export interface EncryptedHelloEvent extends SeenOnTheWire {
  kind: 'encryptedHello';
  protocol: 'tls' | 'quic';
  /** The outer (public) server name, for the record of what was seen; never a name for the connection. */
  publicName: string | null;
}

export type CorrelatorEvent =
  ConnectEvent | EstablishedEvent | CloseEvent | LookupEvent | UdpCloseEvent | DnsAnswerEvent | DnsQueryEvent | ServerNameEvent | EncryptedHelloEvent;
