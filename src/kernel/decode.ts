/**
 * Decoding of the raw records the kernel writes into the ring buffers, as
 * the addon hands them over in batches. Pure: bytes in, typed events out.
 * A record that is shorter than its struct or has an unknown type is
 * counted in `DecodeStats` and skipped, never thrown.
 */
import { parseHttpHost } from '../names/http-host.js';
import { parseClientHello } from '../names/tls-client-hello.js';
import { formatAddress } from '../net/address.js';
import { offsetOf, type StructLayout } from './struct.js';
import {
  AF_INET,
  AF_INET6,
  COMM_LEN,
  ConnectProbe,
  EventType,
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
  addr as addrLayout,
  task as taskLayout,
  tuple as tupleLayout,
  type ConnectProbeName,
} from './layout.js';

export interface Task {
  pid: number;
  tid: number;
  uid: number;
  gid: number;
  /** cgroup v2 id of the task (inode number of its cgroup directory). */
  cgroupId: bigint;
  comm: string;
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
  /** Kernel address of the socket, as a hex string: joins connect, established and close. */
  sock: string;
  ret: number;
  probe: ConnectProbeName;
}

export interface EstablishedEvent extends EventBase {
  kind: 'established';
  task: Task;
  tuple: Tuple;
  sock: string;
  latencyNs: number;
  direction: 'out' | 'in';
}

export interface CloseEvent extends EventBase {
  kind: 'close';
  task: Task;
  tuple: Tuple;
  sock: string;
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

/** A TCP segment from port 53 as the kernel copied it, before reassembly. */
export interface TcpSegment {
  /** Sequence number of the segment's first byte (of its SYN when `flags` has it). */
  seq: number;
  /** TCP flags: FIN 0x01, SYN 0x02, RST 0x04. */
  flags: number;
}

export interface DnsPacketEvent extends EventBase {
  kind: 'dnsPacket';
  tuple: Tuple;
  ifindex: number;
  direction: 'in' | 'out';
  /** How the response came: one UDP datagram, or a message reassembled from a TCP stream. */
  transport: 'udp' | 'tcp';
  /**
   * Set only on what the decoder gives for TCP: one segment, `message` its
   * payload and `messageLength` the payload's length on the wire. The TCP
   * stage (src/dns/tcp-stream.ts) turns segments into whole messages, which
   * have no `segment`, before correlation.
   */
  segment?: TcpSegment;
  /** Length of the DNS message on the wire; `message` may hold fewer bytes. */
  messageLength: number;
  message: Buffer;
}

export interface ServerNameEvent extends EventBase {
  kind: 'serverName';
  ifindex: number;
  direction: 'in' | 'out';
  tuple: Tuple; /* egress: saddr/sport = local end, daddr/dport = remote */
  name: string;
  source: 'sni' | 'http';
}

export type KernelEvent = ConnectEvent | EstablishedEvent | CloseEvent | LookupEvent | DnsPacketEvent | ServerNameEvent;

export interface DecodeStats {
  records: number;
  /** Records shorter than their type's struct, or of an unknown type. */
  malformed: number;
  /** ClientHellos and HTTP requests seen on egress, by outcome (created on first use). */
  serverNames?: ServerNameStats;
}

/** What became of the payloads bpf/payload.bpf.h copied. */
export interface ServerNameStats {
  sni: number;
  http: number;
  /** Payloads that named nothing, by `sni:<reason>` / `http:<reason>` (src/names/). */
  skipped: Record<string, number>;
}

export function emptyServerNameStats(): ServerNameStats {
  return { sni: 0, http: 0, skipped: {} };
}

const PROBE_NAMES = new Map<number, ConnectProbeName>(
  Object.entries(ConnectProbe).map(([name, value]) => [value, name as ConnectProbeName]),
);

const utf8 = new TextDecoder('utf-8', { fatal: false });

function readCString(bytes: Uint8Array, offset: number, max: number): string {
  let end = offset;
  const limit = offset + max;
  while (end < limit && bytes[end] !== 0) end++;
  return utf8.decode(bytes.subarray(offset, end));
}

/** u64 as a double; exact below 2^53. */
function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * 0x1_0000_0000 + view.getUint32(offset, true);
}

