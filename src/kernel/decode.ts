/**
 * Decoding of the raw records the kernel writes into the ring buffers, as
 * the addon hands them over in batches. Pure: bytes in, typed events out,
 * one decoder per record type (a table). Payloads stay bytes here: turning
 * DNS messages, TCP segments, ClientHellos and HTTP requests into names is
 * the wire stage's (src/wire/). A record that is shorter than its struct
 * or has an unknown type is counted in `DecodeStats` and skipped, never
 * thrown.
 */
import { formatAddress, formatIPv4 } from '../net/address.js';
import { CommStrings } from './comm-strings.js';
import { offsetOf, type StructLayout } from './struct.js';
import {
  AF_INET,
  AF_INET6,
  COMM_LEN,
  ConnectProbe,
  EventType,
  MAX_ADDRS,
  NAME_MAX,
  closeEvent,
  connectEvent,
  dnsPacketEvent,
  DnsTransport,
  establishedEvent,
  header,
  lookupEvent,
  PayloadKind,
  payloadEvent,
  SeenAt,
  udpCloseEvent,
  addr as addrLayout,
  task as taskLayout,
  tuple as tupleLayout,
  type ConnectProbeName,
} from './layout.js';

/** A thread as an event saw it. Shared between events of the same thread (readTask): never changed. */
export interface Task {
  readonly pid: number;
  readonly tid: number;
  readonly uid: number;
  readonly gid: number;
  /** The cgroup v2 id (the inode number of its cgroup directory: exact as a double). */
  readonly cgroupId: number;
  readonly comm: string;
  /** Parent's pid; 0 when unknown. */
  readonly ppid: number;
  /** When the process started, CLOCK_BOOTTIME ns (/proc/<pid>/stat's starttime, in ns); 0 when unknown. With pid, who it is. */
  readonly startNs: number;
}

export interface Tuple {
  family: 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

interface EventBase {
  /** Kernel CLOCK_MONOTONIC time of the event, in ns (a double: exact to the ns for 104 days of uptime, to 4 ns after a year). */
  tsNs: number;
  cpu: number;
}

export interface ConnectEvent extends EventBase {
  kind: 'connect';
  task: Task;
  tuple: Tuple;
  /** The socket's kernel address, its low 48 bits as a number: joins connect, established and close. */
  sock: number;
  ret: number;
  probe: ConnectProbeName;
}

export interface EstablishedEvent extends EventBase {
  kind: 'established';
  task: Task;
  tuple: Tuple;
  sock: number;
  latencyNs: number;
  direction: 'out' | 'in';
}

export interface CloseEvent extends EventBase {
  kind: 'close';
  task: Task;
  tuple: Tuple;
  sock: number;
  durationNs: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  direction: 'out' | 'in';
  oldState: number;
  /** False when the socket was opened before hostflow started: its pid and duration are unknown. */
  tracked: boolean;
}

export interface LookupEvent extends EventBase {
  kind: 'lookup';
  task: Task;
  name: string;
  addrs: string[];
  /** More addresses were returned than the kernel side keeps. */
  truncated: boolean;
  ret: number;
  latencyNs: number;
}

/** Where a packet the kernel copied was seen. */
interface PacketBase extends EventBase {
  /** Its addresses and ports as on the wire. */
  tuple: Tuple;
  ifindex: number;
  /** 'in': ingress (XDP, or a socket receiving); 'out': egress (TC, or a socket sending). */
  direction: 'in' | 'out';
  /** 'interface': XDP/TC of a traced interface, no process; 'socket': cgroup_skb at a local socket of any namespace. */
  seenAt: 'interface' | 'socket';
  /** The socket's owner (seenAt 'socket'); null at an interface. */
  task: Task | null;
  /** The socket's cookie as a decimal string (seenAt 'socket'); null at an interface. */
  socket: string | null;
  /** The socket's network namespace cookie as a decimal string (seenAt 'socket'): `ifindex` is an index in it. Null at an interface. */
  netns: string | null;
}

/** One DNS datagram: a response from UDP port 53, or (seenAt 'socket', direction 'out') a query to it. */
export interface DnsDatagramEvent extends PacketBase {
  kind: 'dnsDatagram';
  /** Length of the message on the wire; `message` may hold fewer bytes (the kernel copies at most HF_DNS_CAPTURE). */
  messageLength: number;
  message: Buffer;
}

/** One TCP segment from port 53 (or, at a socket on egress, to it), before reassembly: part of a stream of length-prefixed messages. */
export interface DnsSegmentEvent extends PacketBase {
  kind: 'dnsSegment';
  /** Sequence number of the segment's first byte (of its SYN when `flags` has it). */
  seq: number;
  /** TCP flags: FIN 0x01, SYN 0x02, RST 0x04. */
  flags: number;
  /** Length of the payload on the wire; `payload` may hold fewer bytes. */
  payloadLength: number;
  payload: Buffer;
}

/** The first bytes of a payload on egress: a TCP one that starts a TLS ClientHello or an HTTP/1.x request, or a UDP datagram starting with a QUIC Initial. */
export interface PayloadEvent extends PacketBase {
  kind: 'payload';
  protocol: 'tls' | 'http' | 'quic';
  payload: Buffer;
}

/** A UDP socket that had conversations in `udp_convs` was released: they end now. */
export interface UdpCloseEvent extends EventBase {
  kind: 'udpClose';
  /** The socket's cookie as a decimal string. */
  socket: string;
}

export type KernelEvent = ConnectEvent | EstablishedEvent | CloseEvent | LookupEvent | DnsDatagramEvent | DnsSegmentEvent | PayloadEvent | UdpCloseEvent;

export interface DecodeStats {
  records: number;
  /** Records shorter than their type's struct, or of an unknown type. */
  malformed: number;
}

const PROBE_NAMES = new Map<number, ConnectProbeName>(Object.entries(ConnectProbe).map(([name, value]) => [value, name as ConnectProbeName]));

const utf8 = new TextDecoder('utf-8', { fatal: false });

function readCString(bytes: Uint8Array, offset: number, max: number): string {
  let end = offset;
  const limit = offset + max;
  while (end < limit && bytes[end] !== 0) end++;
  return utf8.decode(bytes.subarray(offset, end));
}

/** u64 as a double; exact below 2^53. */
export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * 0x1_0000_0000 + view.getUint32(offset, true);
}

