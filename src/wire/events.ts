/**
 * What the wire stage hands the correlator: the socket and lookup events
 * as the kernel gave them, and, for the bytes it copied off the wire,
 * names: a parsed DNS answer (from a datagram or a TCP stream) and a
 * server name (a ClientHello's SNI, an HTTP request's Host).
 */
import type { ConnectEvent, CloseEvent, EstablishedEvent, LookupEvent, Tuple } from '../kernel/decode.js';
import type { WireAnswer } from '../dns/wire.js';

interface SeenOnTheWire {
  tsNs: number;
  cpu: number;
  tuple: Tuple;
  ifindex: number;
  direction: 'in' | 'out';
}

/** One whole DNS response, parsed. */
export interface DnsAnswerEvent extends SeenOnTheWire {
  kind: 'dnsAnswer';
  /** How it came: one UDP datagram, or a message of a TCP stream. */
  transport: 'udp' | 'tcp';
  answer: WireAnswer;
}

/** A host name a connection sent in its first bytes. */
export interface ServerNameEvent extends SeenOnTheWire {
  kind: 'serverName';
  /** Egress: saddr/sport are the local end, daddr/dport the remote. */
  name: string;
  source: 'sni' | 'http';
}

export type CorrelatorEvent = ConnectEvent | EstablishedEvent | CloseEvent | LookupEvent | DnsAnswerEvent | ServerNameEvent;
