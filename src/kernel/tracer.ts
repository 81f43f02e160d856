/**
 * The kernel half of a hostflow session: opens and loads the BPF object,
 * attaches every probe (the connect probe through its fallback chain),
 * polls the ring buffers and hands decoded events on, reads the flow table
 * and the drop counters, keeps the blocklist, hands captured frames on, and
 * takes everything down again.
 */
import { existsSync } from 'node:fs';
import { HostflowError, firstLine } from '../errors.js';
import { ensureTracefs, type MountResult } from '../system/mounts.js';
import { interfaceDriver, interfaceIndex } from '../system/interfaces.js';
import { describeLibc, type LibcFile, type LibcScanStats } from '../system/libc-registry.js';
import { LibcTracker } from '../system/libc-tracker.js';
import { systemLibc } from '../system/libc.js';
import { decodeBatch, type DecodeStats, type KernelEvent } from './decode.js';
import { Blocklist } from './blocklist.js';
import { decodeFlows, type FlowEntry } from './flows.js';
import { BLOCKLIST_MAX, CAPTURE_MAX, COUNTER_NAMES, CaptureMode, ConnectProbe, DNS_EVENTS_BYTES, EVENTS_BYTES, FLOWS_MAX, PACKETS_BYTES, XDP_ERROR_MAX, type ConnectProbeName, type CounterName, xdpAttachError } from './layout.js';
import { decodePacketBatch, type CapturedPacket, type PacketDecodeStats } from './packets.js';
import { loadNative } from './native.js';
import type { BpfObject, LinkInfo, NativeAddon, RingPoller } from './native-api.js';
import { ALL_CONNECT_PROGRAMS, CONNECT_PROGRAMS, connectProbeCandidates, type ConnectProbeRequest } from './probe-plan.js';
import { offsetOf } from './struct.js';
import { attachXdpMode, type XdpAttachment, type XdpModeRequest } from './xdp-mode.js';

export interface TracerOptions {
  /** @default 'auto' */
  connectProbe: ConnectProbeRequest;
  /** Interfaces where XDP/TC count flows and capture DNS responses; none means no packet programs. */
  interfaces: readonly string[];
  /**
   * XDP mode: auto takes native where the driver accepts it and generic
   * where it refuses (keeping the reason); a forced mode that cannot attach
   * is an error. @default 'auto'
   */
  xdpMode?: XdpModeRequest;
  /** libc files whose getaddrinfo is traced from the start; one that cannot be attached is a warning. */
  libcs: readonly string[];
  /**
   * Also trace every libc that running and new processes map (containers'
   * included), found in /proc (see src/system/libc-tracker.ts). @default false
   */
  libcDiscovery?: boolean;
  /** Milliseconds between scans for new processes' libc files. @default 300 */
  libcScanMs?: number;
  /** One line per libc file that could not be traced (counted in `libcFiles()` either way). @default none */
  onWarning?: (line: string) => void;
  /** @default true */
  flows: boolean;
  /** @default true */
  dnsCapture: boolean;
  /** Entries of the per-CPU LRU flow table. @default 65536 */
  flowTableSize: number;
  /** Bytes of the events ring buffer (power of 2). @default 8 MiB */
  eventsRingBytes: number;
  /** Bytes of the wire-DNS ring buffer (power of 2). @default 4 MiB */
  dnsRingBytes: number;
  /**
   * The kernel wakes the poll thread once this many bytes wait in a ring
   * (0: on every record). Waking per record costs more than the tracing
   * itself on busy hosts; the poll thread also drains every `flushMs`, so a
   * quiet ring is read within 50 ms either way. @default 65536
   */
  wakeupBytes: number;
  /** Process whose own lookups and connections are left out; 0 for none. @default process.pid */
  excludePid: number;
  /**
   * Load the source-prefix blocklist into flow_xdp, so that prefixes can be
   * blocked at run time (`Tracer.blocklist`). Implied by a non-empty `block`.
   * @default false
   */
  blocklist?: boolean;
  /** Prefixes blocked from the start ('192.0.2.1', '10.0.0.0/8', 'fd00::/64'). @default [] */
  block?: readonly string[];
  /** Prefixes the blocklist holds per address family. @default 4096 (HF_BLOCKLIST_MAX) */
  blocklistSize?: number;
  /**
   * Frames copied for the packet capture (see src/capture/filter.ts,
   * parseCaptureSpec); they reach the `onPacket` handler. @default null (none)
   */
  capture?: CaptureOptions | null;
  /** Bytes of each frame copied, 1..65536; longer frames keep their real length. @default 65536 */
  snaplen?: number;
  /** Bytes of the capture ring buffer (power of 2). @default 16 MiB */
  captureRingBytes?: number;
}