function readSock(view: DataView, offset: number): string {
  return view.getBigUint64(offset, true).toString(16);
}

function familyOf(raw: number): 4 | 6 | null {
  if (raw === AF_INET) return 4;
  if (raw === AF_INET6) return 6;
  return null;
}

const T = {
  pid: offsetOf(taskLayout, 'pid'),
  tid: offsetOf(taskLayout, 'tid'),
  uid: offsetOf(taskLayout, 'uid'),
  gid: offsetOf(taskLayout, 'gid'),
  cgroupId: offsetOf(taskLayout, 'cgroup_id'),
  comm: offsetOf(taskLayout, 'comm'),
};

function readTask(view: DataView, bytes: Uint8Array, at: number): Task {
  return {
    pid: view.getUint32(at + T.pid, true),
    tid: view.getUint32(at + T.tid, true),
    uid: view.getUint32(at + T.uid, true),
    gid: view.getUint32(at + T.gid, true),
    cgroupId: view.getBigUint64(at + T.cgroupId, true),
    comm: readCString(bytes, at + T.comm, COMM_LEN),
  };
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
 * null when the family is neither AF_INET nor AF_INET6. A dual-stack
 * socket talking IPv4 reports IPv4-mapped addresses; they are turned into
 * the IPv4 connection they are, so the tuple matches the packets on the
 * wire (flows) and the addresses DNS answered (names).
 */
function readTuple(view: DataView, bytes: Uint8Array, at: number): Tuple | null {
  const family = familyOf(view.getUint16(at + U.family, true));
  if (family === null) return null;
  const mapped = family === 6 && isV4Mapped(bytes, at + U.saddr) && isV4Mapped(bytes, at + U.daddr);
  return {
    family: mapped ? 4 : family,
    saddr: mapped ? formatAddress(4, bytes, at + U.saddr + 12) : formatAddress(family, bytes, at + U.saddr),
    sport: view.getUint16(at + U.sport, true),
    daddr: mapped ? formatAddress(4, bytes, at + U.daddr + 12) : formatAddress(family, bytes, at + U.daddr),
    dport: view.getUint16(at + U.dport, true),
  };
}

const H = { ts: offsetOf(header, 'ts_ns'), type: offsetOf(header, 'type'), cpu: offsetOf(header, 'cpu') };

function base(view: DataView, at: number): EventBase {
  return { tsNs: readU64(view, at + H.ts), cpu: view.getUint32(at + H.cpu, true) };
}

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
  tuple: 'tuple',
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
  tuple: 'tuple',
  ifindex: 'ifindex',
  direction: 'direction',
  capLen: 'cap_len',
  kind: 'kind',
  data: 'data',
});

/** A payload record that named nothing: counted, not emitted. */
interface ServerNameSkip {
  kind: 'serverNameSkipped';
  source: 'sni' | 'http';
  reason: string;
}

function decodePayload(view: DataView, bytes: Uint8Array, at: number, length: number): ServerNameEvent | ServerNameSkip | null {
  if (length < P.data) return null;
  const tuple = readTuple(view, bytes, at + P.tuple);
  const kind = view.getUint16(at + P.kind, true);
  if (!tuple || (kind !== PayloadKind.tls && kind !== PayloadKind.http)) return null;
  const capLen = Math.min(view.getUint16(at + P.capLen, true), length - P.data);
  const payload = bytes.subarray(at + P.data, at + P.data + capLen);
  const source = kind === PayloadKind.tls ? 'sni' : 'http';
  const parsed = source === 'sni' ? parseClientHello(payload) : parseHttpHost(payload);
  if (!parsed.ok) return { kind: 'serverNameSkipped', source, reason: parsed.reason };
  return {
    kind: 'serverName',
    ...base(view, at),
    ifindex: view.getUint32(at + P.ifindex, true),
    direction: direction(view.getUint32(at + P.direction, true)),
    tuple,
    name: parsed.name,
    source,
  };
}

const direction = (raw: number): 'out' | 'in' => (raw === 1 ? 'in' : 'out');

