import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeFlows, flowSlotIndex, flowTable } from '../../../src/kernel/flows.js';
import { AF_INET, AF_INET6, FLOW_CACHE_SLOTS, flowCounters, flowKey, flowSlot } from '../../../src/kernel/layout.js';
import type { MapDump } from '../../../src/kernel/native-api.js';
import { packageRoot } from '../../../src/package-root.js';

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

/** An IPv4 TCP flow key: 10.0.0.1:sport -> 10.0.0.2:dport on ifindex 3, ingress. */
function ipv4Key(sport: number, dport = 443): Buffer {
  const key = Buffer.alloc(flowKey.size);
  Buffer.from([10, 0, 0, 1]).copy(key, flowKey.offsets.saddr);
  Buffer.from([10, 0, 0, 2]).copy(key, flowKey.offsets.daddr);
  key.writeUInt32LE(3, flowKey.offsets.ifindex);
  key.writeUInt16LE(sport, flowKey.offsets.sport);
  key.writeUInt16LE(dport, flowKey.offsets.dport);
  key.writeUInt8(1, flowKey.offsets.direction);
  key.writeUInt8(6, flowKey.offsets.proto);
  key.writeUInt16LE(AF_INET, flowKey.offsets.family);
  return key;
}

/** Writes struct hf_flow_counters at `at`: packets, bytes = 100 per packet, first/last seen. */
function writeCounters(buffer: Buffer, at: number, packets: number, first = 10, last = 20): void {
  buffer.writeBigUInt64LE(BigInt(packets), at + (flowCounters.offsets.packets ?? 0));
  buffer.writeBigUInt64LE(BigInt(packets * 100), at + (flowCounters.offsets.bytes ?? 0));
  buffer.writeBigUInt64LE(BigInt(first), at + (flowCounters.offsets.first_seen_ns ?? 0));
  buffer.writeBigUInt64LE(BigInt(last), at + (flowCounters.offsets.last_seen_ns ?? 0));
}

const CPUS = 2;
const SLOTS = 8;

function flowsDump(entries: Array<{ key: Buffer; packets: number[] }>): MapDump {
  const stride = flowCounters.size * CPUS;
  const values = Buffer.alloc(stride * entries.length);
  entries.forEach(({ packets }, i) => packets.forEach((count, cpu) => writeCounters(values, i * stride + cpu * flowCounters.size, count)));
  return { count: entries.length, keySize: flowKey.size, valueStride: stride, cpus: CPUS, keys: Buffer.concat(entries.map(({ key }) => key)), values };
}

/** A `flow_cache` dump of SLOTS slots per CPU; each flow goes where flowSlotIndex puts it. */
function cacheDump(slots: Array<{ key: Buffer; cpu: number; packets: number; last?: number }>): MapDump {
  const stride = flowSlot.size * CPUS;
  const values = Buffer.alloc(stride * SLOTS);
  const keys = Buffer.alloc(4 * SLOTS);
  for (let i = 0; i < SLOTS; i++) keys.writeUInt32LE(i, i * 4);
  for (const { key, cpu, packets, last } of slots) {
    const at = flowSlotIndex(new DataView(key.buffer, key.byteOffset), 0, SLOTS) * stride + cpu * flowSlot.size;
    key.copy(values, at + (flowSlot.offsets.key ?? 0));
    writeCounters(values, at + (flowSlot.offsets.counters ?? 0), packets, 10, last);
  }
  return { count: SLOTS, keySize: 4, valueStride: stride, cpus: CPUS, keys, values };
}

/** Two ports whose keys share a slot of SLOTS (and one that has a slot of its own). */
function sharingPorts(): [number, number, number] {
  const slotOf = (port: number) => flowSlotIndex(new DataView(ipv4Key(port).buffer), 0, SLOTS);
  const first = 40000;
  let second = first + 1;
  while (slotOf(second) !== slotOf(first)) second++;
  let alone = first + 1;
  while (slotOf(alone) === slotOf(first)) alone++;
  return [first, second, alone];
}

test("a flow's slot replaces its CPU's value in `flows` when it counted more, and the other CPUs still add up", () => {
  const [port] = sharingPorts();
  const flows = decodeFlows(flowsDump([{ key: ipv4Key(port), packets: [3, 2] }]), cacheDump([{ key: ipv4Key(port), cpu: 0, packets: 5, last: 30 }]));
  assert.equal(flows.length, 1);
  assert.equal(flows[0]?.packets, 7);
  assert.equal(flows[0]?.bytes, 700);
  assert.equal(flows[0]?.lastSeenNs, 30);
});

