import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch, type DecodeStats, type KernelEvent } from '../../../src/kernel/decode.js';
import {
  AF_INET,
  AF_INET6,
  EventType,
  closeEvent,
  connectEvent,
  dnsPacketEvent,
  DnsTransport,
  lookupEvent,
  PayloadKind,
  payloadEvent,
  SeenAt,
  udpCloseEvent,
  udpConv,
  udpConvKey,
  addr,
} from '../../../src/kernel/layout.js';
import { OPENSSL_HELLO } from '../names/client-hellos.js';
import type { StructLayout } from '../../../src/kernel/struct.js';
import { decodeUdpConversations, encodeUdpConversationKey } from '../../../src/kernel/udp-convs.js';

/** Writes fields of a struct by their C paths, the way the kernel would. */
class Record {
  readonly bytes: Buffer;
  constructor(private readonly layout: StructLayout) {
    this.bytes = Buffer.alloc(layout.size);
  }
  private at(path: string): number {
    const offset = this.layout.offsets[path];
    assert.notEqual(offset, undefined, path);
    return offset as number;
  }
  u8(path: string, value: number): this {
    this.bytes.writeUInt8(value, this.at(path));
    return this;
  }
  u16(path: string, value: number): this {
    this.bytes.writeUInt16LE(value, this.at(path));
    return this;
  }
  u32(path: string, value: number): this {
    this.bytes.writeUInt32LE(value, this.at(path));
    return this;
  }
  s32(path: string, value: number): this {
    this.bytes.writeInt32LE(value, this.at(path));
    return this;
  }
  u64(path: string, value: bigint, extra = 0): this {
    this.bytes.writeBigUInt64LE(value, this.at(path) + extra);
    return this;
  }
  raw(path: string, data: Uint8Array, extra = 0): this {
    this.bytes.set(data, this.at(path) + extra);
    return this;
  }
  text(path: string, value: string): this {
    return this.raw(path, Buffer.from(value + '\0'));
  }
}

function frame(records: Buffer[], ringIndex = 0): Buffer {
  const parts: Buffer[] = [];
  for (const record of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(record.length, 0);
    head.writeUInt32LE(ringIndex, 4);
    const padded = Buffer.alloc((record.length + 7) & ~7);
    record.copy(padded);
    parts.push(head, padded);
  }
  return Buffer.concat(parts);
}

function decodeAll(batch: Buffer): { events: KernelEvent[]; stats: DecodeStats } {
  const events: KernelEvent[] = [];
  const stats = { records: 0, malformed: 0 };
  decodeBatch(batch, (event) => events.push(event), stats);
  return { events, stats };
}

function task(record: Record, at = 'task'): Record {
  return record
    .u32(`${at}.pid`, 4242)
    .u32(`${at}.tid`, 4243)
    .u32(`${at}.uid`, 1000)
    .u32(`${at}.gid`, 100)
    .u64(`${at}.cgroup_id`, 77n)
    .text(`${at}.comm`, 'curl')
    .u32(`${at}.ppid`, 4000)
    .u64(`${at}.start_ns`, 17_314_089_026_405n);
}

const TASK = { pid: 4242, tid: 4243, uid: 1000, gid: 100, cgroupId: 77, comm: 'curl', ppid: 4000, startNs: 17_314_089_026_405 };

function ipv4Tuple(record: Record): Record {
  return record
    .u16('tuple.family', AF_INET)
    .raw('tuple.saddr', Uint8Array.from([10, 213, 1, 2]))
    .raw('tuple.daddr', Uint8Array.from([10, 213, 1, 1]))
    .u16('tuple.sport', 40000)
    .u16('tuple.dport', 443);
}

test('a connect record decodes with its task, tuple, socket and probe', () => {
  const record = ipv4Tuple(task(new Record(connectEvent)))
    .u64('hdr.ts_ns', 123_456_789_012n)
    .u32('hdr.type', EventType.connect)
    .u32('hdr.cpu', 1)
    .u64('sock', 0xffff888012345678n)
    .s32('ret', -99)
    .u32('probe', 3);
  const { events, stats } = decodeAll(frame([record.bytes]));
  assert.deepEqual(stats, { records: 1, malformed: 0 });
  assert.deepEqual(events[0], {
    kind: 'connect',
    tsNs: 123_456_789_012,
    cpu: 1,
    task: TASK,
    tuple: { family: 4, saddr: '10.213.1.2', sport: 40000, daddr: '10.213.1.1', dport: 443 },
    sock: 0x888012345678,
    ret: -99,
    probe: 'tracepoint',
  });
});

