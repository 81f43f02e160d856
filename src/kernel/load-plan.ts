/**
 * What the tracer sets in the BPF object between open and load, as three
 * tables read top to bottom: the programs loaded, every `const volatile`
 * (bpf/README.md, Configuration), every map size. Each row derives its
 * value from the options and the connect mode being tried. `loadSettings`
 * is pure (tested without a kernel); `openAndLoad` applies it.
 */
import {
  BLOCKLIST_MAX,
  CAPTURE_MAX,
  CONNECTING_MAX,
  CaptureMode,
  FLOW_CACHE_SLOTS,
  LOOKUPS_MAX,
  PACKETS_BYTES,
  PROCESSES_MAX,
  UDP_CONVS_MAX,
  PAYLOAD_EVENTS_BYTES,
  SOCKETS_MAX,
  type ConnectProbeName,
} from './layout.js';
import type { BpfObject, NativeAddon } from './native-api.js';
import { ALL_CONNECT_PROGRAMS, CONNECT_PROGRAMS } from './probe-plan.js';
import { SOCKET_PROGRAMS } from './socket-hooks.js';
import { blocklistWanted, packetProgramsWanted, serverNamesWanted, socketHooksWanted, type TracerOptions } from './tracer-options.js';

/** What a load depends on besides the options. */
export interface LoadContext {
  /** The connect mode being tried: its programs load, the others do not. */
  mode: ConnectProbeName;
  /** Possible CPUs (the kernel's LRU keeps free entries per CPU). */
  cpus: number;
  /** False when a load with the socket hooks failed on them: the retry leaves them out. @default socketHooksWanted(options) */
  socketHooks?: boolean;
}

const socketHooksLoad: Derive<boolean> = (options, context) => context.socketHooks ?? socketHooksWanted(options);

type Derive<T> = (options: TracerOptions, context: LoadContext) => T;

/** A ring buffer's smallest size: what an unused ring is shrunk to. */
export const PAGE_BYTES = 4096;

/**
 * Free entries the kernel's LRU maps keep on each CPU's own list
 * (LOCAL_FREE_TARGET, kernel/bpf/bpf_lru_list.c): an LRU table starts
 * evicting when its shared free list runs dry, which can be this many
 * entries per CPU before it holds max_entries.
 */
export const LRU_FREE_PER_CPU = 128;

/** max_entries of an LRU table that holds `live` entries before it evicts any. */
export function lruEntries(live: number, cpus: number): number {
  return live + LRU_FREE_PER_CPU * cpus;
}

/** Every program of the object, and when it loads (a program not loaded cannot attach). */
export const PROGRAMS: ReadonlyArray<{ program: string; load: Derive<boolean> }> = [
  ...ALL_CONNECT_PROGRAMS.map((program) => ({
    program,
    load: ((_, { mode }) => CONNECT_PROGRAMS[mode].some((entry) => entry.program === program)) as Derive<boolean>,
  })),
  { program: 'sock_state', load: () => true },
  { program: 'tcp_retransmit', load: () => true },
  { program: 'sock_destroy', load: () => true },
  // Never attached: the tracer runs it (Tracer.sweepSockets).
  { program: 'sock_sweep', load: () => true },
  // Always: libc files found later attach to the loaded programs.
  { program: 'getaddrinfo_entry', load: () => true },
  { program: 'getaddrinfo_return', load: () => true },
  { program: 'flow_xdp', load: packetProgramsWanted },
  { program: 'flow_tc', load: packetProgramsWanted },
  { program: 'xdp_attach_failed', load: packetProgramsWanted },
  ...SOCKET_PROGRAMS.map(({ program }) => ({ program, load: socketHooksLoad })),
];

/** Every `const volatile` the tracer sets; null keeps the object's own value. */
export const CONSTS: ReadonlyArray<{ name: string; value: Derive<Buffer | null> }> = [
  { name: 'exclude_tgid', value: (options) => u32(options.excludePid) },
  { name: 'wakeup_bytes', value: (options) => u32(options.wakeupBytes) },
  { name: 'count_flows', value: (options) => bool(options.flows) },
  { name: 'capture_dns', value: (options) => bool(options.dnsCapture) },
  { name: 'capture_names', value: (options) => bool(serverNamesWanted(options)) },
  { name: 'blocklist', value: (options) => bool(blocklistWanted(options)) },
  { name: 'capture_mode', value: (options) => u32(options.capture ? CaptureMode[options.capture.mode] : CaptureMode.off) },
  { name: 'capture_snaplen', value: (options) => u32(options.snaplen ?? CAPTURE_MAX) },
  { name: 'capture_filter', value: captureFilter },
];

