import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlows } from '../../../src/kernel/flows.js';
import { AF_INET6, flowCounters, flowKey } from '../../../src/kernel/layout.js';

test('per-CPU flow counters are summed (dropped ones too), first/last seen span the CPUs, flags are OR-ed', () => {
  const cpus = 2;
  const stride = flowCounters.size * cpus;
  const keys = Buffer.alloc(flowKey.size);
  const addr = Buffer.from('fd000213000000000000000000000001', 'hex');
  addr.copy(keys, flowKey.offsets.saddr);
  Buffer.from('fd000213000000000000000000000002', 'hex').copy(keys, flowKey.offsets.daddr);
  keys.writeUInt32LE(7, flowKey.offsets.ifindex);
  keys.writeUInt16LE(443, flowKey.offsets.sport);
  keys.writeUInt16LE(50000, flowKey.offsets.dport);
  keys.writeUInt8(1, flowKey.offsets.direction);
  keys.writeUInt8(6, flowKey.offsets.proto);
  keys.writeUInt16LE(AF_INET6, flowKey.offsets.family);
  const values = Buffer.alloc(stride);
  const cpu = (index: number, packets: number, bytes: number, first: number, last: number, flags: number, dropped = 0) => {
    const at = index * flowCounters.size;
    values.writeBigUInt64LE(BigInt(packets), at + (flowCounters.offsets.packets ?? 0));
    values.writeBigUInt64LE(BigInt(bytes), at + (flowCounters.offsets.bytes ?? 0));
    values.writeBigUInt64LE(BigInt(first), at + (flowCounters.offsets.first_seen_ns ?? 0));
    values.writeBigUInt64LE(BigInt(last), at + (flowCounters.offsets.last_seen_ns ?? 0));
    values.writeBigUInt64LE(BigInt(dropped), at + (flowCounters.offsets.dropped_packets ?? 0));
    values.writeBigUInt64LE(BigInt(dropped * 100), at + (flowCounters.offsets.dropped_bytes ?? 0));
    values.writeUInt8(flags, at + (flowCounters.offsets.tcp_flags ?? 0));
  };
  cpu(0, 3, 300, 50, 70, 0x02, 1);
  cpu(1, 2, 5_000_000_000, 40, 90, 0x10, 2);
  const [entry] = decodeFlows({ count: 1, keySize: flowKey.size, valueStride: stride, cpus, keys, values });
  assert.deepEqual(entry, {
    ifindex: 7,
    direction: 'in',
    proto: 6,
    family: 6,
    saddr: 'fd00:213::1',
    sport: 443,
    daddr: 'fd00:213::2',
    dport: 50000,
    packets: 5,
    bytes: 5_000_000_300,
    droppedPackets: 3,
    droppedBytes: 300,
    firstSeenNs: 40,
    lastSeenNs: 90,
    tcpFlags: 0x12,
  });
});

test('a flow no CPU has counted yet is left out', () => {
  const decoded = decodeFlows({
    count: 1,
    keySize: flowKey.size,
    valueStride: flowCounters.size,
    cpus: 1,
    keys: Buffer.alloc(flowKey.size),
    values: Buffer.alloc(flowCounters.size),
  });
  assert.deepEqual(decoded, []);
});