/**
 * A socket's kernel address as a number key: its low 48 bits. Kernel
 * addresses all have 0xffff above them (x86-64 and arm64 direct map and
 * vmalloc), so no two sockets share them, and a number is an exact,
 * allocation-free Map key where a BigInt's hex string cost a string per event.
 */
function readSock(view: DataView, offset: number): number {
  return (view.getUint32(offset + 4, true) & 0xffff) * 0x1_0000_0000 + view.getUint32(offset, true);
}

function familyOf(raw: number): 4 | 6 | null {
  if (raw === AF_INET) return 4;
  if (raw === AF_INET6) return 6;
  return null;
}

/** One per process: the names of processes are few and repeat with every event. */
const comms = new CommStrings();

const T = {
  pid: offsetOf(taskLayout, 'pid'),
  tid: offsetOf(taskLayout, 'tid'),
  uid: offsetOf(taskLayout, 'uid'),
  gid: offsetOf(taskLayout, 'gid'),
  cgroupId: offsetOf(taskLayout, 'cgroup_id'),
  comm: offsetOf(taskLayout, 'comm'),
  ppid: offsetOf(taskLayout, 'ppid'),
  startNs: offsetOf(taskLayout, 'start_ns'),
};

/**
 * The last task seen of each thread, handed out again while the thread is
 * unchanged: a flood's events come from a few threads, and every open
 * connection keeps its task. Bounded like the process names.
 */
const tasks = new Map<number, Task>();
const TASKS_KEPT = 4096;

/** A struct hf_task at `at`. */
export function readTask(view: DataView, bytes: Uint8Array, at: number): Task {
  const pid = view.getUint32(at + T.pid, true);
  const tid = view.getUint32(at + T.tid, true);
  const uid = view.getUint32(at + T.uid, true);
  const gid = view.getUint32(at + T.gid, true);
  const cgroupId = readU64(view, at + T.cgroupId);
  const comm = comms.read(bytes, at + T.comm, COMM_LEN);
  const ppid = view.getUint32(at + T.ppid, true);
  const startNs = readU64(view, at + T.startNs);
  const seen = tasks.get(tid);
  if (
    seen !== undefined &&
    seen.pid === pid &&
    seen.uid === uid &&
    seen.gid === gid &&
    seen.cgroupId === cgroupId &&
    seen.comm === comm &&
    seen.ppid === ppid &&
    seen.startNs === startNs
  ) {
    return seen;
  }
  const task: Task = { pid, tid, uid, gid, cgroupId, comm, ppid, startNs };
  if (seen === undefined && tasks.size === TASKS_KEPT) tasks.clear();
  tasks.set(tid, task);
  return task;
}

const U = {
  saddr: offsetOf(tupleLayout, 'saddr'),
  daddr: offsetOf(tupleLayout, 'daddr'),
  sport: offsetOf(tupleLayout, 'sport'),
  dport: offsetOf(tupleLayout, 'dport'),
  family: offsetOf(tupleLayout, 'family'),
};