test("a thread's events share one task object while the thread is unchanged; any change gives a new one", () => {
  const connect = (mutate: (record: Record) => Record = (r) => r) =>
    mutate(
      ipv4Tuple(task(new Record(connectEvent)))
        .u32('hdr.type', EventType.connect)
        .u32('probe', 3),
    ).bytes;
  const { events } = decodeAll(
    frame([
      connect(),
      connect(),
      connect((r) => r.text('task.comm', 'wget')),
      connect((r) => r.u32('task.uid', 0)),
      connect((r) => r.u64('task.start_ns', 1n)),
    ]),
  );
  const tasks = events.map((event) => (event.kind === 'connect' ? event.task : null));
  assert.equal(tasks[0], tasks[1], 'the same thread, unchanged: the same object');
  assert.deepEqual(tasks[0], TASK);
  assert.deepEqual(
    tasks.slice(2).map((t) => [t?.comm, t?.uid, t?.startNs]),
    [
      ['wget', 1000, TASK.startNs],
      ['curl', 0, TASK.startNs],
      ['curl', 1000, 1],
    ],
  );
  assert.equal(new Set(tasks).size, 4);
});

test('IPv4 addresses with the high bit set, all zeros and all ones decode right, the second time too', () => {
  const connect = (saddr: number[], daddr: number[]) =>
    task(new Record(connectEvent))
      .u32('hdr.type', EventType.connect)
      .u32('probe', 3)
      .u16('tuple.family', AF_INET)
      .raw('tuple.saddr', Uint8Array.from(saddr))
      .raw('tuple.daddr', Uint8Array.from(daddr)).bytes;
  const pairs = [
    [
      [203, 0, 113, 200],
      [255, 255, 255, 255],
    ],
    [
      [0, 0, 0, 0],
      [128, 0, 0, 1],
    ],
  ];
  const { events } = decodeAll(frame([...pairs, ...pairs].map(([s, d]) => connect(s as number[], d as number[]))));
  assert.deepEqual(
    events.map((e) => (e.kind === 'connect' ? [e.tuple.saddr, e.tuple.daddr] : null)),
    [
      ['203.0.113.200', '255.255.255.255'],
      ['0.0.0.0', '128.0.0.1'],
      ['203.0.113.200', '255.255.255.255'],
      ['0.0.0.0', '128.0.0.1'],
    ],
  );
});

test('a close record keeps byte counts beyond 32 bits', () => {
  const record = ipv4Tuple(task(new Record(closeEvent)))
    .u32('hdr.type', EventType.close)
    .u64('duration_ns', 5_000_000n)
    .u64('bytes_sent', 6_000_000_000n)
    .u64('bytes_received', 1234n)
    .u32('retransmits', 3)
    .u32('direction', 1)
    .u32('old_state', 8)
    .u32('tracked', 1);
  const [event] = decodeAll(frame([record.bytes])).events;
  assert.equal(event?.kind, 'close');
  if (event?.kind !== 'close') return;
  assert.equal(event.bytesSent, 6_000_000_000);
  assert.equal(event.bytesReceived, 1234);
  assert.equal(event.durationNs, 5_000_000);
  assert.equal(event.retransmits, 3);
  assert.equal(event.direction, 'in');
  assert.equal(event.tracked, true);
});

test('a lookup record lists every address of both families, in order', () => {
  const record = task(new Record(lookupEvent))
    .u32('hdr.type', EventType.lookup)
    .text('name', 'api.example.test')
    .u32('naddrs', 3)
    .u64('latency_ns', 2_500_000n);
  const families = [AF_INET, AF_INET6, AF_INET];
  const addresses = [Uint8Array.from([192, 0, 2, 1]), Uint8Array.from(Buffer.from('fd000213000000000000000000000001', 'hex')), Uint8Array.from([192, 0, 2, 2])];
  families.forEach((family, index) => {
    record.raw('addrs.addr', addresses[index] as Uint8Array, index * addr.size);
    const familyBytes = Buffer.alloc(2);
    familyBytes.writeUInt16LE(family);
    record.raw('addrs.family', familyBytes, index * addr.size);
  });
  const [event] = decodeAll(frame([record.bytes])).events;
  assert.equal(event?.kind, 'lookup');
  if (event?.kind !== 'lookup') return;
  assert.equal(event.name, 'api.example.test');
  assert.deepEqual(event.addrs, ['192.0.2.1', 'fd00:213::1', '192.0.2.2']);
  assert.equal(event.latencyNs, 2_500_000);
  assert.equal(event.ret, 0);
});

