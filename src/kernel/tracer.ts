/**
 * The kernel half of a hostflow session, behind one facade: start loads the
 * BPF object from the load table (load-plan.ts), trying the connect modes
 * of the fallback chain (probe-plan.ts), and attaches the rest by the
 * attach plan (attach-plan.ts); then the tracer polls the rings, reads the
 * maps for whoever asks, and takes everything down at stop.
 */
import { existsSync } from 'node:fs';
import { HostflowError, firstLine } from '../errors.js';
import { interfaceIndex } from '../system/interfaces.js';
import { describeLibc, type LibcFile, type LibcScanStats } from '../system/libc-registry.js';
import type { LibcTracker } from '../system/libc-tracker.js';
import { attachConnectProbe, attachHooks, attachPacketPrograms, type TracedInterface } from './attach.js';
import { interfaceSteps, type InterfaceChange } from './interface-watch.js';
import { planAttach, type AttachPlan } from './attach-plan.js';
import { Blocklist } from './blocklist.js';
import { readCounters } from './counters.js';
import { decodeBatch, type DecodeStats, type KernelEvent } from './decode.js';
import { flowTable, type FlowTable } from './flows.js';
import { kernelHasKprobes } from './kernel-probes.js';
import { CAPTURE_MAX, type ConnectProbeName, type CounterName } from './layout.js';
import { trackLibcs, attachGetaddrinfo } from './libc-probes.js';
import { openAndLoad } from './load-plan.js';
import { loadNative } from './native.js';
import type { BpfObject, LinkInfo, NativeAddon, RingPoller } from './native-api.js';
import { decodePacketBatch, type CapturedPacket, type PacketDecodeStats } from './packets.js';
import { connectProbeCandidates } from './probe-plan.js';
import { SOCKET_PROGRAMS, attachSocketHooks, socketHooksOff, type SocketHooksReport } from './socket-hooks.js';
import { socketHooksWanted, type TracerOptions } from './tracer-options.js';
import { decodeUdpConversations, encodeUdpConversationKey, type UdpConversationEntry } from './udp-convs.js';

export { DEFAULT_TRACER_OPTIONS, type CaptureOptions, type TracerOptions } from './tracer-options.js';
export type { TracedInterface } from './attach.js';
export type { SocketHooksReport } from './socket-hooks.js';

export interface RejectedProbe {
  mode: ConnectProbeName;
  reason: string;
}

/** What attached, how, and why other connect modes were not used. */
export interface AttachReport {
  connectProbe: ConnectProbeName;
  rejected: RejectedProbe[];
  links: LinkInfo[];
  interfaces: TracedInterface[];
  /** libc files traced at start, one line each (describeLibc): the given ones and, with discovery, every one mapped. */
  libcs: string[];
  /** The socket hooks on the cgroup v2 root: attached, or why not. */
  socketHooks: SocketHooksReport;
}

export type EventHandler = (event: KernelEvent) => void;
/** Called on the JavaScript thread per captured frame; `packet.data` is valid during the call only. */
export type PacketHandler = (packet: CapturedPacket) => void;

export interface TracerHandlers {
  onEvent: EventHandler;
  /** Required when `options.capture` is set. */
  onPacket?: PacketHandler;
}

/** Frames the capture ring delivered, and the ones it could not take. */
export interface CaptureStats {
  /** Frames handed to onPacket. */
  packets: number;
  /** Bytes of them (captured, not wire). */
  bytes: number;
  /** Frames the kernel could not put in the ring (ring full), ingress and egress. */
  lost: number;
  /** Records that did not decode (a bug if ever non-zero). */
  malformed: number;
}

/**
 * The event rings, polled by one thread and decoded in one stream (decode.ts
 * tells the records apart): connections and lookups, DNS answers, and the
 * ClientHellos/HTTP requests that carry server names, each in a ring of its
 * own so that a burst of one kind cannot crowd out another.
 */
const EVENT_RINGS = ['events', 'dns_events', 'payload_events'];
/** Capture batches handed to JavaScript: 1 MiB is ~700 full-size frames per call. */
const CAPTURE_BATCH_BYTES = 1 << 20;

/** A loaded object with its connect probe attached, and what start learned choosing it. */
interface Loaded {
  native: NativeAddon;
  object: BpfObject;
  options: TracerOptions;
  handlers: TracerHandlers;
  connectProbe: ConnectProbeName;
  rejected: RejectedProbe[];
  /** Resolved before anything loads: a missing interface fails first. */
  interfaces: TracedInterface[];
  /** Why the socket programs were not loaded; null when they were. */
  socketHooksOff: string | null;
}