/** ::ffff:0:0/96, an IPv4 address carried by an IPv6 socket. */
function isV4Mapped(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[at + i] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

/**
 * IPv4 addresses as text, by their 32 bits: a host talks to the same
 * addresses over and over, and every connection event carries two. One
 * string each, shared by every connection that keeps it. Bounded like the
 * process names.
 */
const ipv4Texts = new Map<number, string>();
const IPV4_TEXTS_KEPT = 65_536;

function ipv4Text(view: DataView, bytes: Uint8Array, at: number): string {
  // Signed: a small integer, no boxed number for the lookup.
  const bits = view.getInt32(at, false);
  let text = ipv4Texts.get(bits);
  if (text === undefined) {
    if (ipv4Texts.size === IPV4_TEXTS_KEPT) ipv4Texts.clear();
    text = formatIPv4(bytes, at);
    ipv4Texts.set(bits, text);
  }
  return text;
}

function addressText(family: 4 | 6, view: DataView, bytes: Uint8Array, at: number): string {
  return family === 4 ? ipv4Text(view, bytes, at) : formatAddress(6, bytes, at);
}

/**
 * null when the family is neither AF_INET nor AF_INET6. A dual-stack
 * socket talking IPv4 reports IPv4-mapped addresses; they are turned into
 * the IPv4 connection they are, so the tuple matches the packets on the
 * wire (flows) and the addresses DNS answered (names).
 */
export function readTuple(view: DataView, bytes: Uint8Array, at: number): Tuple | null {
  const family = familyOf(view.getUint16(at + U.family, true));
  if (family === null) return null;
  const mapped = family === 6 && isV4Mapped(bytes, at + U.saddr) && isV4Mapped(bytes, at + U.daddr);
  return {
    family: mapped ? 4 : family,
    saddr: mapped ? ipv4Text(view, bytes, at + U.saddr + 12) : addressText(family, view, bytes, at + U.saddr),
    sport: view.getUint16(at + U.sport, true),
    daddr: mapped ? ipv4Text(view, bytes, at + U.daddr + 12) : addressText(family, view, bytes, at + U.daddr),
    dport: view.getUint16(at + U.dport, true),
  };
}

const H = { ts: offsetOf(header, 'ts_ns'), type: offsetOf(header, 'type'), cpu: offsetOf(header, 'cpu') };

function offsets<K extends string>(layout: StructLayout, fields: Record<K, string>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of Object.keys(fields) as K[]) out[key] = offsetOf(layout, fields[key]);
  return out;
}

const C = offsets(connectEvent, { task: 'task', tuple: 'tuple', sock: 'sock', ret: 'ret', probe: 'probe' });
const E = offsets(establishedEvent, {
  task: 'task',
  tuple: 'tuple',
  sock: 'sock',
  latency: 'latency_ns',
  direction: 'direction',
});
const X = offsets(closeEvent, {
  task: 'task',
  tuple: 'tuple',
  sock: 'sock',
  duration: 'duration_ns',
  sent: 'bytes_sent',
  received: 'bytes_received',
  retransmits: 'retransmits',
  direction: 'direction',
  oldState: 'old_state',
  tracked: 'tracked',
});
const L = offsets(lookupEvent, {
  task: 'task',
  latency: 'latency_ns',
  ret: 'ret',
  naddrs: 'naddrs',
  truncated: 'truncated',
  addrs: 'addrs',
  name: 'name',
});
const A = offsets(addrLayout, { addr: 'addr', family: 'family' });
const D = offsets(dnsPacketEvent, {
  task: 'task',
  tuple: 'tuple',
  sock: 'sock_cookie',
  netns: 'netns_cookie',
  seenAt: 'seen_at',
  ifindex: 'ifindex',
  direction: 'direction',
  capLen: 'cap_len',
  msgLen: 'msg_len',
  transport: 'transport',
  tcpFlags: 'tcp_flags',
  tcpSeq: 'tcp_seq',
  data: 'data',
});
const P = offsets(payloadEvent, {
  task: 'task',
  tuple: 'tuple',
  sock: 'sock_cookie',
  netns: 'netns_cookie',
  seenAt: 'seen_at',
  ifindex: 'ifindex',
  direction: 'direction',
  capLen: 'cap_len',
  kind: 'kind',
  data: 'data',
});

const UDP_CLOSE_SOCK = offsetOf(udpCloseEvent, 'sock_cookie');

const direction = (raw: number): 'out' | 'in' => (raw === 1 ? 'in' : 'out');