/**
 * Decodes one record at `at` of `length` bytes; null when it is malformed.
 * `view` and `bytes` cover the same memory.
 */
export function decodeRecord(view: DataView, bytes: Uint8Array, at: number, length: number): KernelEvent | ServerNameSkip | null {
  if (length < header.size) return null;
  const type = view.getUint32(at + H.type, true);
  switch (type) {
    case EventType.connect: {
      if (length < connectEvent.size) return null;
      const tuple = readTuple(view, bytes, at + C.tuple);
      const probe = PROBE_NAMES.get(view.getUint32(at + C.probe, true));
      if (!tuple || !probe) return null;
      return {
        kind: 'connect',
        ...base(view, at),
        task: readTask(view, bytes, at + C.task),
        tuple,
        sock: readSock(view, at + C.sock),
        ret: view.getInt32(at + C.ret, true),
        probe,
      };
    }
    case EventType.established: {
      if (length < establishedEvent.size) return null;
      const tuple = readTuple(view, bytes, at + E.tuple);
      if (!tuple) return null;
      return {
        kind: 'established',
        ...base(view, at),
        task: readTask(view, bytes, at + E.task),
        tuple,
        sock: readSock(view, at + E.sock),
        latencyNs: readU64(view, at + E.latency),
        direction: direction(view.getUint32(at + E.direction, true)),
      };
    }
    case EventType.close: {
      if (length < closeEvent.size) return null;
      const tuple = readTuple(view, bytes, at + X.tuple);
      if (!tuple) return null;
      return {
        kind: 'close',
        ...base(view, at),
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
    }
    case EventType.lookup: {
      if (length < lookupEvent.size) return null;
      const count = Math.min(view.getUint32(at + L.naddrs, true), 16);
      const addrs: string[] = [];
      for (let i = 0; i < count; i++) {
        const entry = at + L.addrs + i * addrLayout.size;
        const family = familyOf(view.getUint16(entry + A.family, true));
        if (family !== null) addrs.push(formatAddress(family, bytes, entry + A.addr));
      }
      return {
        kind: 'lookup',
        ...base(view, at),
        task: readTask(view, bytes, at + L.task),
        name: readCString(bytes, at + L.name, NAME_MAX),
        addrs,
        truncated: view.getUint32(at + L.truncated, true) !== 0,
        ret: view.getInt32(at + L.ret, true),
        latencyNs: readU64(view, at + L.latency),
      };
    }
    case EventType.dnsPacket: {
      if (length < D.data) return null;
      const tuple = readTuple(view, bytes, at + D.tuple);
      if (!tuple) return null;
      const capLen = Math.min(view.getUint16(at + D.capLen, true), length - D.data);
      const transport = view.getUint8(at + D.transport);
      if (transport !== DnsTransport.udp && transport !== DnsTransport.tcp) return null;
      const event: DnsPacketEvent = {
        kind: 'dnsPacket',
        ...base(view, at),
        tuple,
        ifindex: view.getUint32(at + D.ifindex, true),
        direction: direction(view.getUint32(at + D.direction, true)),
        transport: transport === DnsTransport.tcp ? 'tcp' : 'udp',
        messageLength: view.getUint16(at + D.msgLen, true),
        // A copy, so a small message never keeps a whole batch alive.
        message: Buffer.from(bytes.subarray(at + D.data, at + D.data + capLen)),
      };
      if (transport === DnsTransport.tcp) event.segment = { seq: view.getUint32(at + D.tcpSeq, true), flags: view.getUint8(at + D.tcpFlags) };
      return event;
    }
    case EventType.payload:
      return decodePayload(view, bytes, at, length);
    default:
      return null;
  }
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
      else if (event.kind === 'serverNameSkipped') {
        const names = (stats.serverNames ??= emptyServerNameStats());
        const key = `${event.source}:${event.reason}`;
        names.skipped[key] = (names.skipped[key] ?? 0) + 1;
      } else {
        if (event.kind === 'serverName') (stats.serverNames ??= emptyServerNameStats())[event.source]++;
        emit(event);
      }
    },
    () => stats.malformed++,
  );
}
