import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { DnsTcpReassembler, type DnsTcpMessage } from '../../../src/dns/tcp-stream.js';
import { parseDnsResponse } from '../../../src/dns/wire.js';
import type { DnsSegmentEvent, Tuple } from '../../../src/kernel/decode.js';

const MS = 1e6;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const TUPLE: Tuple = { family: 4, saddr: '10.0.0.1', sport: 53, daddr: '10.0.0.2', dport: 41000 };

function answer(name: string, addr: string, id = 1): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl: 30, data: addr }],
  });
}

/** The stream a DNS server writes: each message after its 2-byte length. */
function framed(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

function segment(
  seq: number,
  payload: Buffer,
  options: { flags?: number; tsMs?: number; wireLength?: number; tuple?: Tuple; direction?: 'in' | 'out' } = {},
): DnsSegmentEvent {
  return {
    kind: 'dnsSegment',
    tsNs: (options.tsMs ?? 1) * MS,
    cpu: 0,
    tuple: options.tuple ?? TUPLE,
    ifindex: 1,
    seenAt: 'interface',
    task: null,
    socket: null,
    netns: null,
    direction: options.direction ?? 'in',
    seq: seq >>> 0,
    flags: options.flags ?? 0x18,
    payloadLength: options.wireLength ?? payload.length,
    payload,
  };
}

function run(reassembler: DnsTcpReassembler, segments: DnsSegmentEvent[]): DnsTcpMessage[] {
  const out: DnsTcpMessage[] = [];
  for (const event of segments) reassembler.handle(event, (m) => out.push(m));
  return out;
}

const messagesOf = (messages: DnsTcpMessage[]) => messages.map((m) => m.message.toString('hex'));

test('one segment with one message becomes a whole message the wire parser names', () => {
  const message = answer('tcp.example', '192.0.2.7');
  const reassembler = new DnsTcpReassembler();
  const [event, ...rest] = run(reassembler, [segment(1000, framed(message), { tsMs: 5 })]);
  assert.deepEqual(rest, []);
  assert.ok(event);
  assert.equal(event.segment.tsNs, 5 * MS);
  assert.equal(event.message.length, message.length);
  const parsed = parseDnsResponse(event.message, event.message.length);
  assert.ok(parsed.ok);
  assert.equal(parsed.answer.host, 'tcp.example');
  assert.deepEqual(parsed.answer.addrs, ['192.0.2.7']);
  assert.deepEqual(reassembler.stats, { segments: 1, messages: 1, duplicates: 0, skipped: {} });
});

test('a message over three segments, and two messages in one segment', () => {
  const a = answer('a.example', '192.0.2.1');
  const b = answer('b.example', '192.0.2.2', 2);
  const c = answer('c.example', '192.0.2.3', 3);
  const stream = framed(a, b, c);
  const cuts = [1, a.length + 2 + 3, stream.length - 5];
  const events = [0, ...cuts].map((from, i, all) => segment(500 + from, stream.subarray(from, all[i + 1] ?? stream.length), { tsMs: i + 1 }));
  const out = run(new DnsTcpReassembler(), events);
  assert.deepEqual(
    messagesOf(out),
    [a, b, c].map((m) => m.toString('hex')),
  );
  assert.equal(out[0]?.segment.tsNs, 2 * MS, 'a message takes the time of the segment that completed it');
});

test('loopback: every segment seen twice (TC egress, then XDP ingress) gives each message once', () => {
  const a = answer('lo.example', '127.0.0.9');
  const stream = framed(a);
  const reassembler = new DnsTcpReassembler();
  const out = run(reassembler, [
    segment(99, Buffer.alloc(0), { flags: SYN | 0x10, direction: 'out' }),
    segment(99, Buffer.alloc(0), { flags: SYN | 0x10, direction: 'in' }),
    segment(100, stream.subarray(0, 10), { direction: 'out' }),
    segment(100, stream.subarray(0, 10), { direction: 'in' }),
    segment(110, stream.subarray(10), { flags: 0x18 | FIN, direction: 'out' }),
    segment(110, stream.subarray(10), { flags: 0x18 | FIN, direction: 'in' }),
  ]);
  assert.deepEqual(messagesOf(out), [a.toString('hex')]);
  assert.equal(reassembler.stats.duplicates, 3);
  assert.deepEqual(reassembler.stats.skipped, {});
});

test('after the SYN, segments out of order wait for the bytes before them; sequence numbers wrap', () => {
  const a = answer('ooo.example', '192.0.2.9');
  const stream = framed(a, a);
  const start = 0xffff_fff0;
  const third = Math.floor(stream.length / 3);
  const out = run(new DnsTcpReassembler(), [
    segment(start - 1, Buffer.alloc(0), { flags: SYN | 0x10 }),
    segment(start + 2 * third, stream.subarray(2 * third)),
    segment(start + third, stream.subarray(third, 2 * third)),
    segment(start + third, stream.subarray(third, 2 * third)),
    segment(start, stream.subarray(0, third)),
  ]);
  assert.deepEqual(messagesOf(out), [a.toString('hex'), a.toString('hex')]);
});

test('after a SYN the stream starts at the next byte; a segment overlapping what was seen adds only its new bytes', () => {
  const a = answer('syn.example', '192.0.2.10');
  const stream = framed(a);
  const out = run(new DnsTcpReassembler(), [
    segment(7, Buffer.alloc(0), { flags: SYN | 0x10 }),
    segment(8, stream.subarray(0, 20)),
    segment(18, stream.subarray(10)),
  ]);
  assert.deepEqual(messagesOf(out), [a.toString('hex')]);
});

test('a segment the kernel cut ends the framing: counted capture_cut, the rest of the stream ignored until it ends', () => {
  const big = answer('big.example', '192.0.2.11');
  const stream = framed(big, big);
  const reassembler = new DnsTcpReassembler();
  const out = run(reassembler, [
    segment(1, stream.subarray(0, big.length + 2 + 4), { wireLength: stream.length }),
    segment(1 + stream.length, framed(big)),
    segment(1 + stream.length + big.length + 2, Buffer.alloc(0), { flags: FIN | 0x10 }),
  ]);
  assert.deepEqual(messagesOf(out), [big.toString('hex')], 'the message before the cut still counts');
  assert.deepEqual(reassembler.stats.skipped, { capture_cut: 1 });
});

test('bounds: bytes too far ahead, too many streams, idle streams, and streams ending mid-message are counted by reason', () => {
  const partial = framed(answer('p.example', '192.0.2.12')).subarray(0, 8);
  const ahead = new DnsTcpReassembler({ maxStreamBytes: 100 });
  run(ahead, [segment(1, partial), segment(1 + 200, Buffer.alloc(10))]);
  assert.deepEqual(ahead.stats.skipped, { too_large: 1 });

  const few = new DnsTcpReassembler({ maxStreams: 2 });
  const tuple = (port: number): Tuple => ({ ...TUPLE, dport: port });
  run(
    few,
    [1, 2, 3].map((port) => segment(1, partial, { tuple: tuple(port) })),
  );
  assert.equal(few.size, 2);
  assert.deepEqual(few.stats.skipped, { streams_full: 1 });

  const idle = new DnsTcpReassembler({ maxIdleNs: 5_000 * MS });
  run(idle, [segment(1, partial, { tsMs: 1_000 }), segment(1, partial, { tsMs: 7_000, tuple: tuple(9) })]);
  assert.deepEqual(idle.stats.skipped, { expired: 1 });
  assert.equal(idle.size, 1);

  const ended = new DnsTcpReassembler();
  run(ended, [segment(1, partial), segment(1 + partial.length, Buffer.alloc(0), { flags: RST })]);
  assert.deepEqual(ended.stats.skipped, { incomplete: 1 });
  run(ended, [segment(1, partial, { tuple: tuple(10) })]);
  ended.finish();
  assert.deepEqual(ended.stats.skipped, { incomplete: 2 });
  assert.equal(ended.size, 0);
});

test('a zero message length is counted and stepped over', () => {
  const a = answer('z.example', '192.0.2.13');
  const reassembler = new DnsTcpReassembler();
  const out = run(reassembler, [segment(1, Buffer.concat([Buffer.from([0, 0]), framed(a)]))]);
  assert.deepEqual(messagesOf(out), [a.toString('hex')]);
  assert.deepEqual(reassembler.stats.skipped, { empty_message: 1 });
});

test('property: any segmentation, duplication and bounded reordering of a stream gives exactly its messages, in order', () => {
  const messageArb = fc.tuple(fc.domain(), fc.ipV4(), fc.integer({ min: 0, max: 0xffff })).map(([name, addr, id]) => answer(name, addr, id));
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.array(fc.nat(), { maxLength: 60 }),
      fc.boolean(),
      (messages, sizes, isn, shuffle, withSyn) => {
        const stream = framed(...messages);
        const segments: DnsSegmentEvent[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const size = sizes[i % sizes.length] as number;
          segments.push(segment(isn + at, stream.subarray(at, at + size)));
          at += size;
        }
        // Duplicate some, then swap neighbours: reordering within a few segments.
        const wire = segments.flatMap((s, i) => ((shuffle[i] ?? 0) % 3 === 0 ? [s, s] : [s]));
        for (let i = 0; i + 1 < wire.length; i++) {
          if ((shuffle[i] ?? 1) % 2 === 0) [wire[i], wire[i + 1]] = [wire[i + 1] as DnsSegmentEvent, wire[i] as DnsSegmentEvent];
        }
        // Without a SYN the first segment seen starts the stream: keep the first one first then.
        if (!withSyn) wire.unshift(segments[0] as DnsSegmentEvent);
        const events = withSyn ? [segment(isn - 1, Buffer.alloc(0), { flags: SYN | 0x10 }), ...wire] : wire;
        const reassembler = new DnsTcpReassembler();
        const out = run(reassembler, events);
        assert.deepEqual(
          messagesOf(out),
          messages.map((m) => m.toString('hex')),
        );
        assert.deepEqual(reassembler.stats.skipped, {});
      },
    ),
    { numRuns: 300 },
  );
});
