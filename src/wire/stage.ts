/**
 * The wire stage, between the reorder buffer and the correlator: the one
 * place where bytes copied off the wire become names. DNS datagrams are
 * parsed; TCP segments from port 53 are put back into streams and cut
 * into messages (src/dns/tcp-stream.ts), then parsed the same way; the
 * first bytes of a TLS ClientHello or an HTTP request give their server
 * name (src/names/). What names nothing is counted by reason; socket and
 * lookup events pass through unchanged. Pure and bounded.
 */
import { DnsTcpReassembler, type DnsTcpOptions, type DnsTcpStats } from '../dns/tcp-stream.js';
import { parseDnsResponse, type WireSkipReason } from '../dns/wire.js';
import type { DnsDatagramEvent, DnsSegmentEvent, KernelEvent, PayloadEvent } from '../kernel/decode.js';
import { parseHttpHost } from '../names/http-host.js';
import { parseClientHello } from '../names/tls-client-hello.js';
import type { CorrelatorEvent } from './events.js';

/** What became of the ClientHellos and HTTP requests the kernel copied. */
export interface ServerNameStats {
  sni: number;
  http: number;
  /** Payloads that named nothing, by `sni:<reason>` / `http:<reason>` (src/names/). */
  skipped: Record<string, number>;
}

export interface WireStats {
  /** DNS messages (datagrams and reassembled ones) that named nothing, by reason. */
  dnsSkipped: Partial<Record<WireSkipReason, number>>;
  dnsTcp: DnsTcpStats;
  serverNames: ServerNameStats;
}

export class WireStage {
  private readonly dnsTcp: DnsTcpReassembler;
  private readonly dnsSkipped: Partial<Record<WireSkipReason, number>> = {};
  private readonly serverNames: ServerNameStats = { sni: 0, http: 0, skipped: {} };

  constructor(options: { dnsTcp?: DnsTcpOptions } = {}) {
    this.dnsTcp = new DnsTcpReassembler(options.dnsTcp);
  }

  get stats(): WireStats {
    return { dnsSkipped: { ...this.dnsSkipped }, dnsTcp: this.dnsTcp.stats, serverNames: this.serverNames };
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

  /** The run ended: TCP streams in the middle of a message are counted. */
  finish(): void {
    this.dnsTcp.finish();
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
    const parsed = parseDnsResponse(message, messageLength);
    if (!parsed.ok) {
      this.dnsSkipped[parsed.reason] = (this.dnsSkipped[parsed.reason] ?? 0) + 1;
      return;
    }
    const { tsNs, cpu, tuple, ifindex, direction } = seen;
    emit({ kind: 'dnsAnswer', tsNs, cpu, tuple, ifindex, direction, transport, answer: parsed.answer });
  }

  private onPayload(event: PayloadEvent, emit: (event: CorrelatorEvent) => void): void {
    const source = event.protocol === 'tls' ? 'sni' : 'http';
    const parsed = source === 'sni' ? parseClientHello(event.payload) : parseHttpHost(event.payload);
    if (!parsed.ok) {
      const key = `${source}:${parsed.reason}`;
      this.serverNames.skipped[key] = (this.serverNames.skipped[key] ?? 0) + 1;
      return;
    }
    this.serverNames[source]++;
    const { tsNs, cpu, tuple, ifindex, direction } = event;
    emit({ kind: 'serverName', tsNs, cpu, tuple, ifindex, direction, name: parsed.name, source });
  }
}