test('a slot behind `flows` (written back since the cache was read) is not counted twice', () => {
  const [port] = sharingPorts();
  const flows = decodeFlows(flowsDump([{ key: ipv4Key(port), packets: [9, 0] }]), cacheDump([{ key: ipv4Key(port), cpu: 0, packets: 4 }]));
  assert.deepEqual(
    flows.map((flow) => flow.packets),
    [9],
  );
});

test('flows only the cache holds are flows too, one per key however many CPUs hold it', () => {
  const [first, second, alone] = sharingPorts();
  const flows = decodeFlows(
    flowsDump([{ key: ipv4Key(alone), packets: [1, 1] }]),
    cacheDump([
      { key: ipv4Key(first), cpu: 0, packets: 2 },
      { key: ipv4Key(first), cpu: 1, packets: 3 },
    ]),
  );
  const bySport = Object.fromEntries(flows.map((flow) => [flow.sport, flow.packets]));
  assert.deepEqual(bySport, { [alone]: 2, [first]: 5 });
  // The same slot holding two different flows on the two CPUs: two flows.
  const split = decodeFlows(
    flowsDump([]),
    cacheDump([
      { key: ipv4Key(first), cpu: 0, packets: 2 },
      { key: ipv4Key(second), cpu: 1, packets: 3 },
    ]),
  );
  assert.deepEqual(Object.fromEntries(split.map((flow) => [flow.sport, flow.packets])), { [first]: 2, [second]: 3 });
  assert.equal(
    flowTable(flowsDump([]), cacheDump([{ key: ipv4Key(second), cpu: 1, packets: 3 }])).key(0),
    flowTable(flowsDump([{ key: ipv4Key(second), packets: [1, 0] }])).key(0),
  );
});

test('the cache\'s slot of another flow, and its slot of the "other" bucket, add nothing to a flow', () => {
  const [first, second] = sharingPorts();
  const other = Buffer.alloc(flowKey.size);
  other.writeUInt32LE(3, flowKey.offsets.ifindex);
  const flows = decodeFlows(
    flowsDump([{ key: ipv4Key(first), packets: [4, 0] }]),
    cacheDump([
      { key: ipv4Key(second), cpu: 0, packets: 6 },
      { key: other, cpu: 1, packets: 8 },
    ]),
  );
  assert.deepEqual(Object.fromEntries(flows.map((flow) => [flow.sport, flow.packets])), { [first]: 4, [second]: 6 });
});

test('flowSlotIndex is hf_flow_slot_index() of bpf/hostflow.h', () => {
  const keys = [ipv4Key(40000), ipv4Key(53, 33333), ipv4Key(65535, 1), Buffer.alloc(flowKey.size, 0xa5)];
  const v6 = Buffer.alloc(flowKey.size);
  Buffer.from('fd000213000000000000000000000001fd000213000000000000000000000002', 'hex').copy(v6, 0);
  v6.writeUInt32LE(7, flowKey.offsets.ifindex);
  v6.writeUInt16LE(AF_INET6, flowKey.offsets.family);
  keys.push(v6);
  const source = [
    '#include <stdio.h>',
    '#include <linux/types.h>',
    `#include "${resolve(packageRoot(), 'bpf/hostflow.h')}"`,
    'static const unsigned char keys[][sizeof(struct hf_flow_key)] = {',
    ...keys.map((key) => `  { ${[...key].join(', ')} },`),
    '};',
    'int main(void) {',
    '  for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)',
    '    printf("%u\\n", hf_flow_slot_index((const struct hf_flow_key *)keys[i], HF_FLOW_CACHE_SLOTS));',
    '  return 0;',
    '}',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-slot-'));
  try {
    writeFileSync(join(dir, 'slot.c'), source);
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'slot'), join(dir, 'slot.c')], { stdio: 'pipe' });
    const fromC = execFileSync(join(dir, 'slot'), { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.deepEqual(
      keys.map((key) => flowSlotIndex(new DataView(key.buffer, key.byteOffset), 0, FLOW_CACHE_SLOTS)),
      fromC,
    );
    assert.equal(new Set(fromC).size, fromC.length, 'these keys spread over different slots');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
