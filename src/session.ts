/**
 * One tracing session: the tracer's events wait in the reorder buffer, the
 * correlator turns them into records, every flow interval adds flow
 * records, and each record that passes the filter goes to every sink.
 * What runs beside it (the control socket, the capture file) subscribes to
 * it (onPacket, onApplied, names.onLearn) and reads it; the session never
 * calls into them. The kernel side comes from a tracer factory, so the
 * ordering here is tested without root.
 */
import { monotonicClock, type Clock } from './clock.js';
import {
  Correlator,
  type CorrelatorStats,
  type TableSizes,
  DEFAULT_DNS_TIMEOUT_MS,
  DEFAULT_LATE_NAME_WINDOW_MS,
  DEFAULT_UDP_IDLE_MS,
} from './correlate/correlator.js';
import { NameIndex, type NameIndexOptions } from './correlate/names.js';
import { ReorderBuffer } from './correlate/reorder.js';
import type { DnsTcpStats } from './dns/tcp-stream.js';
import { FlowIntervals, type FlowRead } from './flows/intervals.js';
import type { KernelEvent } from './kernel/decode.js';
import { WireStage, type ServerNameStats } from './wire/stage.js';
import { flowEntries, type FlowEntry, type FlowTable } from './kernel/flows.js';
import type { UdpConversationEntry } from './kernel/udp-convs.js';
import { COUNTER_NAMES, SOCKETS_MAX, UDP_CONVS_MAX, type CounterName } from './kernel/layout.js';
import type { FillLevel } from './format/fill-levels.js';
import { describeInterfaceChange, type InterfaceChange } from './kernel/interface-watch.js';
import { LOSS_COUNTERS } from './kernel/counters.js';
import type { Blocklist, BlockEntry } from './kernel/blocklist.js';
import { Tracer, type AttachReport, type CaptureStats, type TracedInterface, type TracerHandlers, type TracerOptions } from './kernel/tracer.js';
import type { SocketHooksReport } from './kernel/socket-hooks.js';
import type { CapturedPacket } from './kernel/packets.js';
import type { DecodeStats } from './kernel/decode.js';
import { Subscribers } from './subscribers.js';
import { compileFilter, type RecordFilterOptions } from './records/filter.js';
import type { HostflowRecord, RecordType } from './records/types.js';
import { ContainerResolver } from './system/container.js';
import { ProcessStarts } from './system/process-start.js';
import { ProcessIdentities, type ProcessIdentityStats } from './system/process-identity.js';
import type { LibcFile, LibcScanStats } from './system/libc-registry.js';
import { interfaceName } from './system/interfaces.js';

/** The defaults of SessionOptions: their one home (the CLI takes them from here). */
export const SESSION_DEFAULTS = {
  flowIntervalSeconds: 10,
  reorderWindowMs: 250,
  lateNameWindowMs: DEFAULT_LATE_NAME_WINDOW_MS,
  dnsTimeoutSeconds: DEFAULT_DNS_TIMEOUT_MS / 1000,
  udpIdleSeconds: DEFAULT_UDP_IDLE_MS / 1000,
} as const;

/** How often the UDP conversation table is read: conversations open within a second of their first datagram. */
export const UDP_SCAN_MS = 1000;
/** A released UDP socket's conversations end within this, not at the next regular read. */
const UDP_CLOSE_SCAN_MS = 100;
/** How often the tables' fill is sampled for its peak: a dozen size reads. */
const FILL_SAMPLE_MS = 1000;
/** How often the traced interfaces are looked up by name: an interface back is traced again within this. */
const INTERFACE_CHECK_MS = 1000;

export interface SessionOptions {
  tracer: TracerOptions;
  names: NameIndexOptions;
  filter: RecordFilterOptions;
  /** Seconds per flow record. @default 10 */
  flowIntervalSeconds: number;
  /** How long an event waits for older ones from other rings and CPUs. @default 250 */
  reorderWindowMs?: number;
  /** How long after a connection opened a DNS answer still names it (a `named` record). @default 10000 */
  lateNameWindowMs?: number;
  /** How long a DNS query a local socket sent waits for its response before it is a TIMEOUT lookup. @default 5 */
  dnsTimeoutSeconds?: number;
  /** A UDP conversation without a datagram for this long ends. @default 60 */
  udpIdleSeconds?: number;
  /** Records carry their process's command line (it can hold secrets). @default false */
  cmdline?: boolean;
}

