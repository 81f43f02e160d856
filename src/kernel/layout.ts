/**
 * The TypeScript mirror of bpf/hostflow.h. Field names are the C member
 * names; test/unit/kernel/layout.test.ts compiles the header and compares every
 * size and offset below with what the C compiler reports.
 */
import { struct } from './struct.js';

export const COMM_LEN = 16;
export const NAME_MAX = 256;
export const MAX_ADDRS = 16;
export const DNS_CAPTURE = 1232;
export const PAYLOAD_CAPTURE = 2048;
export const BLOCKLIST_MAX = 4096;
export const CAPTURE_MAX = 65536;
export const FILTER_TERMS = 4;
export const FILTER_NETS = 2;
export const FILTER_PORTS = 2;
export const XDP_ERROR_MAX = 128;

/**
 * Default sizes of the maps the tracer sizes before load (ring buffers in
 * bytes, tables in entries); the BPF objects are built with the same.
 */
export const EVENTS_BYTES = 8 << 20;
export const DNS_EVENTS_BYTES = 4 << 20;
export const PAYLOAD_EVENTS_BYTES = 4 << 20;
export const PACKETS_BYTES = 16 << 20;
export const FLOWS_MAX = 65536;
/** Slots of `flow_cache` per CPU (not sized by the tracer: a power of 2 the BPF side masks with). */
export const FLOW_CACHE_SLOTS = 1024;
export const SOCKETS_MAX = 65536;
export const LOOKUPS_MAX = 8192;
export const CONNECTING_MAX = 8192;
export const UDP_CONVS_MAX = 16384;
export const PROCESSES_MAX = 32768;

export const AF_INET = 2;
export const AF_INET6 = 10;

export const EventType = {
  connect: 1,
  established: 2,
  close: 3,
  lookup: 4,
  dnsPacket: 5,
  packet: 6,
  payload: 7,
  udpClose: 8,
} as const;

/** enum hf_seen_at (hf_dns_packet_event.seen_at, hf_payload_event.seen_at). */
export const SeenAt = { interface: 0, socket: 1 } as const;

/** enum hf_dns_transport (hf_dns_packet_event.transport). */
export const DnsTransport = { udp: 0, tcp: 1 } as const;

/** enum hf_payload_kind (hf_payload_event.kind). */
export const PayloadKind = { tls: 1, http: 2, quic: 3 } as const;

/** enum hf_connect_probe, by the names users pass to --connect-probe. */
export const ConnectProbe = {
  kprobe: 1,
  fentry: 2,
  tracepoint: 3,
} as const;
export type ConnectProbeName = keyof typeof ConnectProbe;

export const Direction = { out: 0, in: 1 } as const;

/** enum hf_capture_mode. */
export const CaptureMode = { off: 0, dropped: 1, all: 2, filter: 3 } as const;
export type CaptureModeName = keyof typeof CaptureMode;

/** enum hf_packet_flag (hf_packet_event.flags). */
export const PacketFlag = { dropped: 1, gso: 2 } as const;

/** enum hf_filter_end: which end of a packet a filter condition looks at. */
export const FilterEnd = { src: 1, dst: 2, any: 3 } as const;

/** enum hf_filter_flag (hf_filter_term.flags). */
export const FilterFlag = { dropped: 1 } as const;

