/**
 * The options of one run, from the command line's flags: what the session
 * traces, where records go, what runs beside it, and whether the UI opens.
 * The trace command and `hostflow doctor` both plan a run here, so doctor
 * checks the start the same flags would make.
 */
import type { CaptureSpec } from './capture/filter.js';
import { parseCaptureSpec } from './capture/filter.js';
import type { PcapFormat } from './capture/pcap-writer.js';
import { resolveControlGroup, type ControlGroup } from './control/control-group.js';
import { HostflowError } from './errors.js';
import { CAPTURE_MAX } from './kernel/layout.js';
import type { ConnectProbeRequest } from './kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS } from './kernel/tracer.js';
import type { XdpModeRequest } from './kernel/xdp-mode.js';
import { parseMetricsAddress } from './metrics/metrics-address.js';
import type { MetricsOptions } from './metrics/metrics-service.js';
import type { LineSinkOptions } from './output/line-sink.js';
import type { RecordType } from './records/types.js';
import type { SessionOptions } from './session.js';
import { storageOptionsFromFlags, type StorageFlags, type StorageOptions } from './storage/options.js';
import { checkPrivileges, currentCapabilities, MissingCapabilityError, privilegeWants } from './system/capabilities.js';
import { capabilitiesToKeep } from './system/capability-needs.js';
import { defaultInterfaces } from './system/interfaces.js';
import { libcTargets } from './system/libc.js';

/** The parsed flags of `hostflow [options]` (src/cli.ts declares them, with their defaults). */
export interface RunFlags extends StorageFlags {
  iface: string[];
  xdpMode: XdpModeRequest;
  connectProbe: ConnectProbeRequest;
  libc: string[];
  defaultLibc: boolean;
  libcDiscovery: boolean;
  flows: boolean;
  wireDns: boolean;
  serverNames: boolean;
  payloadRingSize: number;
  flowInterval: number;
  flowTableSize: number;
  socketTableSize: number;
  lookupTableSize: number;
  connectTableSize: number;
  udpTableSize: number;
  socketHooks: boolean;
  duration?: number;
  output?: string;
  headless?: boolean;
  ui?: boolean;
  format: 'json' | 'text';
  rotateSize?: number;
  rotateKeep: number;
  pid: number[];
  comm: string[];
  host: string[];
  port: number[];
  type: RecordType[];
  dnsMinTtl: number;
  processCacheSize: number;
  globalCacheSize: number;
  lateNameWindow: number;
  reorderWindow: number;
  dnsTimeout: number;
  udpIdle: number;
  cmdline?: boolean;
  traceSelf?: boolean;
  block: string[];
  control: string | false;
  controlGroup?: string;
  pcap?: string;
  capture?: CaptureSpec;
  pcapFormat: PcapFormat;
  snaplen: number;
  captureRingSize: number;
  summaryJson?: string;
  metrics?: string;
  metricsProcesses: number;
  metricsHostnames: number;
}

/** What runs beside the session. */
export interface ServiceOptions {
  /** Write captured frames here; undefined when not capturing. */
  pcap?: { path: string; format: PcapFormat; snaplen: number };
  /** Control socket path; undefined for none. */
  controlPath?: string;
  /** The group the control socket is opened to (--control-group); undefined: its owner only. */
  controlGroup?: ControlGroup;
  /** The Prometheus endpoint; undefined for none. */
  metrics?: MetricsOptions;
}

export interface RunPlan {
  session: SessionOptions;
  output: LineSinkOptions;
  /** Storage export; undefined for none. */
  storage: StorageOptions | undefined;
  services: ServiceOptions;
  /** Open the terminal UI (else headless). */
  ui: boolean;
  /** Once everything is attached, every thread drops all capabilities but these; undefined drops nothing (plans made by hand in tests). */
  keepCapabilities?: bigint;
}

/**
 * Holds the capabilities of this process against what the session wants:
 * throws one line per capability it cannot start without, logs one per
 * capability whose feature is only turned off, and turns the socket hooks
 * off when the kernel would refuse them (rather than loading twice).
 * Returns the capabilities to keep once everything is attached.
 */
