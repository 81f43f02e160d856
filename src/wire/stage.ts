/**
 * The wire stage, between the reorder buffer and the correlator: the one
 * place where bytes copied off the wire become names. DNS datagrams are
 * parsed (at a socket, its own queries too, so the correlator can pair
 * them with their responses); TCP segments from port 53 are put back into
 * streams and cut into messages (src/dns/tcp-stream.ts), then parsed the
 * same way; the
 * first bytes of a TLS ClientHello or an HTTP request give their server
 * name (src/names/), and so do the first datagrams of a QUIC connection,
 * decrypted and put together per socket and addresses
 * (src/names/quic-initial.ts). A ClientHello with Encrypted Client Hello
 * gives an `encryptedHello` instead of a name. What names nothing is
 * counted by reason; socket and lookup events pass through unchanged.
 * Pure and bounded.
 */
import { DnsTcpReassembler, type DnsTcpOptions, type DnsTcpStats } from '../dns/tcp-stream.js';
import { parseDnsQuery, type QuerySkipReason } from '../dns/query.js';
import { parseDnsResponse, type WireSkipReason } from '../dns/wire.js';
import type { DnsDatagramEvent, DnsSegmentEvent, KernelEvent, PayloadEvent } from '../kernel/decode.js';
import { parseHttpHost } from '../names/http-host.js';
import { QuicHelloAssembler, type QuicHelloOptions, type QuicHelloStats } from '../names/quic-initial.js';
import { parseClientHello } from '../names/tls-client-hello.js';
import type { CorrelatorEvent } from './events.js';

/** What became of the ClientHellos, HTTP requests and QUIC Initials the kernel copied. */
export interface ServerNameStats {
  sni: number;
  http: number;
  /** Names read from QUIC Initials. */
  quic: number;
  /** ClientHellos with Encrypted Client Hello (their name is encrypted), by where they came. */
  encryptedHellos: { tls: number; quic: number };
  /**
   * Payloads that named nothing, by `sni:<reason>` / `http:<reason>` /
   * `quic:<reason>` (src/names/); for QUIC also the ClientHellos that were
   * never whole (`quic:evicted`, `quic:expired`, `quic:incomplete`).
   */
  skipped: Record<string, number>;
}

export interface WireStats {
  /** DNS messages (datagrams and reassembled ones) that named nothing, by reason. */
  dnsSkipped: Partial<Record<WireSkipReason, number>>;
  /** DNS queries local sockets sent (seen at the socket) that were read, and those that could not be, by reason. */
  dnsQueries: { read: number; skipped: Partial<Record<QuerySkipReason, number>> };
  dnsTcp: DnsTcpStats;
  serverNames: ServerNameStats;
  /** The QUIC ClientHello assembler: datagrams, hellos, repeats, what it holds. */
  quic: QuicHelloStats;
}

/** The QR bit of a DNS header's third byte: set in responses. */
const DNS_QR = 0x80;

export class WireStage {
  private readonly dnsTcp: DnsTcpReassembler;
  private readonly quic: QuicHelloAssembler;
  private readonly dnsSkipped: Partial<Record<WireSkipReason, number>> = {};
  private readonly dnsQueries = { read: 0, skipped: {} as Partial<Record<QuerySkipReason, number>> };
  private readonly serverNames: ServerNameStats = { sni: 0, http: 0, quic: 0, encryptedHellos: { tls: 0, quic: 0 }, skipped: {} };

  constructor(options: { dnsTcp?: DnsTcpOptions; quic?: QuicHelloOptions } = {}) {
    this.dnsTcp = new DnsTcpReassembler(options.dnsTcp);
    this.quic = new QuicHelloAssembler(options.quic);
  }

  get stats(): WireStats {
    const quic = this.quic.stats;
    const skipped = { ...this.serverNames.skipped };
    for (const [reason, count] of Object.entries(quic.dropped)) skipped[`quic:${reason}`] = count;
    const serverNames = { ...this.serverNames, encryptedHellos: { ...this.serverNames.encryptedHellos }, skipped };
    const dnsQueries = { read: this.dnsQueries.read, skipped: { ...this.dnsQueries.skipped } };
    return { dnsSkipped: { ...this.dnsSkipped }, dnsQueries, dnsTcp: this.dnsTcp.stats, serverNames, quic };
  }