/** What a session needs of the kernel side: the Tracer, or a stand-in in tests. */
export interface KernelTracer {
  readonly report: AttachReport;
  readonly blocklist: Blocklist | null;
  readonly decodeStats: DecodeStats;
  /** The flow table, counters cumulative. */
  readFlows(): FlowTable;
  /** The kernel's UDP conversation table (socket hooks attached), and the deletion of ended entries. */
  readUdpConversations(): UdpConversationEntry[];
  forgetUdpConversations(entries: readonly UdpConversationEntry[]): void;
  /** Traced interfaces that went away or came back since the last call (packet programs attached again to those back). */
  checkInterfaces(): InterfaceChange[];
  /** hostflow's own network namespace cookie: socket hooks see every namespace, and ifindexes are per namespace. */
  readonly netnsCookie: string | null;
  counters(): Record<CounterName, number>;
  skippedRuns(): Record<string, number>;
  libcFiles(): LibcFile[];
  libcScanStats(): LibcScanStats | null;
  captureStats(counters: Record<CounterName, number>): CaptureStats;
  /** Drains the rings (every event reaches the handler), then detaches; resolves to the final counters. */
  stop(): Promise<Record<CounterName, number>>;
}

/** Loads and attaches the kernel side; throws a one-line HostflowError when it cannot. */
export type StartTracer = (options: TracerOptions, handlers: TracerHandlers) => KernelTracer;

const startKernelTracer: StartTracer = (options, handlers) => Tracer.start(options, handlers);

export type RecordSink = (record: HostflowRecord) => void;

export interface SessionSummary {
  records: Record<RecordType, number>;
  /** Entries each user-space table holds at the time of the summary. */
  tables?: TableSizes;
  /** Traced interfaces that went away or came back, in order. */
  interfaceChanges?: InterfaceChange[];
  /** Each bounded table's entries, bound and peak this run. */
  fill?: FillLevel[];
  /** The kernel side's counters (summed over CPUs), by name; empty before start. */
  counters?: Partial<Record<CounterName, number>>;
  /** Events the kernel could not deliver, by counter. */
  lost: Partial<Record<CounterName, number>>;
  lostTotal: number;
  /** Program runs the kernel skipped (recursion_misses: nested BPF on a CPU), by program. */
  skipped: Record<string, number>;
  skippedTotal: number;
  /** Closes sock_state missed that tcp_destroy_sock emitted instead. */
  closesRecovered: number;
  malformed: number;
  /** Kernel events decoded (every record the ring buffers delivered). */
  events?: number;
  /** DNS messages seen on the wire that named nothing, by reason (src/dns/wire.ts). */
  wireSkipped?: Partial<Record<string, number>>;
  /** The traced interfaces and the XDP mode each got. */
  interfaces?: TracedInterface[];
  /** Interfaces whose TC program is a netlink filter (no tcx). */
  tcNetlink?: string[];
  /** The socket hooks: attached on the cgroup v2 root, or why not. */
  socketHooks?: SocketHooksReport;
  /** DNS over TCP: segments, messages reassembled, and what was skipped (src/dns/tcp-stream.ts). */
  dnsTcp?: DnsTcpStats;
  /** ClientHellos and HTTP requests decoded into server names, and the ones that named nothing. */
  serverNameDecode?: ServerNameStats | null;
  late: number;
  /** Frames captured and lost (ring full), when capturing. */
  capture: CaptureStats | null;
  /** The blocklist at the end, with what each entry dropped. */
  blocked: BlockEntry[];
  /** Late names given and server names (SNI, HTTP Host) used or not (src/correlate/correlator.ts). */
  naming?: NamingSummary;
  /** What the socket hooks saw: DNS queries and their fate, UDP conversations. */
  sockets?: SocketSummary;
  /** libc files found and whether getaddrinfo is traced in each (src/system/libc-registry.ts). */
  libc?: LibcFile[];
  libcScan?: LibcScanStats | null;
  /** How the processes of events were identified from /proc (src/system/process-identity.ts). */
  identity?: ProcessIdentityStats;
}