/** What the kernel copies into the capture ring: CaptureSpec of src/capture/filter.ts. */
export interface CaptureOptions {
  mode: 'dropped' | 'all' | 'filter';
  /** struct hf_capture_filter (encodeFilter) for mode 'filter'. */
  filter: Buffer | null;
}

export const DEFAULT_TRACER_OPTIONS: TracerOptions = {
  connectProbe: 'auto',
  interfaces: [],
  xdpMode: 'auto',
  libcs: [],
  flows: true,
  dnsCapture: true,
  flowTableSize: FLOWS_MAX,
  eventsRingBytes: EVENTS_BYTES,
  dnsRingBytes: DNS_EVENTS_BYTES,
  wakeupBytes: 65536,
  excludePid: process.pid,
  blocklist: false,
  block: [],
  blocklistSize: BLOCKLIST_MAX,
  capture: null,
  snaplen: CAPTURE_MAX,
  captureRingBytes: PACKETS_BYTES,
};

export interface RejectedProbe {
  mode: ConnectProbeName;
  reason: string;
}

/** A traced interface, and the XDP mode it got (null when no packet programs run). */
export interface TracedInterface {
  name: string;
  ifindex: number;
  xdp: XdpAttachment | null;
}

/** What attached, how, and why other connect modes were not used. */
export interface AttachReport {
  connectProbe: ConnectProbeName;
  rejected: RejectedProbe[];
  links: LinkInfo[];
  interfaces: TracedInterface[];
  /** libc files traced at start, one line each (describeLibc): the given ones and, with discovery, every one mapped. */
  libcs: string[];
  tracefs: MountResult;
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

const RINGS = ['events', 'dns_events'] as const;

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0);
  return buffer;
}

function bool(value: boolean): Buffer {
  return Buffer.from([value ? 1 : 0]);
}

/** Facts the fallback chain needs, read without loading anything. */
export function kernelHasKprobes(tracefs: string | null): boolean {
  return existsSync('/sys/bus/event_source/devices/kprobe') || (tracefs !== null && existsSync(`${tracefs}/kprobe_events`));
}

export class Tracer {
  readonly decodeStats: DecodeStats = { records: 0, malformed: 0 };
  readonly packetStats: PacketDecodeStats = { packets: 0, bytes: 0, malformed: 0 };
  private closed = false;
  private finalSkipped: Record<string, number> | null = null;
  private packetPoller: RingPoller | null = null;
  private libcTracker: LibcTracker | null = null;
  /** The blocklist, null when the tracer was started without one (`options.blocklist`). */
  readonly blocklist: Blocklist | null;

  private constructor(
    private readonly object: BpfObject,
    private readonly poller: RingPoller,
    readonly report: AttachReport,
    blocklist: Blocklist | null,
  ) {
    this.blocklist = blocklist;
  }

  /**
   * Loads, attaches and starts polling. Throws a HostflowError with one
   * line a user can act on when anything required cannot be had; nothing
   * stays attached after a failure.
   */
  static start(options: TracerOptions, handlers: EventHandler | TracerHandlers, native: NativeAddon = loadNative()): Tracer {
    const { onEvent, onPacket } = typeof handlers === 'function' ? { onEvent: handlers, onPacket: undefined } : handlers;
    if (options.capture && !onPacket) throw new Error('Tracer.start: options.capture needs an onPacket handler');
    const snaplen = options.snaplen ?? CAPTURE_MAX;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > CAPTURE_MAX) throw new HostflowError(`the snaplen must be 1..${CAPTURE_MAX} bytes, got ${snaplen}`);
    if (!existsSync('/sys/kernel/btf/vmlinux')) {
      throw new HostflowError('this kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y');
    }
    const tracefs = ensureTracefs();
    if (!tracefs.path) throw new HostflowError(`${tracefs.error}; tracepoints and uprobes cannot be attached without it`);
    const interfaces: TracedInterface[] = options.interfaces.map((name) => ({ name, ifindex: interfaceIndex(name), xdp: null }));

