/**
 * The tracer's options, each with its default, and the two facts several
 * parts of the tracer derive from them (whether the blocklist and the packet
 * programs are wanted). The map sizes default to the sizes bpf/hostflow.h
 * builds the object with (mirrored in layout.ts).
 */
import {
  BLOCKLIST_MAX,
  CAPTURE_MAX,
  CONNECTING_MAX,
  UDP_CONVS_MAX,
  DNS_EVENTS_BYTES,
  EVENTS_BYTES,
  FLOWS_MAX,
  LOOKUPS_MAX,
  PACKETS_BYTES,
  PAYLOAD_EVENTS_BYTES,
  SOCKETS_MAX,
} from './layout.js';
import type { ConnectProbeRequest } from './probe-plan.js';
import type { XdpModeRequest } from './xdp-mode.js';

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
  /**
   * The socket hooks (bpf/sockets.bpf.c) on the cgroup v2 root: DNS queries
   * and answers, UDP conversations and QUIC Initials of every local socket,
   * with the process that owns it. When they cannot attach (no cgroup2
   * mount, an old kernel) the tracer runs without them and says why
   * (`AttachReport.socketHooks`). @default true
   */
  socketHooks?: boolean;
  /**
   * Copy TLS ClientHellos and HTTP request heads on egress, for the server
   * name (SNI) or Host that names a connection no DNS named. flow_tc copies
   * them wherever it runs for another job (flows, wire DNS, the blocklist,
   * the capture); it does not run for them alone. @default true
   */
  serverNames?: boolean;
  /** Entries of the per-CPU LRU flow table. @default 65536 */
  flowTableSize: number;
  /**
   * TCP sockets the kernel remembers from connect (or accept) to close: the
   * open connections it can follow. When more are open, the one idle the
   * longest is forgotten and its close comes without its process. @default 65536
   */
  socketTableSize?: number;
  /**
   * getaddrinfo() calls in flight at once that the kernel can follow from
   * entry to return; a call pushed out is lost (counter lookups_full). @default 8192
   */
  lookupTableSize?: number;
  /**
   * tcp_v*_connect() calls in flight at once in kprobe mode; a call pushed
   * out is lost (counter connecting_full). @default 8192
   */
  connectTableSize?: number;
  /** UDP conversations counted at once (socket hooks); one pushed out ends uncounted. @default 16384 */
  udpTableSize?: number;
  /** Bytes of the events ring buffer (power of 2). @default 8 MiB */
  eventsRingBytes: number;
  /** Bytes of the wire-DNS ring buffer (power of 2). @default 4 MiB */
  dnsRingBytes: number;
  /** Bytes of the ring buffer of ClientHellos and HTTP request heads (power of 2); a page when `serverNames` is off. @default 4 MiB */
  payloadRingBytes?: number;
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
  socketHooks: true,
  serverNames: true,
  flowTableSize: FLOWS_MAX,
  socketTableSize: SOCKETS_MAX,
  lookupTableSize: LOOKUPS_MAX,
  connectTableSize: CONNECTING_MAX,
  udpTableSize: UDP_CONVS_MAX,
  eventsRingBytes: EVENTS_BYTES,
  dnsRingBytes: DNS_EVENTS_BYTES,
  payloadRingBytes: PAYLOAD_EVENTS_BYTES,
  wakeupBytes: 65536,
  excludePid: process.pid,
  blocklist: false,
  block: [],
  blocklistSize: BLOCKLIST_MAX,
  capture: null,
  snaplen: CAPTURE_MAX,
  captureRingBytes: PACKETS_BYTES,
};

export function blocklistWanted(options: TracerOptions): boolean {
  return options.blocklist === true || (options.block?.length ?? 0) > 0;
}

/** flow_xdp and flow_tc load and attach only when an interface is traced and one of their jobs is on. */
export function packetProgramsWanted(options: TracerOptions): boolean {
  return options.interfaces.length > 0 && (options.flows || options.dnsCapture || blocklistWanted(options) || !!options.capture);
}

/** The socket hooks load and attach unless turned off. */
export function socketHooksWanted(options: TracerOptions): boolean {
  return options.socketHooks !== false;
}

/** Server names are copied where flow_tc runs (TLS, HTTP) and at the sockets (QUIC), unless turned off. */
export function serverNamesWanted(options: TracerOptions): boolean {
  return options.serverNames !== false && (packetProgramsWanted(options) || socketHooksWanted(options));
}