test('a wire DNS record carries exactly the captured message bytes', () => {
  const message = Buffer.from('0102818000010001000000000474657374000001000', 'hex');
  const record = ipv4Tuple(new Record(dnsPacketEvent))
    .u32('hdr.type', EventType.dnsPacket)
    .u32('ifindex', 7)
    .u32('direction', 1)
    .u16('cap_len', message.length)
    .u16('msg_len', 600)
    .raw('data', message);
  const [event] = decodeAll(frame([record.bytes], 1)).events;
  assert.equal(event?.kind, 'dnsDatagram');
  if (event?.kind !== 'dnsDatagram') return;
  assert.deepEqual(event.message, message);
  assert.equal(event.messageLength, 600);
  assert.equal(event.ifindex, 7);
  assert.equal(event.direction, 'in');
});

test('a DNS-over-TCP record is one segment: its payload, sequence number and flags', () => {
  const payload = Buffer.from('002a0102', 'hex');
  const record = ipv4Tuple(new Record(dnsPacketEvent))
    .u32('hdr.type', EventType.dnsPacket)
    .u32('direction', 1)
    .u16('cap_len', payload.length)
    .u16('msg_len', payload.length)
    .u8('transport', DnsTransport.tcp)
    .u8('tcp_flags', 0x19)
    .u32('tcp_seq', 0xfffffff0)
    .raw('data', payload);
  const bad = ipv4Tuple(new Record(dnsPacketEvent)).u32('hdr.type', EventType.dnsPacket).u8('transport', 9);
  const { events, stats } = decodeAll(frame([record.bytes, bad.bytes], 1));
  assert.equal(events.length, 1);
  assert.equal(stats.malformed, 1, 'an unknown transport is malformed');
  const [event] = events;
  assert.ok(event?.kind === 'dnsSegment');
  assert.equal(event.seq, 0xfffffff0);
  assert.equal(event.flags, 0x19);
  assert.equal(event.payloadLength, payload.length);
  assert.deepEqual(event.payload, payload);
});

function payloadRecord(kind: number, data: Buffer, payloadLength = data.length): Buffer {
  return ipv4Tuple(new Record(payloadEvent))
    .u64('hdr.ts_ns', 5_000n)
    .u32('hdr.type', EventType.payload)
    .u32('ifindex', 4)
    .u32('direction', 0)
    .u16('cap_len', data.length)
    .u16('kind', kind)
    .u32('payload_len', payloadLength)
    .raw('data', data).bytes;
}

test("a payload record is its bytes, its protocol and the egress tuple: naming it is the wire stage's", () => {
  const hello = Buffer.from(OPENSSL_HELLO, 'hex');
  const head = Buffer.from('GET / HTTP/1.1\r\nHost: www.example.test:8080\r\n\r\n');
  const { events, stats } = decodeAll(frame([payloadRecord(PayloadKind.tls, hello), payloadRecord(PayloadKind.http, head), payloadRecord(7, hello)], 1));
  assert.deepEqual(events, [
    {
      kind: 'payload',
      tsNs: 5_000,
      cpu: 0,
      ifindex: 4,
      direction: 'out',
      tuple: { family: 4, saddr: '10.213.1.2', sport: 40000, daddr: '10.213.1.1', dport: 443 },
      seenAt: 'interface',
      task: null,
      socket: null,
      netns: null,
      protocol: 'tls',
      payload: hello,
    },
    {
      kind: 'payload',
      tsNs: 5_000,
      cpu: 0,
      ifindex: 4,
      direction: 'out',
      tuple: { family: 4, saddr: '10.213.1.2', sport: 40000, daddr: '10.213.1.1', dport: 443 },
      seenAt: 'interface',
      task: null,
      socket: null,
      netns: null,
      protocol: 'http',
      payload: head,
    },
  ]);
  assert.equal(stats.malformed, 1, 'an unknown payload kind');
});