/** A copy, so a small message never keeps a whole batch alive. */
function copyData(bytes: Uint8Array, at: number, capLength: number): Buffer {
  return Buffer.from(bytes.subarray(at, at + capLength));
}

/** The header's kernel time and CPU, read where each record literal is built (records are literals with every field named, never spread together: V8 gives spread-built objects of mixed shapes the slow path, four times slower here, npm run bench decode_batch). */
const tsOf = (view: DataView, at: number): number => readU64(view, at + H.ts);
const cpuOf = (view: DataView, at: number): number => view.getUint32(at + H.cpu, true);

/** Where, by whom, of a packet record; null when its family or the hook that saw it is unknown. */
function packetFields(
  view: DataView,
  bytes: Uint8Array,
  at: number,
  fields: { task: number; tuple: number; sock: number; netns: number; seenAt: number; ifindex: number; direction: number },
): PacketBase | null {
  const tuple = readTuple(view, bytes, at + fields.tuple);
  const seenAt = view.getUint8(at + fields.seenAt);
  if (!tuple || (seenAt !== SeenAt.interface && seenAt !== SeenAt.socket)) return null;
  const atSocket = seenAt === SeenAt.socket;
  return {
    tsNs: tsOf(view, at),
    cpu: cpuOf(view, at),
    tuple,
    ifindex: view.getUint32(at + fields.ifindex, true),
    direction: direction(view.getUint32(at + fields.direction, true)),
    seenAt: atSocket ? 'socket' : 'interface',
    task: atSocket ? readTask(view, bytes, at + fields.task) : null,
    socket: atSocket ? view.getBigUint64(at + fields.sock, true).toString() : null,
    netns: atSocket ? view.getBigUint64(at + fields.netns, true).toString() : null,
  };
}

const PAYLOAD_PROTOCOLS = new Map<number, PayloadEvent['protocol']>([
  [PayloadKind.tls, 'tls'],
  [PayloadKind.http, 'http'],
  [PayloadKind.quic, 'quic'],
]);

type Decoder = (view: DataView, bytes: Uint8Array, at: number, length: number) => KernelEvent | null;