    const rejected: RejectedProbe[] = [];
    for (const candidate of connectProbeCandidates(options.connectProbe, { kprobes: kernelHasKprobes(tracefs.path) })) {
      if (candidate.skipReason) {
        rejected.push({ mode: candidate.mode, reason: candidate.skipReason });
        continue;
      }
      let object: BpfObject | null = null;
      try {
        object = openAndLoad(native, candidate.mode, options);
        attachConnectProbe(object, candidate.mode);
      } catch (error) {
        object?.close();
        rejected.push({ mode: candidate.mode, reason: firstLine(error) });
        continue;
      }
      return Tracer.finishStart(object, candidate.mode, rejected, interfaces, options, tracefs, onEvent, onPacket, native);
    }
    const reasons = rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
    if (options.connectProbe === 'auto') throw new HostflowError(`no connect probe could be attached (${reasons})`);
    throw new HostflowError(`--connect-probe ${options.connectProbe} cannot be used: ${rejected[0]?.reason ?? 'unknown reason'}`);
  }

  private static finishStart(
    object: BpfObject,
    mode: ConnectProbeName,
    rejected: RejectedProbe[],
    interfaces: TracedInterface[],
    options: TracerOptions,
    tracefs: MountResult,
    onEvent: EventHandler,
    onPacket: PacketHandler | undefined,
    native: NativeAddon,
  ): Tracer {
    let blocklist: Blocklist | null = null;
    let libcTracker: LibcTracker | null = null;
    try {
      if (blocklistWanted(options)) {
        blocklist = new Blocklist(object, options.blocklistSize ?? BLOCKLIST_MAX, native.possibleCpus());
        // Before the XDP programs attach: the first frame already meets the list.
        for (const prefix of options.block ?? []) blocklist.block(prefix);
      }
      attach(() => object.attachTracepoint('sock_state', 'sock', 'inet_sock_set_state'));
      attach(() => object.attachTracepoint('tcp_retransmit', 'tcp', 'tcp_retransmit_skb'));
      // Catches the closes the kernel skipped in sock_state (nested BPF runs).
      attach(() => object.attachRawTracepoint('sock_destroy', 'tcp_destroy_sock'));
      libcTracker = new LibcTracker({ attach: (path) => attachGetaddrinfo(object, path), warn: options.onWarning, intervalMs: options.libcScanMs });
      const system = systemLibc();
      for (const libc of options.libcs) libcTracker.addFile(libc, libc === system ? 'system' : 'option');
      if (options.libcDiscovery) libcTracker.scanAll();
      if (packetProgramsWanted(options)) attachPacketPrograms(object, interfaces, options.xdpMode ?? 'auto');
    } catch (error) {
      object.close();
      throw error;
    }
    let tracer: Tracer | null = null;
    const stats: DecodeStats = { records: 0, malformed: 0 };
    const poller = new native.RingPoller(object, [...RINGS], (batch) => decodeBatch(batch, onEvent, tracer?.decodeStats ?? stats));
    tracer = new Tracer(
      object,
      poller,
      {
        connectProbe: mode,
        rejected,
        links: object.links(),
        interfaces,
        libcs: libcTracker.files().map(describeLibc),
        tracefs,
      },
      blocklist,
    );
    tracer.libcTracker = libcTracker;
    if (options.libcDiscovery) libcTracker.start();
    if (options.capture && onPacket) {
      const stats = tracer.packetStats;
      try {
        tracer.packetPoller = new native.RingPoller(object, ['packets'], (batch) => decodePacketBatch(batch, onPacket, stats), {
          batchBytes: CAPTURE_BATCH_BYTES,
        });
      } catch (error) {
        libcTracker.stop();
        object.close();
        throw error;
      }
    }
    return tracer;
  }

  /** Every entry of the flow table, counters summed over CPUs (cumulative since the entry was created). */
  readFlows(): FlowEntry[] {
    return decodeFlows(this.object.dumpMap('flows'));
  }

  /** The kernel side's drop and degradation counters, summed over CPUs. */
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

    counters(): Record<CounterName, number> {
    const result = {} as Record<CounterName, number>;
    COUNTER_NAMES.forEach((name, index) => {
      const perCpu = this.object.lookup('counters', u32(index));
      let total = 0;
      for (let at = 0; perCpu && at + 8 <= perCpu.length; at += 8) total += Number(perCpu.readBigUInt64LE(at));
      result[name] = total;
    });
    return result;
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
    return this.libcTracker?.files() ?? [];
  }

  /** What libc discovery read and could not read. */
  libcScanStats(): LibcScanStats | null {
    return this.libcTracker ? { ...this.libcTracker.stats } : null;
  }

  /** Records and batches the poll thread handed over. */
  pollerStats() {
    return this.poller.stats();
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
    this.closed = true;
    this.libcTracker?.stop();
    try {
      await Promise.all([this.poller.stop(), this.packetPoller?.stop()]);
      this.finalSkipped = this.skippedRuns();
      return this.counters();
    } finally {
      this.object.close();
    }
  }
}