/** enum hf_counter, in index order. */
export const COUNTER_NAMES = [
  'drop_connect',
  'drop_established',
  'drop_close',
  'drop_lookup',
  'drop_dns_xdp',
  'drop_dns_tc',
  'sockets_full',
  'lookups_full',
  'flows_failed',
  'retransmits',
  'capture_lost_xdp',
  'capture_lost_tc',
  'drop_payload_tc',
  'close_recovered',
  'connecting_full',
  'drop_dns_sock',
  'drop_payload_sock',
  'drop_udp_close',
  'udp_convs_failed',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

export const header = struct('hf_header', [
  ['ts_ns', 'u64'],
  ['type', 'u32'],
  ['cpu', 'u32'],
]);

export const task = struct('hf_task', [
  ['pid', 'u32'],
  ['tid', 'u32'],
  ['uid', 'u32'],
  ['gid', 'u32'],
  ['cgroup_id', 'u64'],
  ['comm', 'char', COMM_LEN],
  ['ppid', 'u32'],
  ['_pad', 'u32'],
  ['start_ns', 'u64'],
]);

export const tuple = struct('hf_tuple', [
  ['saddr', 'u8', 16],
  ['daddr', 'u8', 16],
  ['sport', 'u16'],
  ['dport', 'u16'],
  ['family', 'u16'],
  ['_pad', 'u16'],
]);

export const connectEvent = struct('hf_connect_event', [
  ['hdr', header],
  ['task', task],
  ['tuple', tuple],
  ['sock', 'u64'],
  ['ret', 's32'],
  ['probe', 'u32'],
]);

export const establishedEvent = struct('hf_established_event', [
  ['hdr', header],
  ['task', task],
  ['tuple', tuple],
  ['sock', 'u64'],
  ['latency_ns', 'u64'],
  ['direction', 'u32'],
  ['_pad', 'u32'],
]);

export const closeEvent = struct('hf_close_event', [
  ['hdr', header],
  ['task', task],
  ['tuple', tuple],
  ['sock', 'u64'],
  ['duration_ns', 'u64'],
  ['bytes_sent', 'u64'],
  ['bytes_received', 'u64'],
  ['retransmits', 'u32'],
  ['direction', 'u32'],
  ['old_state', 'u32'],
  ['tracked', 'u32'],
]);

export const addr = struct('hf_addr', [
  ['addr', 'u8', 16],
  ['family', 'u16'],
  ['_pad', 'u16', 3],
]);

export const lookupEvent = struct('hf_lookup_event', [
  ['hdr', header],
  ['task', task],
  ['latency_ns', 'u64'],
  ['ret', 's32'],
  ['naddrs', 'u32'],
  ['truncated', 'u32'],
  ['_pad', 'u32'],
  ['addrs', addr, MAX_ADDRS],
  ['name', 'char', NAME_MAX],
]);

export const dnsPacketEvent = struct('hf_dns_packet_event', [
  ['hdr', header],
  ['task', task],
  ['tuple', tuple],
  ['sock_cookie', 'u64'],
  ['netns_cookie', 'u64'],
  ['ifindex', 'u32'],
  ['direction', 'u32'],
  ['cap_len', 'u16'],
  ['msg_len', 'u16'],
  ['transport', 'u8'],
  ['tcp_flags', 'u8'],
  ['seen_at', 'u8'],
  ['_pad', 'u8'],
  ['tcp_seq', 'u32'],
  ['_pad2', 'u32'],
  ['data', 'u8', DNS_CAPTURE],
]);

export const payloadEvent = struct('hf_payload_event', [
  ['hdr', header],
  ['task', task],
  ['tuple', tuple],
  ['sock_cookie', 'u64'],
  ['netns_cookie', 'u64'],
  ['ifindex', 'u32'],
  ['direction', 'u32'],
  ['cap_len', 'u16'],
  ['kind', 'u16'],
  ['payload_len', 'u32'],
  ['seen_at', 'u8'],
  ['_pad', 'u8', 7],
  ['data', 'u8', PAYLOAD_CAPTURE],
]);

/** Key of `udp_convs`: one UDP socket and one remote address. */
export const udpConvKey = struct('hf_udp_conv_key', [
  ['sock_cookie', 'u64'],
  ['raddr', 'u8', 16],
  ['rport', 'u16'],
  ['family', 'u16'],
  ['_pad', 'u32'],
]);

/** Value of `udp_convs`: the conversation's owner, local end and counts. */
export const udpConv = struct('hf_udp_conv', [
  ['task', task],
  ['laddr', 'u8', 16],
  ['lport', 'u16'],
  ['_pad', 'u16'],
  ['ifindex', 'u32'],
  ['netns_cookie', 'u64'],
  ['packets_out', 'u64'],
  ['bytes_out', 'u64'],
  ['packets_in', 'u64'],
  ['bytes_in', 'u64'],
  ['first_ns', 'u64'],
  ['last_ns', 'u64'],
]);

export const udpCloseEvent = struct('hf_udp_close_event', [
  ['hdr', header],
  ['sock_cookie', 'u64'],
]);

export const flowKey = struct('hf_flow_key', [
  ['saddr', 'u8', 16],
  ['daddr', 'u8', 16],
  ['ifindex', 'u32'],
  ['sport', 'u16'],
  ['dport', 'u16'],
  ['direction', 'u8'],
  ['proto', 'u8'],
  ['family', 'u16'],
  ['_pad', 'u32'],
]);

export const flowCounters = struct('hf_flow_counters', [
  ['packets', 'u64'],
  ['bytes', 'u64'],
  ['first_seen_ns', 'u64'],
  ['last_seen_ns', 'u64'],
  ['dropped_packets', 'u64'],
  ['dropped_bytes', 'u64'],
  ['tcp_flags', 'u8'],
  ['_pad', 'u8', 7],
]);

export const flowSlot = struct('hf_flow_slot', [
  ['key', flowKey],
  ['counters', flowCounters],
]);

export const blockKey4 = struct('hf_block_key4', [
  ['prefixlen', 'u32'],
  ['addr', 'u8', 4],
]);

export const blockKey6 = struct('hf_block_key6', [
  ['prefixlen', 'u32'],
  ['addr', 'u8', 16],
  ['_pad', 'u8', 4],
]);

export const blockEntry = struct('hf_block_entry', [
  ['slot', 'u32'],
  ['_pad', 'u32'],
]);

export const blockCounters = struct('hf_block_counters', [
  ['packets', 'u64'],
  ['bytes', 'u64'],
]);

/** The fixed part of a captured frame's record; `data` (cap_len bytes) starts at its end. */
export const packetEvent = struct('hf_packet_event', [
  ['hdr', header],
  ['ifindex', 'u32'],
  ['wire_len', 'u32'],
  ['cap_len', 'u32'],
  ['direction', 'u16'],
  ['flags', 'u16'],
  ['data', 'u8', 0],
]);

export const filterNet = struct('hf_filter_net', [
  ['addr', 'u8', 16],
  ['mask', 'u8', 16],
  ['ends', 'u8'],
  ['_pad', 'u8', 7],
]);

export const filterPort = struct('hf_filter_port', [
  ['port', 'u16'],
  ['ends', 'u8'],
  ['_pad', 'u8'],
]);

export const filterTerm = struct('hf_filter_term', [
  ['nets', filterNet, FILTER_NETS],
  ['ports', filterPort, FILTER_PORTS],
  ['family', 'u16'],
  ['proto', 'u8'],
  ['flags', 'u8'],
  ['_pad', 'u32'],
]);

export const captureFilter = struct('hf_capture_filter', [
  ['terms', 'u32'],
  ['_pad', 'u32'],
  ['term', filterTerm, FILTER_TERMS],
]);

/** The one entry of `xdp_attach_error`: the kernel's reason for refusing an XDP attach. */
export const xdpAttachError = struct('hf_xdp_attach_error', [
  ['tgid', 'u32'],
  ['_pad', 'u32'],
  ['msg', 'char', XDP_ERROR_MAX],
]);

/** Every struct that crosses the boundary, for the layout test. */
export const ALL_STRUCTS = [
  header,
  task,
  tuple,
  connectEvent,
  establishedEvent,
  closeEvent,
  addr,
  lookupEvent,
  dnsPacketEvent,
  payloadEvent,
  udpConvKey,
  udpConv,
  udpCloseEvent,
  flowKey,
  flowCounters,
  flowSlot,
  blockKey4,
  blockKey6,
  blockEntry,
  blockCounters,
  packetEvent,
  filterNet,
  filterPort,
  filterTerm,
  captureFilter,
  xdpAttachError,
];

/** Constants the test checks against the header's #defines and enums. */
export const CONSTANTS: Record<string, number> = {
  HF_COMM_LEN: COMM_LEN,
  HF_NAME_MAX: NAME_MAX,
  HF_MAX_ADDRS: MAX_ADDRS,
  HF_DNS_CAPTURE: DNS_CAPTURE,
  HF_PAYLOAD_CAPTURE: PAYLOAD_CAPTURE,
  HF_BLOCKLIST_MAX: BLOCKLIST_MAX,
  HF_CAPTURE_MAX: CAPTURE_MAX,
  HF_FILTER_TERMS: FILTER_TERMS,
  HF_FILTER_NETS: FILTER_NETS,
  HF_FILTER_PORTS: FILTER_PORTS,
  HF_XDP_ERROR_MAX: XDP_ERROR_MAX,
  HF_EVENTS_BYTES: EVENTS_BYTES,
  HF_DNS_EVENTS_BYTES: DNS_EVENTS_BYTES,
  HF_PAYLOAD_EVENTS_BYTES: PAYLOAD_EVENTS_BYTES,
  HF_PACKETS_BYTES: PACKETS_BYTES,
  HF_FLOWS_MAX: FLOWS_MAX,
  HF_FLOW_CACHE_SLOTS: FLOW_CACHE_SLOTS,
  HF_SOCKETS_MAX: SOCKETS_MAX,
  HF_LOOKUPS_MAX: LOOKUPS_MAX,
  HF_CONNECTING_MAX: CONNECTING_MAX,
  HF_UDP_CONVS_MAX: UDP_CONVS_MAX,
  HF_PROCESSES_MAX: PROCESSES_MAX,
  HF_AF_INET: AF_INET,
  HF_AF_INET6: AF_INET6,
  HF_EVENT_CONNECT: EventType.connect,
  HF_EVENT_ESTABLISHED: EventType.established,
  HF_EVENT_CLOSE: EventType.close,
  HF_EVENT_LOOKUP: EventType.lookup,
  HF_EVENT_DNS_PACKET: EventType.dnsPacket,
  HF_EVENT_PACKET: EventType.packet,
  HF_EVENT_PAYLOAD: EventType.payload,
  HF_EVENT_UDP_CLOSE: EventType.udpClose,
  HF_SEEN_INTERFACE: SeenAt.interface,
  HF_SEEN_SOCKET: SeenAt.socket,
  HF_DNS_UDP: DnsTransport.udp,
  HF_DNS_TCP: DnsTransport.tcp,
  HF_PAYLOAD_TLS: PayloadKind.tls,
  HF_PAYLOAD_HTTP: PayloadKind.http,
  HF_PAYLOAD_QUIC: PayloadKind.quic,
  HF_PROBE_KPROBE: ConnectProbe.kprobe,
  HF_PROBE_FENTRY: ConnectProbe.fentry,
  HF_PROBE_TRACEPOINT: ConnectProbe.tracepoint,
  HF_DIR_OUT: Direction.out,
  HF_DIR_IN: Direction.in,
  HF_CAPTURE_OFF: CaptureMode.off,
  HF_CAPTURE_DROPPED: CaptureMode.dropped,
  HF_CAPTURE_ALL: CaptureMode.all,
  HF_CAPTURE_FILTER: CaptureMode.filter,
  HF_PKT_DROPPED: PacketFlag.dropped,
  HF_PKT_GSO: PacketFlag.gso,
  HF_END_SRC: FilterEnd.src,
  HF_END_DST: FilterEnd.dst,
  HF_END_ANY: FilterEnd.any,
  HF_TERM_DROPPED: FilterFlag.dropped,
  HF_CNT_MAX: COUNTER_NAMES.length,
  ...Object.fromEntries(COUNTER_NAMES.map((name, index) => [`HF_CNT_${name.toUpperCase()}`, index])),
};
