/**
 * The flow counters on the real kernel, through `flow_cache`: flow_xdp and
 * flow_tc run on hand-built frames (BPF_PROG_TEST_RUN), flows that share a
 * slot take it from each other many times over, and the table user space
 * reads (the cache, then `flows`) still holds every packet and byte, the
 * flags and the times, on whatever CPUs the runs landed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { flowEntries, flowSlotIndex, flowTable, type FlowEntry } from '../../src/kernel/flows.js';
import { AF_INET, FLOW_CACHE_SLOTS, flowKey } from '../../src/kernel/layout.js';
import { loadNative } from '../../src/kernel/native.js';
import type { BpfObject } from '../../src/kernel/native-api.js';
import { frame } from '../helpers/frames.js';
import { privilegedSuite } from '../helpers/privileged.js';

const SADDR = '10.20.0.1';
const DADDR = '10.20.0.2';
const PAYLOAD = 32;
/** IPv4 20 + TCP 20 + payload: what one frame counts in bytes. */
const L3_BYTES = 20 + 20 + PAYLOAD;
/** The longest kernel tick (HZ=100): the coarse clock's step. */
const TICK_MS = 10;

function loadFlowPrograms(): BpfObject {
  const object = new (loadNative().BpfObject)();
  for (const program of object.programs()) object.setAutoload(program, program === 'flow_xdp' || program === 'flow_tc');
  object.setConst('capture_dns', Buffer.from([0]));
  object.setConst('capture_names', Buffer.from([0]));
  object.setMaxEntries('flows', 4096);
  object.load();
  return object;
}

function readFlows(object: BpfObject): FlowEntry[] {
  const cache = object.dumpMap('flow_cache');
  return flowEntries(flowTable(object.dumpMap('flows'), cache));
}

/** The kernel's key of a TCP frame of this test (ifindex: where test runs say the frame arrived). */
function tcpKey(ifindex: number, direction: number, sport: number): DataView {
  const key = Buffer.alloc(flowKey.size);
  Buffer.from(SADDR.split('.').map(Number)).copy(key, flowKey.offsets.saddr);
  Buffer.from(DADDR.split('.').map(Number)).copy(key, flowKey.offsets.daddr);
  key.writeUInt32LE(ifindex, flowKey.offsets.ifindex);
  key.writeUInt16LE(sport, flowKey.offsets.sport);
  key.writeUInt16LE(443, flowKey.offsets.dport);
  key.writeUInt8(direction, flowKey.offsets.direction);
  key.writeUInt8(6, flowKey.offsets.proto);
  key.writeUInt16LE(AF_INET, flowKey.offsets.family);
  return new DataView(key.buffer, key.byteOffset, key.byteLength);
}

/** Source ports of `count` flows that all share one slot of the cache. */
function portsSharingASlot(ifindex: number, direction: number, count: number): number[] {
  const slotOf = (port: number) => flowSlotIndex(tcpKey(ifindex, direction, port), 0, FLOW_CACHE_SLOTS);
  const target = slotOf(20000);
  const ports = [20000];
  for (let port = 20001; ports.length < count && port < 65536; port++) if (slotOf(port) === target) ports.push(port);
  assert.equal(ports.length, count, 'enough ports share a slot');
  return ports;
}

describe('flow counters through flow_cache', privilegedSuite({ features: ['btf'] }), () => {
  for (const [program, direction] of [
    ['flow_xdp', 1],
    ['flow_tc', 0],
  ] as const) {
    test(`${program}: flows taking one slot from each other lose no packet, byte, flag or time`, async () => {
      const object = loadFlowPrograms();
      try {
        const tcp = (sport: number, tcpFlags = 0x10) => frame({ saddr: SADDR, daddr: DADDR, proto: 6, sport, dport: 443, payload: PAYLOAD, tcpFlags });
        const before = process.hrtime.bigint();
        object.testRun(program, tcp(20000, 0x02), 1);
        const [probe] = readFlows(object);
        assert.ok(probe, 'the first frame is a flow');
        const ports = portsSharingASlot(probe.ifindex, direction, 3);
        // Round-robin over three flows of one slot, in runs of several
        // packets (repeat) and of one. Within a tick the slot's flow keeps
        // it and the others are counted in `flows`; after a pause of more
        // than a tick the next flow takes it over, and the one before is
        // written back. A fourth flow has a slot of its own.
        const expected = new Map<number, number>([[20000, 1]]);
        const count = (port: number, packets: number) => expected.set(port, (expected.get(port) ?? 0) + packets);
        for (let round = 0; round < 20; round++) {
          if (round % 2 === 1) await setTimeout(TICK_MS * 2.5);
          ports.forEach((port, index) => {
            const repeat = 1 + ((round + index) % 4);
            object.testRun(program, tcp(port, round === 19 ? 0x01 : 0x10), repeat);
            count(port, repeat);
          });
          object.testRun(program, tcp(30001), 2);
          count(30001, 2);
          // Reads in between see the counts so far, never more.
          if (round % 7 === 3) {
            for (const flow of readFlows(object)) assert.ok(flow.packets <= (expected.get(flow.sport) ?? 0));
          }
        }
        const after = process.hrtime.bigint();
        // Three flows of one slot: at least two were written back to `flows`.
        const writtenBack = flowEntries(flowTable(object.dumpMap('flows'))).filter((flow) => ports.includes(flow.sport));
        assert.ok(writtenBack.length >= 2, 'flows sharing a slot were written back');
        const flows = readFlows(object);
        assert.deepEqual(Object.fromEntries(flows.map((flow) => [flow.sport, flow.packets])), Object.fromEntries(expected));
        for (const flow of flows) {
          assert.equal(flow.bytes, flow.packets * L3_BYTES, `bytes of ${flow.sport}`);
          assert.equal(flow.direction, direction === 1 ? 'in' : 'out');
          assert.equal(flow.droppedPackets, 0);
          // A tick either side of the runs.
          const tick = TICK_MS * 1e6;
          assert.ok(flow.firstSeenNs >= Number(before) - 2 * tick && flow.firstSeenNs <= flow.lastSeenNs, `first seen of ${flow.sport}`);
          assert.ok(flow.lastSeenNs <= Number(after) + tick, `last seen of ${flow.sport}`);
        }
        const first = flows.find((flow) => flow.sport === 20000);
        assert.equal(first?.tcpFlags, 0x02 | 0x10 | 0x01, 'SYN, ACK and FIN, each seen in a different stint in the slot');
      } finally {
        object.close();
      }
    });
  }
});
