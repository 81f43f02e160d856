/**
 * What runs beside a session in both modes: the packet capture file and the
 * control socket. The control socket binds before anything is traced, so a
 * busy path is one line and exit 1, and reads the blocklist, flows and names
 * through the session whenever a command comes; the capture file opens
 * before the tracer starts, as frames arrive from the first packet on.
 */
import { lookup } from 'node:dns/promises';
import { packetAnnotator } from './capture/annotate.js';
import { PacketDelay } from './capture/delay.js';
import { PcapWriter, type PcapFormat } from './capture/pcap-writer.js';
import { ControlServer } from './control/server.js';
import type { ControlBackend, StatValue } from './control/commands.js';
import { blockHost } from './control/block-host.js';
import { HostBlocks } from './control/host-blocks.js';
import type { CapturedPacket } from './kernel/packets.js';
import type { TracedInterface } from './kernel/tracer.js';
import { describeXdp } from './kernel/xdp-mode.js';
import type { SinkStatusLine } from './output/sinks.js';
import type { Session } from './session.js';
import { note, ok, problem, type SummaryLine } from './format/health.js';

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
  /** Names blocked with block-host, over the session's blocklist; they follow every name the session learns. */
  private readonly hostBlocks = new HostBlocks(() => this.session?.blocklist ?? null);
  private unfollowNames: (() => void) | null = null;

  constructor(
    private readonly options: ServiceOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** The session's packet handler: frames go to the capture file once the events before them are applied. */
  readonly onPacket = (packet: CapturedPacket): void => this.delay?.push(packet);

  /** Binds the control socket, before anything is traced: a busy path stops hostflow with one line. */
  async startControl(): Promise<void> {
    if (!this.options.controlPath) return;
    this.control = await ControlServer.start({ path: this.options.controlPath, backend: controlBackend(() => this.session, this.hostBlocks) });
  }

  /** Opens the capture file for this session; call before session.start(). */
  attach(session: Session): void {
    this.session = session;
    // Learned in event order, after the reorder window: a connection made
    // right after the lookup that revealed an address can still get through.
    this.unfollowNames?.();
    this.unfollowNames = session.names.onLearn(({ host, aliases, addrs }) => this.hostBlocks.learned(host, aliases, addrs));
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
      const names = this.hostBlocks.size.names;
      lines.push({ label: 'blocklist', text: `${totals.entries} prefixes${names > 0 ? ` (${names} names)` : ''}, ${totals.packets} dropped`, warn: false });
    }
    if (this.writer) {
      const failure = this.writer.failure;
      lines.push({ label: 'pcap', text: failure ? `write failed: ${failure.message}` : `${this.writer.stats.packets} written`, warn: failure !== null });
    }
    return lines;
  }

  /** After the session stopped (every frame drained): closes the socket and completes the file; returns their part of the summary. */
  async close(): Promise<SummaryLine[]> {
    const lines: SummaryLine[] = [];
    await this.control?.close();
    this.control = null;
    this.unfollowNames?.();
    this.unfollowNames = null;
    const blocked = this.hostBlocks.size;
    const { namesRefused, addrsRefused, addrsSkipped, blockFailures } = this.hostBlocks.stats;
    if (blocked.names > 0 || namesRefused + addrsRefused + blockFailures + addrsSkipped > 0) {
      lines.push(ok('block-host', `${blocked.names} names held ${blocked.addrs} addresses${namesRefused > 0 ? `; ${namesRefused} names refused (answered at the time)` : ''}`));
      if (addrsRefused + blockFailures > 0) {
        lines.push(problem('block-host', `${addrsRefused + blockFailures} addresses of blocked names were NOT blocked: ${addrsRefused} over the bound of a name, ${blockFailures} the blocklist would not take`));
      }
      if (addrsSkipped > 0) lines.push(note('block-host', `${addrsSkipped} addresses skipped: they cannot be a source (0.0.0.0, ::)`));
    }
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
      const path = this.options.pcap?.path;
      lines.push(failure ? problem('pcap', `writing ${path} FAILED: ${failure.message}`) : ok('pcap', `${this.writer.stats.packets} packets written to ${path}`));
      this.writer = null;
    }
    return lines;
  }
}

/** 'xdp_eth0': 'generic (native refused by virtio_net: ...)' per traced interface. */
function xdpStats(interfaces: readonly TracedInterface[]): Record<string, StatValue> {
  const stats: Record<string, StatValue> = {};
  for (const { name, xdp } of interfaces) if (xdp) stats[`xdp_${name}`] = describeXdp(name, xdp).slice(name.length + 2);
  return stats;
}

/** The control socket's view of the session; every hook reads it when a command comes. */
function controlBackend(current: () => Session | null, hostBlocks: HostBlocks): ControlBackend {
  return {
    hostBlocks: {
      block: (name) =>
        blockHost(hostBlocks, name, {
          indexAddrs: (matches) => current()?.names.addrsOf(matches) ?? [],
          // From hostflow's own network namespace and resolver, as its user would resolve the name.
          lookup: async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address),
        }),
      unblock: (name) => hostBlocks.remove(name),
      list: () => hostBlocks.list(),
      sourceBlocked: (prefix) => hostBlocks.sourceBlocked(prefix),
      sourceUnblocked: (text) => hostBlocks.sourceUnblocked(text),
    },
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
        events_malformed: summary.malformed,
        probe_runs_skipped: summary.skippedTotal,
        events_late: summary.late,
        closes_recovered: summary.closesRecovered,
        capture_packets: summary.capture?.packets ?? 0,
        capture_lost: summary.capture?.lost ?? 0,
        blocked_prefixes: summary.blocked.length,
        blocked_hosts: hostBlocks.size.names,
        blocked_host_addrs: hostBlocks.size.addrs,
        block_host_names_refused: hostBlocks.stats.namesRefused,
        block_host_addrs_refused: hostBlocks.stats.addrsRefused,
        block_host_addrs_skipped: hostBlocks.stats.addrsSkipped,
        block_host_failures: hostBlocks.stats.blockFailures,
        block_host_addrs_learned: hostBlocks.stats.addrsLearned,
        ...xdpStats(summary.interfaces ?? []),
      };
    },
  };
}