/** One decoder per record type, and the smallest length each accepts. */
const DECODERS = new Map<number, { minLength: number; decode: Decoder }>([
  [
    EventType.connect,
    {
      minLength: connectEvent.size,
      decode: (view, bytes, at) => {
        const tuple = readTuple(view, bytes, at + C.tuple);
        const probe = PROBE_NAMES.get(view.getUint32(at + C.probe, true));
        if (!tuple || !probe) return null;
        return {
          kind: 'connect',
          tsNs: tsOf(view, at),
          cpu: cpuOf(view, at),
          task: readTask(view, bytes, at + C.task),
          tuple,
          sock: readSock(view, at + C.sock),
          ret: view.getInt32(at + C.ret, true),
          probe,
        };
      },
    },
  ],
  [
    EventType.established,
    {
      minLength: establishedEvent.size,
      decode: (view, bytes, at) => {
        const tuple = readTuple(view, bytes, at + E.tuple);
        if (!tuple) return null;
        return {
          kind: 'established',
          tsNs: tsOf(view, at),
          cpu: cpuOf(view, at),
          task: readTask(view, bytes, at + E.task),
          tuple,
          sock: readSock(view, at + E.sock),
          latencyNs: readU64(view, at + E.latency),
          direction: direction(view.getUint32(at + E.direction, true)),
        };
      },
    },
  ],
  [
    EventType.close,
    {
      minLength: closeEvent.size,
      decode: (view, bytes, at) => {
        const tuple = readTuple(view, bytes, at + X.tuple);
        if (!tuple) return null;
        return {
          kind: 'close',
          tsNs: tsOf(view, at),
          cpu: cpuOf(view, at),
          task: readTask(view, bytes, at + X.task),
          tuple,
          sock: readSock(view, at + X.sock),
          durationNs: readU64(view, at + X.duration),
          bytesSent: readU64(view, at + X.sent),
          bytesReceived: readU64(view, at + X.received),
          retransmits: view.getUint32(at + X.retransmits, true),
          direction: direction(view.getUint32(at + X.direction, true)),
          oldState: view.getUint32(at + X.oldState, true),
          tracked: view.getUint32(at + X.tracked, true) !== 0,
        };
      },
    },
  ],
  [
    EventType.lookup,
    {
      minLength: lookupEvent.size,
      decode: (view, bytes, at) => {
        const count = Math.min(view.getUint32(at + L.naddrs, true), MAX_ADDRS);
        const addrs: string[] = [];
        for (let i = 0; i < count; i++) {
          const entry = at + L.addrs + i * addrLayout.size;
          const family = familyOf(view.getUint16(entry + A.family, true));
          if (family !== null) addrs.push(formatAddress(family, bytes, entry + A.addr));
        }
        return {
          kind: 'lookup',
          tsNs: readU64(view, at + H.ts),
          cpu: view.getUint32(at + H.cpu, true),
          task: readTask(view, bytes, at + L.task),
          name: readCString(bytes, at + L.name, NAME_MAX),
          addrs,
          truncated: view.getUint32(at + L.truncated, true) !== 0,
          ret: view.getInt32(at + L.ret, true),
          latencyNs: readU64(view, at + L.latency),
        };
      },
    },
  ],
  [
    EventType.dnsPacket,
    {
      minLength: D.data,
      decode: (view, bytes, at, length) => {
        const packet = packetFields(view, bytes, at, D);
        const transport = view.getUint8(at + D.transport);
        if (!packet) return null;
        const data = copyData(bytes, at + D.data, Math.min(view.getUint16(at + D.capLen, true), length - D.data));
        const wireLength = view.getUint16(at + D.msgLen, true);
        const { tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns } = packet;
        if (transport === DnsTransport.udp) {
          return { kind: 'dnsDatagram', tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns, messageLength: wireLength, message: data };
        }
        if (transport !== DnsTransport.tcp) return null;
        return {
          kind: 'dnsSegment',
          tsNs,
          cpu,
          tuple,
          ifindex,
          direction,
          seenAt,
          task,
          socket,
          netns,
          seq: view.getUint32(at + D.tcpSeq, true),
          flags: view.getUint8(at + D.tcpFlags),
          payloadLength: wireLength,
          payload: data,
        };
      },
    },
  ],
  [
    EventType.payload,
    {
      minLength: P.data,
      decode: (view, bytes, at, length) => {
        const packet = packetFields(view, bytes, at, P);
        const protocol = PAYLOAD_PROTOCOLS.get(view.getUint16(at + P.kind, true));
        if (!packet || !protocol) return null;
        const payload = copyData(bytes, at + P.data, Math.min(view.getUint16(at + P.capLen, true), length - P.data));
        const { tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns } = packet;
        return { kind: 'payload', tsNs, cpu, tuple, ifindex, direction, seenAt, task, socket, netns, protocol, payload };
      },
    },
  ],
  [
    EventType.udpClose,
    {
      minLength: udpCloseEvent.size,
      decode: (view, _bytes, at) => ({
        kind: 'udpClose',
        tsNs: readU64(view, at + H.ts),
        cpu: view.getUint32(at + H.cpu, true),
        socket: view.getBigUint64(at + UDP_CLOSE_SOCK, true).toString(),
      }),
    },
  ],
]);

/**
 * Decodes one record at `at` of `length` bytes; null when it is malformed.
 * `view` and `bytes` cover the same memory.
 */
export function decodeRecord(view: DataView, bytes: Uint8Array, at: number, length: number): KernelEvent | null {
  if (length < header.size) return null;
  const decoder = DECODERS.get(view.getUint32(at + H.type, true));
  if (!decoder || length < decoder.minLength) return null;
  return decoder.decode(view, bytes, at, length);
}

/** Size of the framing the addon puts before each record (u32 length, u32 ring index). */
export const RECORD_FRAME = 8;

/**
 * Walks the frames of one batch from the addon (see native-api.ts for the
 * framing), calling `onRecord` with each record's offset and length. A
 * frame that runs past the end of the batch ends the walk and is counted
 * through `onTruncated`: the batch framing is the addon's, so this is a bug
 * if ever seen, never a reason to throw.
 */
export function forEachRecord(batch: Uint8Array, onRecord: (view: DataView, at: number, length: number) => void, onTruncated: () => void): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  let at = 0;
  while (at + RECORD_FRAME <= batch.byteLength) {
    const length = view.getUint32(at, true);
    const start = at + RECORD_FRAME;
    if (start + length > batch.byteLength) {
      onTruncated();
      return;
    }
    onRecord(view, start, length);
    at = start + ((length + 7) & ~7);
  }
}

/** Decodes a whole batch of the event rings and calls `emit` for each event, in order. */
export function decodeBatch(batch: Uint8Array, emit: (event: KernelEvent) => void, stats: DecodeStats): void {
  forEachRecord(
    batch,
    (view, at, length) => {
      stats.records++;
      const event = decodeRecord(view, batch, at, length);
      if (event === null) stats.malformed++;
      else emit(event);
    },
    () => stats.malformed++,
  );
}