/**
 * How often the lifecycle's sweep looks for remembered sockets that ended
 * while no probe ran (bpf/lifecycle.bpf.c, sock_sweep): such a close comes
 * up to this late, and its duration is long by as much.
 */
const SWEEP_INTERVAL_MS = 1000;

export class Tracer {
  readonly decodeStats: DecodeStats = { records: 0, malformed: 0 };
  readonly packetStats: PacketDecodeStats = { packets: 0, bytes: 0, malformed: 0 };
  /** The blocklist, null when the tracer was started without one (`options.blocklist`). */
  readonly blocklist: Blocklist | null = null;
  readonly report: AttachReport;
  /** hostflow's own network namespace cookie (SO_NETNS_COOKIE, 5.14+) as a decimal string, null where the kernel has none. */
  readonly netnsCookie: string | null;
  private readonly object: BpfObject;
  private readonly libcTracker: LibcTracker;
  private readonly eventPoller: RingPoller;
  private readonly packetPoller: RingPoller | null;
  private closed = false;
  private finalSkipped: Record<string, number> | null = null;
  /** XDP and TC per interface, null when no packet program runs. */
  private readonly packetPlan: AttachPlan['packets'];
  /** Interfaces whose device refused the attach again, by the ifindex refused. */
  private readonly attachFailed = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly onWarning: ((message: string) => void) | undefined;