test('short, unknown and unparseable records are counted and skipped, the rest still decode', () => {
  const good = ipv4Tuple(task(new Record(connectEvent)))
    .u32('hdr.type', EventType.connect)
    .u32('probe', 1);
  const short = good.bytes.subarray(0, connectEvent.size - 1);
  const unknown = Buffer.from(good.bytes);
  unknown.writeUInt32LE(99, 8);
  const badFamily = ipv4Tuple(task(new Record(connectEvent)))
    .u32('hdr.type', EventType.connect)
    .u32('probe', 1)
    .u16('tuple.family', 1);
  const { events, stats } = decodeAll(frame([short, good.bytes, unknown, badFamily.bytes, Buffer.alloc(3)]));
  assert.equal(events.length, 1);
  assert.deepEqual(stats, { records: 5, malformed: 4 });
});

test('a frame that runs past the end of the batch ends it and is counted', () => {
  const good = ipv4Tuple(task(new Record(connectEvent)))
    .u32('hdr.type', EventType.connect)
    .u32('probe', 2);
  const batch = frame([good.bytes, good.bytes]);
  const { events, stats } = decodeAll(batch.subarray(0, batch.length - 8));
  assert.equal(events.length, 1);
  assert.equal(stats.malformed, 1);
});

/** mulberry32: a small seeded generator of floats in [0, 1), so a fuzz run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random bytes never throw', (t) => {
  // A fresh seed each run, printed; HOSTFLOW_FUZZ_SEED=<seed> replays a run.
  const seed = Number(process.env.HOSTFLOW_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
  assert.ok(Number.isInteger(seed) && seed >= 0, `HOSTFLOW_FUZZ_SEED must be a non-negative integer, not ${process.env.HOSTFLOW_FUZZ_SEED}`);
  t.diagnostic(`fuzz seed ${seed} (HOSTFLOW_FUZZ_SEED=${seed} replays it)`);
  const random = seededRandom(seed);
  for (let i = 0; i < 500; i++) {
    const batch = Buffer.alloc(Math.floor(random() * 2048));
    for (let j = 0; j < batch.length; j++) batch[j] = Math.floor(random() * 256);
    if (batch.length >= 8) batch.writeUInt32LE(Math.floor(random() * batch.length), 0);
    assert.doesNotThrow(() => decodeAll(batch), `batch ${i} of seed ${seed} (HOSTFLOW_FUZZ_SEED=${seed} replays it)`);
  }
});

test("a dual-stack socket's IPv4-mapped tuple decodes as the IPv4 connection it is", () => {
  const mapped = (v4: number[]) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  const record = task(new Record(closeEvent))
    .u32('hdr.type', EventType.close)
    .u16('tuple.family', AF_INET6)
    .raw('tuple.saddr', mapped([10, 213, 45, 1]))
    .raw('tuple.daddr', mapped([10, 213, 45, 2]))
    .u16('tuple.sport', 8080)
    .u16('tuple.dport', 46708);
  const [event] = decodeAll(frame([record.bytes])).events;
  assert.deepEqual(event && 'tuple' in event ? event.tuple : null, { family: 4, saddr: '10.213.45.1', sport: 8080, daddr: '10.213.45.2', dport: 46708 });
});

test('a real IPv6 tuple with one mapped-looking end stays IPv6', () => {
  const record = task(new Record(closeEvent))
    .u32('hdr.type', EventType.close)
    .u16('tuple.family', AF_INET6)
    .raw('tuple.saddr', Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]))
    .raw('tuple.daddr', Uint8Array.from(Buffer.from('fd000000000000000000000000000001', 'hex')));
  const [event] = decodeAll(frame([record.bytes])).events;
  assert.equal(event && 'tuple' in event ? event.tuple.family : null, 6);
});

test('a QUIC Initial copied at a socket carries its owner and the socket cookie', () => {
  const initial = Buffer.concat([Buffer.from([0xc3, 0, 0, 0, 1]), Buffer.alloc(1195, 0x71)]);
  const record = task(ipv4Tuple(new Record(payloadEvent)))
    .u32('hdr.type', EventType.payload)
    .u64('sock_cookie', 0x1_0000_0003n)
    .u64('netns_cookie', 4097n)
    .u16('cap_len', initial.length)
    .u16('kind', PayloadKind.quic)
    .u32('payload_len', initial.length)
    .u8('seen_at', SeenAt.socket)
    .raw('data', initial);
  const bad = ipv4Tuple(new Record(payloadEvent)).u32('hdr.type', EventType.payload).u16('kind', PayloadKind.tls).u8('seen_at', 7);
  const { events, stats } = decodeAll(frame([record.bytes, bad.bytes]));
  assert.equal(stats.malformed, 1, 'an unknown seen_at is malformed');
  const [event] = events;
  assert.ok(event?.kind === 'payload');
  assert.equal(event.protocol, 'quic');
  assert.equal(event.seenAt, 'socket');
  assert.deepEqual(event.task, TASK);
  assert.equal(event.socket, '4294967299', 'the cookie in decimal, exact beyond 32 bits');
  assert.equal(event.netns, '4097');
  assert.deepEqual(event.payload, initial);
});

test('a DNS query seen at a socket carries the owner; one seen at an interface has none', () => {
  const query = Buffer.from('abcd01000001000000000000', 'hex');
  const atSocket = task(ipv4Tuple(new Record(dnsPacketEvent)))
    .u32('hdr.type', EventType.dnsPacket)
    .u64('sock_cookie', 8193n)
    .u64('netns_cookie', 3n)
    .u32('direction', 0)
    .u16('cap_len', query.length)
    .u16('msg_len', query.length)
    .u8('transport', DnsTransport.udp)
    .u8('seen_at', SeenAt.socket)
    .raw('data', query);
  const atInterface = task(ipv4Tuple(new Record(dnsPacketEvent)))
    .u32('hdr.type', EventType.dnsPacket)
    .u32('direction', 1)
    .u16('cap_len', query.length)
    .u16('msg_len', query.length)
    .u8('seen_at', SeenAt.interface)
    .raw('data', query);
  const { events } = decodeAll(frame([atSocket.bytes, atInterface.bytes]));
  const [socket, iface] = events;
  assert.ok(socket?.kind === 'dnsDatagram' && iface?.kind === 'dnsDatagram');
  assert.deepEqual([socket.seenAt, socket.direction, socket.socket, socket.netns, socket.task], ['socket', 'out', '8193', '3', TASK]);
  assert.deepEqual([iface.seenAt, iface.direction, iface.socket, iface.netns, iface.task], ['interface', 'in', null, null, null]);
  assert.deepEqual(socket.message, query);
});

test('a UDP socket release decodes to its cookie', () => {
  const record = new Record(udpCloseEvent)
    .u64('hdr.ts_ns', 99n)
    .u32('hdr.type', EventType.udpClose)
    .u32('hdr.cpu', 1)
    .u64('sock_cookie', 2n ** 63n + 5n);
  const { events, stats } = decodeAll(frame([record.bytes, record.bytes.subarray(0, udpCloseEvent.size - 1)]));
  assert.deepEqual(events, [{ kind: 'udpClose', tsNs: 99, cpu: 1, socket: '9223372036854775813' }]);
  assert.equal(stats.malformed, 1, 'a short record');
});

test('a udp_convs dump decodes per socket and remote, and an entry encodes back to its key', () => {
  const key = new Record(udpConvKey)
    .u64('sock_cookie', 4103n)
    .raw('raddr', Uint8Array.from([0xfd, 0, 2, 0x13, 0, 1, ...new Array<number>(9).fill(0), 1]))
    .u16('rport', 443)
    .u16('family', AF_INET6);
  const other = new Record(udpConvKey).u64('sock_cookie', 1n).u16('family', 0);
  const value = task(new Record(udpConv))
    .raw('laddr', Uint8Array.from([0xfd, 0, 2, 0x13, 0, 1, ...new Array<number>(9).fill(0), 2]))
    .u16('lport', 50000)
    .u32('ifindex', 3)
    .u64('netns_cookie', 4097n)
    .u64('packets_out', 3n)
    .u64('bytes_out', 1300n)
    .u64('packets_in', 2n)
    .u64('bytes_in', 6_000_000_000n)
    .u64('first_ns', 10n)
    .u64('last_ns', 20n);
  const stride = (udpConv.size + 7) & ~7;
  const values = Buffer.alloc(stride * 2);
  value.bytes.copy(values, 0);
  const dump = { count: 2, keySize: udpConvKey.size, valueStride: stride, cpus: 1, keys: Buffer.concat([key.bytes, other.bytes]), values };
  const entries = decodeUdpConversations(dump);
  assert.deepEqual(entries, [
    {
      socket: '4103',
      family: 6,
      raddr: 'fd00:213:1::1',
      rport: 443,
      laddr: 'fd00:213:1::2',
      lport: 50000,
      ifindex: 3,
      netnsCookie: '4097',
      task: TASK,
      packetsOut: 3,
      bytesOut: 1300,
      packetsIn: 2,
      bytesIn: 6_000_000_000,
      firstNs: 10,
      lastNs: 20,
    },
  ]);
  assert.deepEqual(encodeUdpConversationKey(entries[0]!), key.bytes);
});
