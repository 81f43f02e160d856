/**
 * What runs beside a session in both modes: the packet capture file and the
 * control socket. The control socket binds before anything is traced, so a
 * busy path is one line and exit 1, and reads the blocklist, flows and names
 * through the session whenever a command comes; the capture file opens
 * before the tracer starts, as frames arrive from the first packet on.
 */
import { packetAnnotator } from './capture/annotate.js';
import { PacketDelay } from './capture/delay.js';
import { PcapWriter, type PcapFormat } from './capture/pcap-writer.js';
import { ControlServer } from './control/server.js';
import type { ControlBackend, StatValue } from './control/commands.js';
import type { CapturedPacket } from './kernel/packets.js';
import type { SinkStatusLine } from './output/sinks.js';
import type { Session } from './session.js';

export interface ServiceOptions {
  /** Write captured frames here; undefined when not capturing. */
  pcap?: { path: string; format: PcapFormat; snaplen: number };
  /** Control socket path; undefined for none. */
  controlPath?: string;
}

/** As long as the session's reorder window, plus its release tick. */
const PACKET_DELAY_NS = 300e6;

export class SessionServices {
  private writer: PcapWriter | null = null;
  private delay: PacketDelay | null = null;
  private delayTimer: NodeJS.Timeout | null = null;
  private control: ControlServer | null = null;
  private session: Session | null = null;

  constructor(
    private readonly options: ServiceOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** The session's packet handler: frames go to the capture file once the events before them are applied. */
  readonly onPacket = (packet: CapturedPacket): void => this.delay?.push(packet);

  /** Binds the control socket, before anything is traced: a busy path stops hostflow with one line. */
  async startControl(): Promise<void> {
    if (!this.options.controlPath) return;
    this.control = await ControlServer.start({ path: this.options.controlPath, backend: controlBackend(() => this.session) });
  }

  /** Opens the capture file for this session; call before session.start(). */
  attach(session: Session): void {
    this.session = session;
    const { pcap } = this.options;
    if (!pcap) return;
    this.writer = PcapWriter.open({
      path: pcap.path,
      format: pcap.format,
      clock: session.clock,
      snaplen: pcap.snaplen,
      interfaceName: (ifindex) => session.interfaceName(ifindex),
      annotate:
        pcap.format === 'pcapng'
          ? packetAnnotator({
              nameOf: (address) => session.names.nameOf(address),
              processOf: (t) => (t.sport === null || t.dport === null ? null : session.processOf(t.saddr, t.sport, t.daddr, t.dport)),
            })
          : undefined,
    });
    const writer = this.writer;
    this.delay = new PacketDelay(PACKET_DELAY_NS, (packet) => writer.write(packet));
    this.delayTimer = setInterval(() => this.delay?.release(session.clock.nowNs()), 50);
  }

  /** Start-up lines for the log. */
  describe(): string[] {
    const lines: string[] = [];
    if (this.options.controlPath) lines.push(`control: ${this.options.controlPath} (hostflow ctl --socket ${this.options.controlPath} help)`);
    if (this.options.pcap) lines.push(`capture: ${this.options.pcap.path} (${this.options.pcap.format}, snaplen ${this.options.pcap.snaplen})`);
    return lines;
  }

  /** Header lines for the UI. */
  status(): SinkStatusLine[] {
    const lines: SinkStatusLine[] = [];
    const blocklist = this.session?.blocklist;
    if (blocklist) {
      const totals = blocklist.totals();
      lines.push({ label: 'blocklist', text: `${totals.entries} prefixes, ${totals.packets} dropped`, warn: false });
    }
    if (this.writer) {
      const failure = this.writer.failure;
      lines.push({ label: 'pcap', text: failure ? `write failed: ${failure.message}` : `${this.writer.stats.packets} written`, warn: failure !== null });
    }
    return lines;
  }

  /** After the session stopped (every frame drained): closes the socket and completes the file. */
  async close(): Promise<void> {
    await this.control?.close();
    this.control = null;
    if (this.delayTimer) clearInterval(this.delayTimer);
    this.delayTimer = null;
    this.delay?.flush();
    this.delay = null;
    if (this.writer) {
      try {
        this.writer.close();
      } catch {
        // Kept in writer.failure, reported below.
      }
      const failure = this.writer.failure;
      this.log(failure ? `capture: writing ${this.options.pcap?.path} failed: ${failure.message}` : `capture: ${this.writer.stats.packets} packets written to ${this.options.pcap?.path}`);
      this.writer = null;
    }
  }
}

/** The control socket's view of the session; every hook reads it when a command comes. */
function controlBackend(current: () => Session | null): ControlBackend {
  return {
    readFlows: () => current()?.readFlows() ?? [],
    get blocklist() {
      return current()?.blocklist ?? null;
    },
    nameOf: (address) => current()?.names.nameOf(address) ?? null,
    listHosts: () => current()?.names.hosts() ?? [],
    stats: (): Record<string, StatValue> => {
      const session = current();
      if (!session) return {};
      const summary = session.summary();
      return {
        events_decoded: session.eventsDecoded,
        records_dns: summary.records.dns,
        records_conn: summary.records.conn,
        records_flow: summary.records.flow,
        events_lost: summary.lostTotal,
        capture_packets: summary.capture?.packets ?? 0,
        capture_lost: summary.capture?.lost ?? 0,
        blocked_prefixes: summary.blocked.length,
      };
    },
  };
}