/**
 * Loads and attaches one connect mode on its own and takes it down again:
 * null when the mode works here, else the reason it does not.
 */
export function tryConnectProbe(native: NativeAddon, mode: ConnectProbeName): string | null {
  let object: BpfObject | null = null;
  try {
    object = openAndLoad(native, mode, { ...DEFAULT_TRACER_OPTIONS, interfaces: [], libcs: [] });
    attachConnectProbe(object, mode);
    return null;
  } catch (error) {
    return firstLine(error);
  } finally {
    object?.close();
  }
}

/**
 * The libc files `hostflow` would trace now, the system's and every one
 * the running processes map, listed without attaching (doctor, when it
 * cannot start a tracer).
 */
export function listLibcs(): LibcFile[] {
  const tracker = new LibcTracker({
    attach: () => {
      throw new Error('not tried (needs the addon, privileges and tracefs)');
    },
  });
  const system = systemLibc();
  if (system) tracker.addFile(system, 'system');
  tracker.scanAll();
  return tracker.files();
}

/** Capture batches handed to JavaScript: 1 MiB is ~700 full-size frames per call. */
const CAPTURE_BATCH_BYTES = 1 << 20;
/** A ring buffer's smallest size: what an unused ring is shrunk to. */
const PAGE_BYTES = 4096;

function blocklistWanted(options: TracerOptions): boolean {
  return options.blocklist === true || (options.block?.length ?? 0) > 0;
}

function packetProgramsWanted(options: TracerOptions): boolean {
  return options.interfaces.length > 0 && (options.flows || options.dnsCapture || blocklistWanted(options) || !!options.capture);
}

function openAndLoad(native: NativeAddon, mode: ConnectProbeName, options: TracerOptions): BpfObject {
  const object = new native.BpfObject();
  try {
    const wanted = new Set(CONNECT_PROGRAMS[mode].map((entry) => entry.program));
    for (const program of ALL_CONNECT_PROGRAMS) object.setAutoload(program, wanted.has(program));
    // Always loaded: libc files found later attach to the loaded programs.
    object.setAutoload('getaddrinfo_entry', true);
    object.setAutoload('getaddrinfo_return', true);
    const packets = packetProgramsWanted(options);
    object.setAutoload('flow_xdp', packets);
    object.setAutoload('flow_tc', packets);
    object.setAutoload('xdp_attach_failed', packets);
    object.setConst('connect_probe', u32(ConnectProbe[mode]));
    object.setConst('exclude_tgid', u32(options.excludePid));
    object.setConst('capture_dns', bool(options.dnsCapture));
    object.setConst('count_flows', bool(options.flows));
    object.setConst('wakeup_bytes', u32(options.wakeupBytes));
    object.setMaxEntries('flows', options.flowTableSize);
    object.setMaxEntries('events', options.eventsRingBytes);
    object.setMaxEntries('dns_events', options.dnsRingBytes);
    const blocklistSize = blocklistWanted(options) ? (options.blocklistSize ?? BLOCKLIST_MAX) : 1;
    object.setConst('blocklist', bool(blocklistWanted(options)));
    object.setMaxEntries('blocked_v4', blocklistSize);
    object.setMaxEntries('blocked_v6', blocklistSize);
    object.setMaxEntries('block_counters', blocklistSize);
    const capture = options.capture ?? null;
    object.setConst('capture_mode', u32(capture ? CaptureMode[capture.mode] : CaptureMode.off));
    object.setConst('capture_snaplen', u32(options.snaplen ?? CAPTURE_MAX));
    if (capture?.mode === 'filter') {
      if (!capture.filter) throw new Error('Tracer: capture mode filter needs capture.filter (encodeFilter)');
      object.setConst('capture_filter', capture.filter);
    }
    object.setMaxEntries('packets', capture ? (options.captureRingBytes ?? PACKETS_BYTES) : PAGE_BYTES);
    object.load();
    return object;
  } catch (error) {
    object.close();
    throw error;
  }
}

