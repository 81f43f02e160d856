import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RECORD_FRAME } from '../../../src/kernel/decode.js';
import { EventType, PacketFlag, header, packetEvent } from '../../../src/kernel/layout.js';
import { decodePacketBatch, type CapturedPacket, type PacketDecodeStats } from '../../../src/kernel/packets.js';

/** One record as the kernel writes it: the header, cap_len bytes, the rest of the size class. */
function record(options: {
  ts: bigint;
  ifindex: number;
  direction: number;
  flags: number;
  wire: number;
  data: Buffer;
  reserved?: number;
  type?: number;
}): Buffer {
  const bytes = Buffer.alloc(packetEvent.size + (options.reserved ?? 128), 0xee);
  bytes.writeBigUInt64LE(options.ts, header.offsets.ts_ns);
  bytes.writeUInt32LE(options.type ?? EventType.packet, header.offsets.type);
  bytes.writeUInt32LE(1, header.offsets.cpu);
  bytes.writeUInt32LE(options.ifindex, packetEvent.offsets.ifindex);
  bytes.writeUInt32LE(options.wire, packetEvent.offsets.wire_len);
  bytes.writeUInt32LE(options.data.length, packetEvent.offsets.cap_len);
  bytes.writeUInt16LE(options.direction, packetEvent.offsets.direction);
  bytes.writeUInt16LE(options.flags, packetEvent.offsets.flags);
  options.data.copy(bytes, packetEvent.offsets.data);
  return bytes;
}

function batch(records: Buffer[], cut = 0): Buffer {
  const parts = records.map((bytes) => {
    const framed = Buffer.alloc(RECORD_FRAME + ((bytes.length + 7) & ~7));
    framed.writeUInt32LE(bytes.length, 0);
    bytes.copy(framed, RECORD_FRAME);
    return framed;
  });
  const all = Buffer.concat(parts);
  return all.subarray(0, all.length - cut);
}

test('captured frames decode with their kernel time, interface, direction, lengths and flags', () => {
  const stats: PacketDecodeStats = { packets: 0, bytes: 0, malformed: 0 };
  const seen: CapturedPacket[] = [];
  const data = Buffer.from('0123456789abcdef');
  decodePacketBatch(
    batch([
      record({ ts: 5_000_000_123n, ifindex: 3, direction: 1, flags: PacketFlag.dropped, wire: 1514, data }),
      record({ ts: 6n, ifindex: 4, direction: 0, flags: PacketFlag.gso, wire: 16, data: data.subarray(0, 3), reserved: 256 }),
    ]),
    (packet) => seen.push({ ...packet, data: Buffer.from(packet.data) }),
    stats,
  );
  assert.deepEqual(
    seen.map(({ tsNs, ifindex, direction, wireLength, dropped, gso, data: bytes }) => [tsNs, ifindex, direction, wireLength, dropped, gso, bytes.toString()]),
    [
      [5_000_000_123, 3, 'in', 1514, true, false, '0123456789abcdef'],
      [6, 4, 'out', 16, false, true, '012'],
    ],
  );
  assert.deepEqual(stats, { packets: 2, bytes: 19, malformed: 0 });
});

test('records of another type, with a cap_len past their end, or cut off are counted, not thrown', () => {
  const stats: PacketDecodeStats = { packets: 0, bytes: 0, malformed: 0 };
  const lying = record({ ts: 1n, ifindex: 1, direction: 1, flags: 0, wire: 10, data: Buffer.alloc(4), reserved: 8 });
  lying.writeUInt32LE(64, packetEvent.offsets.cap_len);
  const good = record({ ts: 2n, ifindex: 1, direction: 1, flags: 0, wire: 4, data: Buffer.alloc(4) });
  let count = 0;
  decodePacketBatch(
    batch([record({ ts: 1n, ifindex: 1, direction: 1, flags: 0, wire: 4, data: Buffer.alloc(4), type: EventType.connect }), lying, good, good], 16),
    () => count++,
    stats,
  );
  assert.equal(count, 1);
  assert.deepEqual(stats, { packets: 1, bytes: 4, malformed: 3 });
});
