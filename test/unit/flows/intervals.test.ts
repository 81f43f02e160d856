import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowTable, flowTableOf, type FlowEntry } from '../../../src/kernel/flows.js';
import { FlowIntervals, type FlowDelta } from '../../../src/flows/intervals.js';
import { AF_INET, flowCounters, flowKey } from '../../../src/kernel/layout.js';
import type { MapDump } from '../../../src/kernel/native-api.js';

function deltas(intervals: FlowIntervals, entries: FlowEntry[], startNs: number, endNs: number): FlowDelta[] {
  const out: FlowDelta[] = [];
  const count = intervals.next(flowTableOf(entries), startNs, endNs, (delta) => out.push(delta));
  assert.equal(count, out.length);
  return out;
}

function flow(packets: number, bytes: number, firstSeenNs = 100, lastSeenNs = 900): FlowEntry {
  return {
    ifindex: 2,
    direction: 'in',
    proto: 17,
    family: 4,
    saddr: '10.0.0.1',
    sport: 53,
    daddr: '10.0.0.2',
    dport: 4000,
    packets,
    bytes,
    firstSeenNs,
    lastSeenNs,
    tcpFlags: 0,
    droppedPackets: 0,
    droppedBytes: 0,
  };
}

test('each interval carries only what happened in it', () => {
  const intervals = new FlowIntervals();
  const [first] = deltas(intervals, [flow(10, 1000)], 0, 1000);
  assert.equal(first?.packets, 10);
  assert.equal(first?.bytes, 1000);
  assert.equal(first?.intervalStartNs, 100);
  const [second] = deltas(intervals, [flow(15, 1600, 100, 1900)], 1000, 2000);
  assert.equal(second?.packets, 5);
  assert.equal(second?.bytes, 600);
  assert.equal(second?.intervalStartNs, 1000);
  assert.equal(second?.intervalEndNs, 1900);
});

test('an idle flow produces no record', () => {
  const intervals = new FlowIntervals();
  deltas(intervals, [flow(10, 1000)], 0, 1000);
  assert.deepEqual(deltas(intervals, [flow(10, 1000)], 1000, 2000), []);
});

test('a flow evicted and re-created counts in full', () => {
  const intervals = new FlowIntervals();
  deltas(intervals, [flow(10, 1000)], 0, 1000);
  const [again] = deltas(intervals, [flow(3, 300, 1500, 1600)], 1000, 2000);
  assert.equal(again?.packets, 3);
  assert.equal(again?.bytes, 300);
});

test('a last-seen stamp from the coarse clock, behind the interval start, never ends before it starts', () => {
  const intervals = new FlowIntervals();
  deltas(intervals, [flow(10, 1000)], 0, 1000);
  // Packets early in the next interval, stamped one coarse tick before its start.
  const [delta] = deltas(intervals, [flow(12, 1200, 100, 997)], 1000, 2000);
  assert.equal(delta?.intervalStartNs, 1000);
  assert.equal(delta?.intervalEndNs, 1000);
});

/** A dump of the kernel map as the addon hands it over: one CPU, IPv4 UDP flows from 10.0.0.1:53 to 10.0.0.2 at `dport`, plus the "other" entry. */
function kernelDump(flows: Array<{ dport: number; direction: 0 | 1; packets: number }>): MapDump {
  const count = flows.length + 1;
  const keys = Buffer.alloc(count * flowKey.size);
  const values = Buffer.alloc(count * flowCounters.size);
  flows.forEach(({ dport, direction, packets }, i) => {
    const key = i * flowKey.size;
    keys.set([10, 0, 0, 1], key + (flowKey.offsets.saddr ?? 0));
    keys.set([10, 0, 0, 2], key + (flowKey.offsets.daddr ?? 0));
    keys.writeUInt32LE(2, key + (flowKey.offsets.ifindex ?? 0));
    keys.writeUInt16LE(53, key + (flowKey.offsets.sport ?? 0));
    keys.writeUInt16LE(dport, key + (flowKey.offsets.dport ?? 0));
    keys.writeUInt8(direction, key + (flowKey.offsets.direction ?? 0));
    keys.writeUInt8(17, key + (flowKey.offsets.proto ?? 0));
    keys.writeUInt16LE(AF_INET, key + (flowKey.offsets.family ?? 0));
    const value = i * flowCounters.size;
    values.writeBigUInt64LE(BigInt(packets), value + (flowCounters.offsets.packets ?? 0));
    values.writeBigUInt64LE(BigInt(packets * 100), value + (flowCounters.offsets.bytes ?? 0));
    values.writeBigUInt64LE(100n, value + (flowCounters.offsets.first_seen_ns ?? 0));
    values.writeBigUInt64LE(900n, value + (flowCounters.offsets.last_seen_ns ?? 0));
  });
  // The "other" entry: family 0, packets counted, never a flow.
  values.writeBigUInt64LE(7n, flows.length * flowCounters.size + (flowCounters.offsets.packets ?? 0));
  return { count, keySize: flowKey.size, valueStride: flowCounters.size, cpus: 1, keys, values };
}

test("the kernel's table: flows told apart by their whole key (the direction too), the other entry left out, deltas per key", () => {
  const intervals = new FlowIntervals();
  const seen: FlowDelta[] = [];
  const first = flowTable(
    kernelDump([
      { dport: 4000, direction: 1, packets: 10 },
      { dport: 4000, direction: 0, packets: 4 },
    ]),
  );
  assert.equal(first.size, 2);
  intervals.next(first, 0, 1000, (delta) => seen.push(delta));
  assert.equal(intervals.size, 2);
  // The same flows read again in another order, one of them grown, and a new one.
  intervals.next(
    flowTable(
      kernelDump([
        { dport: 4001, direction: 1, packets: 1 },
        { dport: 4000, direction: 0, packets: 4 },
        { dport: 4000, direction: 1, packets: 13 },
      ]),
    ),
    1000,
    2000,
    (delta) => seen.push(delta),
  );
  assert.deepEqual(
    seen.map((d) => [d.direction, d.dport, d.packets, d.bytes, d.saddr, d.daddr]),
    [
      ['in', 4000, 10, 1000, '10.0.0.1', '10.0.0.2'],
      ['out', 4000, 4, 400, '10.0.0.1', '10.0.0.2'],
      ['in', 4001, 1, 100, '10.0.0.1', '10.0.0.2'],
      ['in', 4000, 3, 300, '10.0.0.1', '10.0.0.2'],
    ],
  );
});