function checkCapabilities(session: SessionOptions, log: (line: string) => void): bigint {
  const wants = privilegeWants(session.tracer);
  const held = currentCapabilities();
  const { fatal, degraded } = checkPrivileges(wants, held);
  if (fatal.length > 0) throw new MissingCapabilityError(fatal);
  for (const entry of degraded) log(entry.line);
  if (degraded.some((entry) => entry.capability === 'CAP_NET_ADMIN')) session.tracer = { ...session.tracer, socketHooks: false };
  return capabilitiesToKeep(wants, held);
}

/**
 * Checks the flags that contradict each other or this process (one-line
 * HostflowErrors) and plans the run; `log` receives the tracer's warnings.
 */
export function planRun(flags: RunFlags, log: (line: string) => void, stdoutIsTty = process.stdout.isTTY === true): RunPlan {
  const plan = planRunUnchecked(flags, log, stdoutIsTty);
  return { ...plan, keepCapabilities: checkCapabilities(plan.session, log) };
}

/** The plan without the capability check (doctor reports the check itself). */
export function planRunUnchecked(flags: RunFlags, log: (line: string) => void, stdoutIsTty = process.stdout.isTTY === true): RunPlan {
  if (flags.ui && flags.headless) throw new HostflowError('--ui and --headless exclude each other');
  const interfaces = flags.iface.length > 0 ? flags.iface : defaultInterfaces();
  if (flags.capture && !flags.pcap) throw new HostflowError('--capture needs --pcap FILE');
  if (flags.snaplen > CAPTURE_MAX) throw new HostflowError(`--snaplen is at most ${CAPTURE_MAX}`);
  const capture = flags.pcap ? (flags.capture ?? parseCaptureSpec('all')) : null;
  const blocking = flags.block.length > 0 || flags.control !== false;
  const packets = flags.flows || flags.wireDns || blocking || capture !== null;
  const session: SessionOptions = {
    tracer: {
      ...DEFAULT_TRACER_OPTIONS,
      connectProbe: flags.connectProbe,
      interfaces: packets ? interfaces : [],
      xdpMode: flags.xdpMode,
      libcs: libcTargets(flags.libc, !flags.defaultLibc),
      libcDiscovery: flags.defaultLibc && flags.libcDiscovery,
      onWarning: log,
      flows: flags.flows,
      dnsCapture: flags.wireDns,
      serverNames: flags.serverNames,
      payloadRingBytes: flags.payloadRingSize,
      flowTableSize: flags.flowTableSize,
      socketTableSize: flags.socketTableSize,
      lookupTableSize: flags.lookupTableSize,
      connectTableSize: flags.connectTableSize,
      udpTableSize: flags.udpTableSize,
      socketHooks: flags.socketHooks,
      excludePid: flags.traceSelf ? 0 : process.pid,
      blocklist: blocking,
      block: flags.block,
      capture,
      snaplen: flags.snaplen,
      captureRingBytes: flags.captureRingSize,
    },
    names: { minTtlSeconds: flags.dnsMinTtl, processEntries: flags.processCacheSize, globalEntries: flags.globalCacheSize },
    filter: { pids: flags.pid, comms: flags.comm, hostGlobs: flags.host, ports: flags.port, types: flags.type },
    flowIntervalSeconds: flags.flowInterval,
    lateNameWindowMs: flags.lateNameWindow,
    reorderWindowMs: flags.reorderWindow,
    dnsTimeoutSeconds: flags.dnsTimeout,
    udpIdleSeconds: flags.udpIdle,
    cmdline: flags.cmdline === true,
  };
  return {
    session,
    output: { path: flags.output, rotateBytes: flags.rotateSize, keep: flags.rotateKeep },
    storage: storageOptionsFromFlags(flags),
    services: {
      pcap: flags.pcap ? { path: flags.pcap, format: flags.pcapFormat, snaplen: flags.snaplen } : undefined,
      controlPath: flags.control === false ? undefined : flags.control,
      controlGroup: flags.controlGroup !== undefined && flags.control !== false ? resolveControlGroup(flags.controlGroup) : undefined,
      metrics:
        flags.metrics === undefined
          ? undefined
          : { address: parseMetricsAddress(flags.metrics), limits: { processes: flags.metricsProcesses, hostnamesPerProcess: flags.metricsHostnames } },
    },
    ui: flags.ui === true || (!flags.headless && stdoutIsTty),
  };
}