export interface SocketSummary {
  dnsQueries: CorrelatorStats['dnsQueries'];
  udp: CorrelatorStats['udp'];
  encryptedHellos: number;
  quicNamed: number;
}

export interface NamingSummary {
  lateNamed: number;
  sni: number;
  http: number;
  serverNamesIgnored: number;
  serverNamesInvalid: number;
  unnamedEvicted: number;
  /** Connections pushed out of user space's connection tables (4 x --socket-table-size). */
  connectionsEvicted: number;
  /** Connections whose socket the kernel reused before their close was seen: close records missing (the kernel ran no probe for it). */
  closesUnseen?: number;
  /** Names pushed out of the per-process and global name indexes by their bounds. */
  namesEvicted?: { process: number; global: number };
}

/** Connections user space tracks per socket the kernel follows (--socket-table-size): 4 x 65,536 by default. */
const CONNECTIONS_PER_KERNEL_SOCKET = 4;

/** How often events that have waited out the reorder window are applied. */
export const RELEASE_EVERY_MS = 50;
/** Flow records written per turn of the event loop: a few milliseconds of work. */
const FLOWS_PER_TURN = 1000;
/** Without flows, how long a closed connection's process is still known: its last captured frames name it. */
const CLOSED_LINGER_NS = 2e9;

/** The flow table as read at the end of one interval. */
interface FlowSnapshot {
  snapshot: FlowTable;
  startNs: number;
  endNs: number;
}

/** The UDP conversation table as read at one time. */
interface UdpSnapshot {
  snapshot: UdpConversationEntry[];
  endNs: number;
}