  /**
   * Loads, attaches and starts polling. Throws a HostflowError with one
   * line a user can act on when anything required cannot be had; nothing
   * stays attached after a failure.
   */
  static start(options: TracerOptions, handlers: EventHandler | TracerHandlers, native: NativeAddon = loadNative()): Tracer {
    const resolved = typeof handlers === 'function' ? { onEvent: handlers } : handlers;
    if (options.capture && !resolved.onPacket) throw new Error('Tracer.start: options.capture needs an onPacket handler');
    const snaplen = options.snaplen ?? CAPTURE_MAX;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > CAPTURE_MAX)
      throw new HostflowError(`the snaplen must be 1..${CAPTURE_MAX} bytes, got ${snaplen}`);
    if (!existsSync('/sys/kernel/btf/vmlinux')) {
      throw new HostflowError('this kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y');
    }
    // No tracefs: the lifecycle programs are raw tracepoints, and kprobes and
    // uprobes attach through their PMUs (every kernel of 5.18+ that has them).
    const interfaces = options.interfaces.map((name) => ({ name, ifindex: interfaceIndex(name), xdp: null }));
    return new Tracer(loadConnectMode({ native, options, handlers: resolved, interfaces, socketHooksOff: null }), planAttach(options));
  }

  /** Attaches the plan to the loaded object and starts the pollers; closes the object when any of it fails. */
  private constructor(loaded: Loaded, plan: AttachPlan) {
    const { native, object, options, handlers, interfaces } = loaded;
    this.object = object;
    this.packetPlan = plan.packets;
    this.netnsCookie = native.netnsCookie();
    let libcTracker: LibcTracker | null = null;
    let socketHooks: SocketHooksReport = socketHooksOff(loaded.socketHooksOff ?? 'turned off');
    try {
      if (plan.blocklist) {
        this.blocklist = new Blocklist(object, plan.blocklist.size, native.possibleCpus());
        // Before the XDP programs attach: the first frame already meets the list.
        for (const prefix of plan.blocklist.block) this.blocklist.block(prefix);
      }
      attachHooks(object, plan.lifecycle);
      if (loaded.socketHooksOff === null) socketHooks = attachSocketHooks(object);
      libcTracker = trackLibcs(object, plan.libcs, options.onWarning);
      if (plan.packets) attachPacketPrograms(object, interfaces, plan.packets.xdpMode);
      const { onEvent, onPacket } = handlers;
      this.eventPoller = new native.RingPoller(object, [...EVENT_RINGS], (batch) => decodeBatch(batch, onEvent, this.decodeStats));
      this.packetPoller =
        options.capture && onPacket
          ? new native.RingPoller(object, ['packets'], (batch) => decodePacketBatch(batch, onPacket, this.packetStats), { batchBytes: CAPTURE_BATCH_BYTES })
          : null;
    } catch (error) {
      libcTracker?.stop();
      object.close();
      throw error;
    }
    this.libcTracker = libcTracker;
    this.report = {
      connectProbe: loaded.connectProbe,
      rejected: loaded.rejected,
      links: object.links(),
      interfaces,
      libcs: libcTracker.files().map(describeLibc),
      socketHooks,
    };
    if (plan.libcs.discovery) libcTracker.start();
    this.onWarning = options.onWarning;
    this.sweepTimer = setInterval(() => this.sweepSockets(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /**
   * Writes the closes of remembered sockets that ended without a probe run
   * (counted in close_recovered). A kernel that refuses to run the sweep
   * leaves those connections open in the records: said once, not retried.
   */
  private sweepSockets(): void {
    if (this.closed || this.sweepTimer === null) return;
    try {
      this.object.run('sock_sweep');
    } catch (error) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      this.onWarning?.(`closes the kernel's probes missed will not be found: ${firstLine(error)}`);
    }
  }

  /**
   * Follows the traced interfaces: one whose device went away loses its
   * links (the kernel already took the programs), one whose name is back
   * on a new device gets XDP and TC again. Cheap (an ioctl per interface):
   * the session calls it every second.
   */
  checkInterfaces(): InterfaceChange[] {
    if (!this.packetPlan || this.closed) return [];
    const changes: InterfaceChange[] = [];
    for (const { iface, gone, back } of interfaceSteps(this.report.interfaces, (name) => loadNative().interfaceIndex(name), this.attachFailed)) {
      if (gone !== null) {
        this.detachInterface(iface.name);
        iface.ifindex = 0;
        iface.xdp = null;
        changes.push({ name: iface.name, change: 'gone', ifindex: gone });
      }
      if (back === null) continue;
      try {
        iface.ifindex = back;
        attachPacketPrograms(this.object, [iface], this.packetPlan.xdpMode);
        this.attachFailed.delete(iface.name);
        changes.push({ name: iface.name, change: 'back', ifindex: back, xdpMode: iface.xdp?.mode ?? null });
      } catch (error) {
        this.detachInterface(iface.name);
        iface.ifindex = 0;
        iface.xdp = null;
        this.attachFailed.set(iface.name, back);
        changes.push({ name: iface.name, change: 'failed', ifindex: back, reason: firstLine(error) });
      }
    }
    if (changes.length > 0) this.report.links = this.object.links();
    return changes;
  }

  /** Drops the XDP and TC links of an interface; a device already gone makes a netlink filter's removal fail, which is expected. */
  private detachInterface(name: string): void {
    for (const link of this.object.links()) {
      const onIt = link.kind === 'xdp' ? link.target === name : link.target.startsWith(`${name}/`) && (link.kind === 'tcx' || link.kind === 'tc-netlink');
      if (!onIt) continue;
      try {
        this.object.detach(link.id);
      } catch {
        // The device took the attachment with it.
      }
    }
  }

  /** The flow table, counters summed over CPUs (cumulative since each entry was created). */
  readFlows(): FlowTable {
    // The cache first: a slot written back to `flows` meanwhile is found there (hostflow.h).
    const cache = this.object.dumpMap('flow_cache');
    return flowTable(this.object.dumpMap('flows'), cache);
  }

  /** Every live UDP conversation the socket hooks count (cumulative since the entry was created); [] without them. */
  readUdpConversations(): UdpConversationEntry[] {
    return decodeUdpConversations(this.object.dumpMap('udp_convs'));
  }

  /** Deletes ended conversations from the kernel's table, so that their slots are free again. */
  forgetUdpConversations(entries: ReadonlyArray<Pick<UdpConversationEntry, 'socket' | 'family' | 'raddr' | 'rport'>>): void {
    for (const entry of entries) this.object.delete('udp_convs', encodeUdpConversationKey(entry));
  }

  /**
   * Runs of each program the kernel skipped (recursion_misses): a BPF
   * program does not nest on a CPU, so a tracepoint hit in softirq while
   * another program runs there is dropped before any ring sees it. Only
   * programs with misses; read from the kernel until stop, then kept.
   */
  skippedRuns(): Record<string, number> {
    if (this.finalSkipped) return this.finalSkipped;
    const skipped: Record<string, number> = {};
    for (const program of this.object.programStats()) {
      if (program.recursionMisses > 0) skipped[program.name] = program.recursionMisses;
    }
    return skipped;
  }

  /** The kernel side's drop and degradation counters, summed over CPUs. */
  counters(): Record<CounterName, number> {
    return readCounters(this.object);
  }

  /**
   * Traces getaddrinfo in one more libc file (a path hostflow can open:
   * /proc/<pid>/root/... for a container's). Throws a one-line
   * HostflowError when it cannot; nothing of it stays attached then.
   */
  attachLibc(path: string): LinkInfo[] {
    return attachGetaddrinfo(this.object, path);
  }

  /** The libc files known (given and discovered), attached or not, with the processes mapping each. */
  libcFiles(): LibcFile[] {
    return this.libcTracker.files();
  }

  /** What libc discovery read and could not read. */
  libcScanStats(): LibcScanStats | null {
    return { ...this.libcTracker.stats };
  }

  /** Records and batches the event rings' poll thread handed over. */
  pollerStats() {
    return this.eventPoller.stats();
  }

  /** Captured frames delivered and lost so far (`counters` read once: call it at most a few times a second). */
  captureStats(counters: Record<CounterName, number> = this.counters()): CaptureStats {
    return {
      packets: this.packetStats.packets,
      bytes: this.packetStats.bytes,
      lost: counters.capture_lost_xdp + counters.capture_lost_tc,
      malformed: this.packetStats.malformed,
    };
  }

  /**
   * Drains the rings (every event reaches the handler before this
   * resolves), reads the final drop counters, then detaches everything.
   */
  async stop(): Promise<Record<CounterName, number>> {
    if (this.closed) throw new Error('Tracer.stop: already stopped');
    // Before the last drain: the closes it finds are delivered too.
    this.sweepSockets();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.closed = true;
    this.libcTracker.stop();
    try {
      await Promise.all([this.eventPoller.stop(), this.packetPoller?.stop()]);
      this.finalSkipped = this.skippedRuns();
      return this.counters();
    } finally {
      this.object.close();
    }
  }
}

/**
 * The fallback chain: loads the object for each candidate mode in turn and
 * attaches its connect probe; the first that works is kept, the others are
 * reported with their reason.
 */
function loadConnectMode(start: Omit<Loaded, 'object' | 'connectProbe' | 'rejected'>): Loaded {
  const off = socketHooksWanted(start.options) ? null : 'turned off';
  const { native, options } = start;
  const rejected: RejectedProbe[] = [];
  for (const candidate of connectProbeCandidates(options.connectProbe, { kprobes: kernelHasKprobes() })) {
    if (candidate.skipReason) {
      rejected.push({ mode: candidate.mode, reason: candidate.skipReason });
      continue;
    }
    let object: BpfObject | null = null;
    try {
      const loaded = loadWithSocketHooks(native, options, { mode: candidate.mode, cpus: native.possibleCpus() }, off);
      object = loaded.object;
      attachConnectProbe(object, candidate.mode);
      return { ...start, object, connectProbe: candidate.mode, rejected, socketHooksOff: loaded.socketHooksOff };
    } catch (error) {
      object?.close();
      rejected.push({ mode: candidate.mode, reason: firstLine(error) });
    }
  }
  const reasons = rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
  if (options.connectProbe === 'auto') throw new HostflowError(`no connect probe could be attached (${reasons})`);
  throw new HostflowError(`--connect-probe ${options.connectProbe} cannot be used: ${rejected[0]?.reason ?? 'unknown reason'}`);
}

const SOCKET_PROGRAM_NAMES = new Set(SOCKET_PROGRAMS.map(({ program }) => program));

/**
 * Loads the object with the socket programs (unless `off` says why not);
 * when the verifier of this kernel refuses one of them, loads it again
 * without them, and says why: the rest of hostflow does not depend on them.
 */
function loadWithSocketHooks(
  native: NativeAddon,
  options: TracerOptions,
  context: { mode: ConnectProbeName; cpus: number },
  off: string | null,
): { object: BpfObject; socketHooksOff: string | null } {
  if (off !== null) return { object: openAndLoad(native, options, { ...context, socketHooks: false }), socketHooksOff: off };
  try {
    return { object: openAndLoad(native, options, context), socketHooksOff: null };
  } catch (error) {
    const program = (error as { program?: unknown }).program;
    if (typeof program !== 'string' || !SOCKET_PROGRAM_NAMES.has(program)) throw error;
    return { object: openAndLoad(native, options, { ...context, socketHooks: false }), socketHooksOff: `the kernel refused to load them: ${firstLine(error)}` };
  }
}