function attachConnectProbe(object: BpfObject, mode: ConnectProbeName): void {
  for (const entry of CONNECT_PROGRAMS[mode]) {
    if (entry.kind === 'fentry') object.attachTracing(entry.program);
    else object.attachKprobe(entry.program, entry.func, entry.kind === 'kretprobe');
  }
}

/**
 * flow_xdp (in the mode `request` allows, recorded per interface) and
 * flow_tc on every interface. While they attach, xdp_attach_failed keeps the
 * kernel's reason for a refused XDP attach (Linux 6.5+; older kernels give
 * only the errno).
 */
function attachPacketPrograms(object: BpfObject, interfaces: TracedInterface[], request: XdpModeRequest): void {
  let reasons: LinkInfo | null = null;
  try {
    reasons = object.attachRawTracepoint('xdp_attach_failed', 'bpf_xdp_link_attach_failed');
  } catch {
    // No such tracepoint before 6.5: refusals are described by their errno.
  }
  try {
    for (const iface of interfaces) {
      iface.xdp = attachXdpMode(iface.name, request, {
        driver: interfaceDriver(iface.name),
        attach: (mode) => {
          clearXdpError(object);
          object.attachXdp('flow_xdp', iface.ifindex, mode);
        },
        kernelMessage: () => (reasons ? readXdpError(object) : null),
      });
      attach(() => object.attachTc('flow_tc', iface.ifindex, 'egress'));
    }
  } finally {
    if (reasons) object.detach(reasons.id);
  }
}

const XDP_ERROR_KEY = u32(0);

function clearXdpError(object: BpfObject): void {
  object.update('xdp_attach_error', XDP_ERROR_KEY, Buffer.alloc(xdpAttachError.size));
}

/** This process's last XDP refusal in the kernel's words, null when there is none. */
function readXdpError(object: BpfObject): string | null {
  const value = object.lookup('xdp_attach_error', XDP_ERROR_KEY);
  if (!value || value.readUInt32LE(offsetOf(xdpAttachError, 'tgid')) !== process.pid) return null;
  const start = offsetOf(xdpAttachError, 'msg');
  const bytes = value.subarray(start, start + XDP_ERROR_MAX);
  const end = bytes.indexOf(0);
  const message = bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8').trim();
  return message || null;
}

/** The getaddrinfo entry and return probes on one libc file, both or neither. */
function attachGetaddrinfo(object: BpfObject, path: string): LinkInfo[] {
  const entry = attach(() => object.attachUprobe('getaddrinfo_entry', path, 'getaddrinfo', false));
  try {
    return [entry, attach(() => object.attachUprobe('getaddrinfo_return', path, 'getaddrinfo', true))];
  } catch (error) {
    object.detach(entry.id);
    throw error;
  }
}

/** Runs one attach, turning a native failure into a one-line HostflowError. */
function attach(run: () => LinkInfo): LinkInfo {
  try {
    return run();
  } catch (error) {
    throw new HostflowError(firstLine(error), { cause: error });
  }
}