export class Session {
  readonly clock: Clock = monotonicClock();
  readonly names: NameIndex;
  readonly records: Record<RecordType, number> = { dns: 0, conn: 0, flow: 0, udp: 0 };
  private readonly reorder: ReorderBuffer<KernelEvent>;
  /** Between reordering and correlation: TCP segments from port 53 become whole DNS messages. */
  /** Between reordering and correlation: bytes off the wire become names. */
  private readonly wire = new WireStage();
  private readonly toCorrelator = (event: KernelEvent): void => this.wire.handle(event, (named) => this.correlator.handle(named));
  private readonly reorderWindowNs: number;
  private readonly correlator: Correlator;
  private readonly processStarts = new ProcessStarts();
  private readonly identities: ProcessIdentities;
  private readonly intervals = new FlowIntervals();
  private readonly accept: (record: HostflowRecord) => boolean;
  private tracer: KernelTracer | null = null;
  private readonly packets = new Subscribers<CapturedPacket>();
  private readonly applied = new Subscribers<number>();
  private ifnames = new Map<number, string>();
  private intervalStartNs = 0;
  private timers: NodeJS.Timeout[] = [];
  /** What happened to traced interfaces during the run, in order. */
  private readonly interfaceChanges: InterfaceChange[] = [];
  /** The most entries each bounded table held, sampled every FILL_SAMPLE_MS. */
  private readonly fillPeaks = new Map<string, number>();
  /**
   * Flow snapshots wait until the events up to their end have left the
   * reorder buffer, so a connection established just before the snapshot
   * already owns its flows.
   */
  private pendingFlows: FlowSnapshot[] = [];
  /** The interval whose flow records are being written, a slice per turn of the event loop; null between. */
  private flowsWriting: FlowRead | null = null;
  /** UDP conversation reads wait the same way, so that the lookup before a first datagram names it. */
  private pendingUdp: UdpSnapshot[] = [];
  private udpCloseScan: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: SessionOptions,
    private readonly sinks: RecordSink[],
    private readonly startTracer: StartTracer = startKernelTracer,
  ) {
    this.names = new NameIndex(options.names);
    this.reorderWindowNs = (options.reorderWindowMs ?? SESSION_DEFAULTS.reorderWindowMs) * 1e6;
    this.reorder = new ReorderBuffer(this.reorderWindowNs);
    this.accept = compileFilter(options.filter);
    this.identities = new ProcessIdentities({ cmdline: options.cmdline === true });
    this.correlator = new Correlator({
      names: this.names,
      clock: this.clock,
      interfaceName: (ifindex) => interfaceName(ifindex, this.ifnames),
      socketInterfaceName: (ifindex, netns) => this.socketInterfaceName(ifindex, netns),
      containers: new ContainerResolver(),
      identify: (task) => this.identities.identify(task),
      excludePid: options.tracer.excludePid,
      emit: (record) => this.emit(record),
      startedBeforeTrace: (pid) => this.processStarts.startedBeforeTrace(pid),
      lateNameWindowMs: options.lateNameWindowMs,
      dnsTimeoutMs: (options.dnsTimeoutSeconds ?? SESSION_DEFAULTS.dnsTimeoutSeconds) * 1000,
      udpIdleMs: (options.udpIdleSeconds ?? SESSION_DEFAULTS.udpIdleSeconds) * 1000,
      // The kernel's open sockets, and room for a flow interval of closed ones and UDP conversations.
      // Flow records and capture comments ask who owns a 4-tuple; nothing else does.
      keepOwners: (options.tracer.flows && options.tracer.interfaces.length > 0) || options.tracer.capture != null,
      connectionEntries: CONNECTIONS_PER_KERNEL_SOCKET * (options.tracer.socketTableSize ?? SOCKETS_MAX),
    });
  }

  /**
   * A device a socket hook saw, by its index in the socket's network
   * namespace: named only in hostflow's own (the same index elsewhere is
   * another device); null when the namespace is another or unknown.
   */
  private socketInterfaceName(ifindex: number, netns: string | null): string | null {
    const own = this.tracer?.netnsCookie ?? null;
    if (ifindex === 0 || own === null || netns === null || netns !== own) return null;
    return interfaceName(ifindex, this.ifnames);
  }

  /** Attaches everything and starts the timers; throws a one-line HostflowError when it cannot. */
  start(): AttachReport {
    // Before any probe: a process of the snapshot is one the kernel's fork tracking never saw.
    this.identities.snapshot();
    this.tracer = this.startTracer(this.options.tracer, { onEvent: (event) => this.arrived(event), onPacket: (packet) => this.packets.emit(packet) });
    const { report } = this.tracer;
    this.processStarts.markTraceStart();
    this.correlator.setProbe(report.connectProbe);
    this.ifnames = new Map(report.interfaces.map(({ name, ifindex }) => [ifindex, name]));
    this.intervalStartNs = this.clock.nowNs();
    this.timers = [setInterval(() => this.releaseEvents(), RELEASE_EVERY_MS)];
    if (this.flowsCounted()) this.timers.push(setInterval(() => this.snapshotFlows(), this.options.flowIntervalSeconds * 1000));
    if (this.udpCounted()) this.timers.push(setInterval(() => this.snapshotUdp(), UDP_SCAN_MS));
    this.timers.push(setInterval(() => this.fillLevels(), FILL_SAMPLE_MS));
    if (report.interfaces.length > 0) this.timers.push(setInterval(() => this.checkInterfaces(), INTERFACE_CHECK_MS));
    return report;
  }

  /** Says what happened to each traced interface that went away or came back; a device back keeps its name in records. */
  private checkInterfaces(): void {
    const changes = this.tracer?.checkInterfaces() ?? [];
    for (const change of changes) {
      if (change.change === 'back') this.ifnames.set(change.ifindex, change.name);
      this.interfaceChanges.push(change);
      this.options.tracer.onWarning?.(describeInterfaceChange(change));
    }
  }

  private udpCounted(): boolean {
    return this.tracer?.report.socketHooks.attached ?? false;
  }

  private arrived(event: KernelEvent): void {
    // A released socket's conversations end soon, with their final counts.
    if (event.kind === 'udpClose' && !this.udpCloseScan && this.timers.length > 0) {
      this.udpCloseScan = setTimeout(() => {
        this.udpCloseScan = null;
        this.snapshotUdp();
      }, UDP_CLOSE_SCAN_MS);
    }
    // A pid that ran at the start is checked while it still runs (it may be
    // reused): by the time the reorder window releases its connection, a
    // short-lived process is gone.
    if ((event.kind === 'connect' || event.kind === 'established') && event.task.pid !== 0) this.processStarts.startedBeforeTrace(event.task.pid);
    // Who the process is, read now while it runs: a short-lived one is gone by the time its record is written.
    if ('task' in event && event.task && event.task.pid !== 0) this.identities.identify(event.task);
    this.reorder.push(event);
  }

  private flowsCounted(): boolean {
    return this.options.tracer.flows && this.options.tracer.interfaces.length > 0;
  }

  private emit(record: HostflowRecord): void {
    if (!this.accept(record)) return;
    this.records[record.type]++;
    for (const sink of this.sinks) sink(record);
  }

  private releaseEvents(): void {
    const nowNs = this.clock.nowNs();
    this.reorder.release(nowNs, this.toCorrelator);
    const releasedUpToNs = nowNs - this.reorderWindowNs;
    this.correlator.advanceTo(releasedUpToNs);
    while (this.pendingUdp[0] && this.pendingUdp[0].endNs <= releasedUpToNs) this.applyUdp(this.pendingUdp.shift() as UdpSnapshot);
    // One interval at a time; the events after its end go on being applied
    // while it is written (holding them kept a second of events alive).
    if (!this.flowsWriting && this.pendingFlows[0] && this.pendingFlows[0].endNs <= releasedUpToNs) {
      this.writeFlows(this.pendingFlows.shift() as FlowSnapshot);
    }
    // Without flow intervals nothing else forgets closed connections.
    if (!this.flowsCounted()) this.correlator.forgetClosed(releasedUpToNs - CLOSED_LINGER_NS);
    this.applied.emit(releasedUpToNs);
  }

  /**
   * Captured frames, as they arrive (tracer.capture set), on the JavaScript
   * thread; `packet.data` is valid during the call only. Returns the call
   * that unsubscribes.
   */
  onPacket(listener: (packet: CapturedPacket) => void): () => void {
    return this.packets.add(listener);
  }

  /**
   * Every event with a kernel time up to the given one has been applied
   * (names learned, connections known): announced after each release of
   * the reorder window, and with Infinity once the session stopped.
   */
  onApplied(listener: (upToNs: number) => void): () => void {
    return this.applied.add(listener);
  }

  /** The monotonic time of the newest event that still waits in the reorder window, as the window is: events older than now minus this are applied. */
  get reorderWindowMs(): number {
    return this.reorderWindowNs / 1e6;
  }

  private snapshotFlows(): void {
    if (!this.tracer) return;
    const endNs = this.clock.nowNs();
    this.pendingFlows.push({ snapshot: this.tracer.readFlows(), startNs: this.intervalStartNs, endNs });
    this.intervalStartNs = endNs;
  }

  private snapshotUdp(): void {
    if (!this.tracer || !this.udpCounted()) return;
    const snapshot = this.tracer.readUdpConversations();
    for (const entry of snapshot) if (entry.task.pid !== 0) this.identities.identify(entry.task);
    this.pendingUdp.push({ snapshot, endNs: this.clock.nowNs() });
  }

  private applyUdp({ snapshot, endNs }: UdpSnapshot, tracer = this.tracer): void {
    const ended = this.correlator.udpConversations(snapshot, endNs);
    if (ended.length > 0) tracer?.forgetUdpConversations(ended);
  }

  /**
   * Writes an interval's flow records FLOWS_PER_TURN at a time, yielding to
   * the event loop between slices: tens of thousands of flows written in
   * one turn stalled event delivery (the rings fill meanwhile) for the
   * whole interval's work.
   */
  private writeFlows({ snapshot, startNs, endNs }: FlowSnapshot): void {
    const writing = this.intervals.read(snapshot, startNs, endNs);
    this.flowsWriting = writing;
    const slice = () => {
      if (writing.done) return;
      if (!this.writeFlowSlice(writing, FLOWS_PER_TURN)) setImmediate(slice);
    };
    slice();
  }

  /** Writes up to `flows` more flows of the interval; true once it is all written. */
  private writeFlowSlice(writing: FlowRead, flows: number): boolean {
    if (!writing.step((delta) => this.emit(this.correlator.flowRecord(delta)), flows)) return false;
    this.correlator.forgetClosed(writing.intervalStartNs);
    if (this.flowsWriting === writing) this.flowsWriting = null;
    return true;
  }

  /** All of an interval's flows now (stop). */
  private emitFlows({ snapshot, startNs, endNs }: FlowSnapshot): void {
    this.writeFlowSlice(this.intervals.read(snapshot, startNs, endNs), Infinity);
  }

  /** Entries each user-space table holds now. */
  tableSizes(): TableSizes {
    const names = this.names.sizes;
    return {
      ...this.correlator.tableSizes(),
      namesByProcess: names.process,
      namesGlobal: names.global,
      flows: this.intervals.size,
      reorder: this.reorder.size,
      processes: this.identities.size,
    };
  }

  /**
   * How full each bounded table is, its peak this run updated on the way.
   * The kernel's socket table is read through its mirror here (the open
   * connections), not counted in the kernel: a count would walk the map.
   */
  fillLevels(): FillLevel[] {
    const sizes = this.tableSizes();
    const bounds = this.correlator.tableCapacities();
    const names = this.names.capacities;
    const tracer = this.options.tracer;
    const rows: Array<[table: string, used: number, capacity: number, option: string | null]> = [
      ['kernel_sockets', sizes.connections, tracer.socketTableSize ?? SOCKETS_MAX, '--socket-table-size'],
      ['connections', Math.max(sizes.connections, sizes.owners), bounds.connections, '--socket-table-size'],
      ['unnamed_connections', sizes.unnamed, bounds.unnamed, null],
      ['dns_queries', sizes.dnsQueries, bounds.dnsQueries, null],
      ['names_by_process', sizes.namesByProcess, names.process, '--process-cache-size'],
      ['names_global', sizes.namesGlobal, names.global, '--global-cache-size'],
      ['processes', sizes.processes, this.identities.capacity, null],
    ];
    // Flows read include those still only in the per-CPU slot cache (flow_cache): the hash holds at most its bound.
    if (this.flowsCounted()) rows.push(['kernel_flows', Math.min(sizes.flows, tracer.flowTableSize), tracer.flowTableSize, '--flow-table-size']);
    if (this.udpCounted()) rows.push(['kernel_udp_conversations', sizes.udpConversations, tracer.udpTableSize ?? UDP_CONVS_MAX, '--udp-table-size']);
    return rows.map(([table, used, capacity, option]) => {
      const peak = Math.max(used, this.fillPeaks.get(table) ?? 0);
      this.fillPeaks.set(table, peak);
      return { table, used, peak, capacity, option };
    });
  }

  /** An interface's name for records and capture files. */
  interfaceName(ifindex: number): string {
    return interfaceName(ifindex, this.ifnames);
  }

  /** The run-time blocklist (control socket), null without one. */
  get blocklist(): Blocklist | null {
    return this.tracer?.blocklist ?? null;
  }

  /** The kernel flow table now (cumulative counters). */
  readFlows(): FlowEntry[] {
    return this.tracer ? flowEntries(this.tracer.readFlows()) : [];
  }

  /** The local process of a TCP 4-tuple, either orientation. */
  processOf(saddr: string, sport: number, daddr: string, dport: number): { pid: number; comm: string } | null {
    return this.correlator.processOf(saddr, sport, daddr, dport);
  }

  /** Kernel events decoded so far (every record the ring buffers delivered). */
  get eventsDecoded(): number {
    return this.tracer?.decodeStats.records ?? 0;
  }

  /** The attach report of the running tracer, null before start and after stop. */
  get report(): AttachReport | null {
    return this.tracer?.report ?? null;
  }

  /** The kernel's drop counters and the decoder's, right now (a few map reads: call it at most a few times a second). */
  summary(counters = this.tracer?.counters(), blocked = this.tracer?.blocklist?.list() ?? []): SessionSummary {
    const lost: Partial<Record<CounterName, number>> = {};
    let lostTotal = 0;
    for (const name of COUNTER_NAMES) {
      const value = counters?.[name] ?? 0;
      if (LOSS_COUNTERS.has(name) && value > 0) {
        lost[name] = value;
        lostTotal += value;
      }
    }
    const skipped = this.tracer?.skippedRuns() ?? {};
    const {
      lateNamed,
      serverNamesUsed,
      serverNamesIgnored,
      serverNamesInvalid,
      unnamedEvicted,
      connectionsEvicted,
      closesUnseen,
      dnsQueries,
      udp,
      encryptedHellos,
      quicNamed,
    } = this.correlator.stats;
    const wire = this.wire.stats;
    return {
      records: { ...this.records },
      counters: { ...counters },
      lost,
      lostTotal,
      skipped,
      skippedTotal: Object.values(skipped).reduce((sum, n) => sum + n, 0),
      closesRecovered: counters?.close_recovered ?? 0,
      malformed: this.tracer?.decodeStats.malformed ?? 0,
      events: this.tracer?.decodeStats.records ?? 0,
      wireSkipped: wire.dnsSkipped,
      interfaces: this.tracer?.report.interfaces ?? [],
      interfaceChanges: [...this.interfaceChanges],
      tcNetlink: this.tracer?.report.links.filter((link) => link.kind === 'tc-netlink').map((link) => link.target) ?? [],
      socketHooks: this.tracer?.report.socketHooks,
      dnsTcp: wire.dnsTcp,
      serverNameDecode: wire.serverNames,
      late: this.reorder.late,
      naming: {
        lateNamed,
        ...serverNamesUsed,
        serverNamesIgnored,
        serverNamesInvalid,
        unnamedEvicted,
        connectionsEvicted,
        closesUnseen,
        namesEvicted: this.names.evicted,
      },
      tables: this.tableSizes(),
      fill: this.fillLevels(),
      sockets: { dnsQueries: { ...dnsQueries }, udp: { ...udp }, encryptedHellos, quicNamed },
      capture: this.tracer && this.options.tracer.capture && counters ? this.tracer.captureStats(counters) : null,
      blocked,
      libc: this.tracer?.libcFiles() ?? [],
      libcScan: this.tracer?.libcScanStats() ?? null,
      identity: { ...this.identities.stats },
    };
  }

  /**
   * Ends the session: reads the last flow interval, drains the rings so
   * every event becomes a record, writes the last flows, detaches.
   */
  async stop(): Promise<SessionSummary> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.udpCloseScan) clearTimeout(this.udpCloseScan);
    this.udpCloseScan = null;
    const tracer = this.tracer;
    if (!tracer) return this.summary();
    // The interval being written is finished before any later event is applied.
    if (this.flowsWriting) this.writeFlowSlice(this.flowsWriting, Infinity);
    if (this.flowsCounted()) this.snapshotFlows();
    // The table closes with the tracer: the last read is its final counts.
    this.snapshotUdp();
    // The blocklist's maps close with the tracer: read them first.
    const blocked = tracer.blocklist?.list() ?? [];
    const counters = await tracer.stop();
    this.reorder.flush(this.toCorrelator);
    this.wire.finish();
    this.correlator.advanceTo(this.clock.nowNs());
    for (const pending of this.pendingUdp) this.applyUdp(pending, null);
    this.pendingUdp = [];
    this.correlator.finishUdp();
    for (const pending of this.pendingFlows) this.emitFlows(pending);
    this.pendingFlows = [];
    this.applied.emit(Number.POSITIVE_INFINITY);
    const summary = this.summary(counters, blocked);
    this.tracer = null;
    return summary;
  }
}
