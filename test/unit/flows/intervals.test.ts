import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowEntry } from '../../../src/kernel/flows.js';
import { FlowIntervals } from '../../../src/flows/intervals.js';

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
  const [first] = intervals.next([flow(10, 1000)], 0, 1000);
  assert.equal(first?.packets, 10);
  assert.equal(first?.bytes, 1000);
  assert.equal(first?.intervalStartNs, 100);
  const [second] = intervals.next([flow(15, 1600, 100, 1900)], 1000, 2000);
  assert.equal(second?.packets, 5);
  assert.equal(second?.bytes, 600);
  assert.equal(second?.intervalStartNs, 1000);
  assert.equal(second?.intervalEndNs, 1900);
});

test('an idle flow produces no record', () => {
  const intervals = new FlowIntervals();
  intervals.next([flow(10, 1000)], 0, 1000);
  assert.deepEqual(intervals.next([flow(10, 1000)], 1000, 2000), []);
});

test('a flow evicted and re-created counts in full', () => {
  const intervals = new FlowIntervals();
  intervals.next([flow(10, 1000)], 0, 1000);
  const [again] = intervals.next([flow(3, 300, 1500, 1600)], 1000, 2000);
  assert.equal(again?.packets, 3);
  assert.equal(again?.bytes, 300);
});

test('a last-seen stamp from the coarse clock, behind the interval start, never ends before it starts', () => {
  const intervals = new FlowIntervals();
  intervals.next([flow(10, 1000)], 0, 1000);
  // Packets early in the next interval, stamped one coarse tick before its start.
  const [delta] = intervals.next([flow(12, 1200, 100, 997)], 1000, 2000);
  assert.equal(delta?.intervalStartNs, 1000);
  assert.equal(delta?.intervalEndNs, 1000);
});