  /** One event, in kernel-time order; emits what the correlator takes. */
  handle(event: KernelEvent, emit: (event: CorrelatorEvent) => void): void {
    switch (event.kind) {
      case 'dnsDatagram':
        this.onDnsMessage(event, 'udp', event.message, event.messageLength, emit);
        return;
      case 'dnsSegment':
        this.onSegment(event, emit);
        return;
      case 'payload':
        this.onPayload(event, emit);
        return;
      default:
        emit(event);
    }
  }

  /** The run ended: TCP streams in the middle of a message and QUIC ClientHellos still incomplete are counted. */
  finish(): void {
    this.dnsTcp.finish();
    this.quic.finish();
  }

  private onSegment(segment: DnsSegmentEvent, emit: (event: CorrelatorEvent) => void): void {
    this.dnsTcp.handle(segment, ({ message }) => this.onDnsMessage(segment, 'tcp', message, message.length, emit));
  }

  private onDnsMessage(
    seen: DnsDatagramEvent | DnsSegmentEvent,
    transport: 'udp' | 'tcp',
    message: Buffer,
    messageLength: number,
    emit: (event: CorrelatorEvent) => void,
  ): void {
    // A socket's own query (QR 0): what pairs it with its response and tells a timeout.
    if (seen.seenAt === 'socket' && message.length > 2 && ((message[2] as number) & DNS_QR) === 0) {
      this.onDnsQuery(seen, transport, message, emit);
      return;
    }
    const parsed = parseDnsResponse(message, messageLength);
    if (!parsed.ok) {
      this.dnsSkipped[parsed.reason] = (this.dnsSkipped[parsed.reason] ?? 0) + 1;
      return;
    }
    const { tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns } = seen;
    emit({ kind: 'dnsAnswer', tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns, transport, answer: parsed.answer });
  }

  private onDnsQuery(seen: DnsDatagramEvent | DnsSegmentEvent, transport: 'udp' | 'tcp', message: Buffer, emit: (event: CorrelatorEvent) => void): void {
    const parsed = parseDnsQuery(message);
    if (!parsed.ok) {
      this.dnsQueries.skipped[parsed.reason] = (this.dnsQueries.skipped[parsed.reason] ?? 0) + 1;
      return;
    }
    this.dnsQueries.read++;
    const { tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns } = seen;
    emit({ kind: 'dnsQuery', tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns, transport, query: parsed.query });
  }

  private onPayload(event: PayloadEvent, emit: (event: CorrelatorEvent) => void): void {
    const source = event.protocol === 'tls' ? 'sni' : event.protocol;
    const parsed =
      event.protocol === 'tls'
        ? parseClientHello(event.payload)
        : event.protocol === 'http'
          ? parseHttpHost(event.payload)
          : this.quic.add(conversationKey(event), event.payload, event.tsNs);
    if (parsed === null) return; // a QUIC ClientHello waiting for its rest, or one already read
    const { tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns } = event;
    if (parsed.ok) {
      this.serverNames[source]++;
      emit({ kind: 'serverName', tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns, name: parsed.name, source });
      return;
    }
    if (parsed.reason === 'encrypted_client_hello' && event.protocol !== 'http') {
      this.serverNames.encryptedHellos[event.protocol]++;
      emit({
        kind: 'encryptedHello',
        tsNs,
        cpu,
        tuple,
        ifindex,
        direction,
        seenAt,
        task,
        socket,
        netns,
        protocol: event.protocol,
        publicName: parsed.publicName,
      });
      return;
    }
    const key = `${source}:${parsed.reason}`;
    this.serverNames.skipped[key] = (this.serverNames.skipped[key] ?? 0) + 1;
  }
}

/**
 * One QUIC conversation: the socket that sent it (a socket may talk to
 * several servers) and the addresses; at an interface, where the socket is
 * not known, the interface and the addresses.
 */
function conversationKey(event: PayloadEvent): string {
  const { tuple } = event;
  const where = event.socket ?? `if${event.ifindex}`;
  return `${where}|${tuple.saddr}|${tuple.sport}|${tuple.daddr}|${tuple.dport}`;
}