/** Every map the tracer sizes: ring buffers in bytes, tables in entries. */
export const MAP_SIZES: ReadonlyArray<{ map: string; entries: Derive<number> }> = [
  { map: 'events', entries: (options) => options.eventsRingBytes },
  { map: 'dns_events', entries: (options) => options.dnsRingBytes },
  { map: 'payload_events', entries: (options) => (serverNamesWanted(options) ? (options.payloadRingBytes ?? PAYLOAD_EVENTS_BYTES) : PAGE_BYTES) },
  { map: 'flows', entries: (options) => options.flowTableSize },
  // Without flow counting nothing uses the slots: one, the map must exist.
  { map: 'flow_cache', entries: (options) => (options.flows ? FLOW_CACHE_SLOTS : 1) },
  { map: 'sockets', entries: (options, { cpus }) => lruEntries(options.socketTableSize ?? SOCKETS_MAX, cpus) },
  { map: 'lookups', entries: (options, { cpus }) => lruEntries(options.lookupTableSize ?? LOOKUPS_MAX, cpus) },
  { map: 'connecting', entries: (options, { cpus }) => lruEntries(options.connectTableSize ?? CONNECTING_MAX, cpus) },
  // The maps must exist even without a blocklist: one entry each then.
  { map: 'blocked_v4', entries: blocklistSize },
  { map: 'blocked_v6', entries: blocklistSize },
  { map: 'block_counters', entries: blocklistSize },
  { map: 'packets', entries: (options) => (options.capture ? (options.captureRingBytes ?? PACKETS_BYTES) : PAGE_BYTES) },
  // One entry each when the socket hooks are left out: the maps must exist.
  { map: 'udp_convs', entries: (options, context) => (socketHooksLoad(options, context) ? (options.udpTableSize ?? UDP_CONVS_MAX) : 1) },
  { map: 'processes', entries: (options, context) => lruEntries(socketHooksLoad(options, context) ? PROCESSES_MAX : 1, context.cpus) },
];

export interface LoadSettings {
  autoload: Array<[program: string, load: boolean]>;
  consts: Array<[name: string, value: Buffer]>;
  maxEntries: Array<[map: string, entries: number]>;
}

/** The tables evaluated for one load. */
export function loadSettings(options: TracerOptions, context: LoadContext): LoadSettings {
  const consts: Array<[string, Buffer]> = [];
  for (const { name, value } of CONSTS) {
    const bytes = value(options, context);
    if (bytes) consts.push([name, bytes]);
  }
  return {
    autoload: PROGRAMS.map(({ program, load }) => [program, load(options, context)]),
    consts,
    maxEntries: MAP_SIZES.map(({ map, entries }) => [map, entries(options, context)]),
  };
}

/** Opens the object, applies the load settings and loads it; nothing stays open when it throws. */
export function openAndLoad(native: NativeAddon, options: TracerOptions, context: LoadContext): BpfObject {
  const object = new native.BpfObject();
  try {
    const settings = loadSettings(options, context);
    for (const [program, load] of settings.autoload) object.setAutoload(program, load);
    for (const [name, value] of settings.consts) object.setConst(name, value);
    for (const [map, entries] of settings.maxEntries) object.setMaxEntries(map, entries);
    object.load();
    return object;
  } catch (error) {
    object.close();
    throw error;
  }
}

function blocklistSize(options: TracerOptions): number {
  return blocklistWanted(options) ? (options.blocklistSize ?? BLOCKLIST_MAX) : 1;
}

function captureFilter(options: TracerOptions): Buffer | null {
  if (options.capture?.mode !== 'filter') return null;
  if (!options.capture.filter) throw new Error('Tracer: capture mode filter needs capture.filter (encodeFilter)');
  return options.capture.filter;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0);
  return buffer;
}

function bool(value: boolean): Buffer {
  return Buffer.from([value ? 1 : 0]);
}
