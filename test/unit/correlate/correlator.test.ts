/**
 * The correlation rules of DESIGN.md, on hand-made kernel events: which
 * name each connection and flow gets, and why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { monotonicClock } from '../../../src/clock.js';
import { Correlator } from '../../../src/correlate/correlator.js';
import { NameIndex } from '../../../src/correlate/names.js';
import { ReorderBuffer } from '../../../src/correlate/reorder.js';
import type { CloseEvent, ConnectEvent, EstablishedEvent, LookupEvent, Task, Tuple } from '../../../src/kernel/decode.js';
import type { CorrelatorEvent, DnsAnswerEvent } from '../../../src/wire/events.js';
import { parseDnsResponse } from '../../../src/dns/wire.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord } from '../../../src/records/types.js';
import { sockId } from '../../helpers/fake-tracer.js';

const MS = 1e6;

function task(pid: number, comm = `proc${pid}`): Task {
  return { pid, tid: pid, uid: 1000, gid: 1000, cgroupId: 1, comm, ppid: 1, startNs: 0 };
}

function tuple(daddr: string, sport = 40000, dport = 443, saddr = '10.0.0.2'): Tuple {
  return { family: daddr.includes(':') ? 6 : 4, saddr, sport, daddr, dport };
}

const lookup = (tsMs: number, pid: number, name: string, addrs: string[], ret = 0): LookupEvent => ({
  kind: 'lookup',
  tsNs: tsMs * MS,
  cpu: 0,
  task: task(pid),
  name,
  addrs,
  truncated: false,
  ret,
  latencyNs: 2 * MS,
});
const connect = (tsMs: number, pid: number, sock: string, t: Tuple): ConnectEvent => ({
  kind: 'connect',
  tsNs: tsMs * MS,
  cpu: 0,
  task: task(pid),
  tuple: { ...t, sport: 0 },
  sock: sockId(sock),
  ret: 0,
  probe: 'tracepoint',
});
const established = (tsMs: number, pid: number, sock: string, t: Tuple, direction: 'in' | 'out' = 'out'): EstablishedEvent => ({
  kind: 'established',
  tsNs: tsMs * MS,
  cpu: 0,
  task: task(pid),
  tuple: t,
  sock: sockId(sock),
  latencyNs: 0.5 * MS,
  direction,
});
const close = (tsMs: number, pid: number, sock: string, t: Tuple, extra: Partial<CloseEvent> = {}): CloseEvent => ({
  kind: 'close',
  tsNs: tsMs * MS,
  cpu: 0,
  task: task(pid),
  tuple: t,
  sock: sockId(sock),
  durationNs: 10 * MS,
  bytesSent: 100,
  bytesReceived: 2000,
  retransmits: 0,
  direction: 'out',
  oldState: 1,
  tracked: true,
  ...extra,
});

/** A DNS answer as the wire stage hands it on: parsed from a real message. */
function wireAnswer(tsMs: number, name: string, answers: dnsPacket.Answer[], id = 7): DnsAnswerEvent {
  const message = dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }], answers });
  const parsed = parseDnsResponse(message, message.length);
  if (!parsed.ok) throw new Error(`wireAnswer: ${parsed.reason}`);
  return {
    kind: 'dnsAnswer',
    tsNs: tsMs * MS,
    cpu: 0,
    tuple: { family: 4, saddr: '10.0.0.1', sport: 53, daddr: '10.0.0.2', dport: 5353 },
    ifindex: 3,
    direction: 'in',
    seenAt: 'interface',
    task: null,
    socket: null,
    netns: null,
    transport: 'udp',
    answer: parsed.answer,
  };
}

function harness(options: { minTtlSeconds?: number; excludePid?: number } = {}) {
  const records: HostflowRecord[] = [];
  const names = new NameIndex({ minTtlSeconds: options.minTtlSeconds ?? 300 });
  const correlator = new Correlator({
    names,
    clock: monotonicClock(0),
    interfaceName: (ifindex) => `if${ifindex}`,
    containers: { lookup: (pid) => (pid === 777 ? { id: 'c'.repeat(64), runtime: 'docker' } : null) },
    excludePid: options.excludePid ?? 0,
    emit: (record) => records.push(record),
  });
  const feed = (...events: CorrelatorEvent[]) => events.forEach((event) => correlator.handle(event));
  const conns = () => records.filter((r): r is ConnRecord => r.type === 'conn');
  const dns = () => records.filter((r): r is DnsRecord => r.type === 'dns');
  return { records, correlator, names, feed, conns, dns };
}

test('a connection takes the name its own process resolved', () => {
  const h = harness();
  const t = tuple('192.0.2.1');
  h.feed(lookup(1, 100, 'api.example.test', ['192.0.2.1']), connect(2, 100, 's1', t), established(3, 100, 's1', t), close(4, 100, 's1', t));
  const [open, closed] = h.conns();
  assert.equal(open?.event, 'open');
  assert.equal(open?.host, 'api.example.test');
  assert.equal(open?.host_source, 'process');
  assert.equal(open?.connect_latency_ms, 0.5);
  assert.equal(closed?.event, 'close');
  assert.equal(closed?.host, 'api.example.test');
  assert.equal(closed?.bytes_received, 2000);
  assert.equal(closed?.connect_latency_ms, 0.5);
  assert.equal(closed?.established, true);
  assert.equal(h.dns()[0]?.source, 'getaddrinfo');
  assert.deepEqual(h.dns()[0]?.addrs, ['192.0.2.1']);
});

test('two processes resolving two names that share one address each get their own name', () => {
  const h = harness();
  const shared = '203.0.113.5';
  h.feed(lookup(1, 100, 'one.cdn.test', [shared]), lookup(2, 200, 'two.cdn.test', [shared]));
  h.feed(connect(3, 100, 'a', tuple(shared, 40001)), established(4, 100, 'a', tuple(shared, 40001)));
  h.feed(connect(5, 200, 'b', tuple(shared, 40002)), established(6, 200, 'b', tuple(shared, 40002)));
  h.feed(connect(7, 300, 'c', tuple(shared, 40003)), established(8, 300, 'c', tuple(shared, 40003)));
  assert.deepEqual(
    h.conns().map((r) => [r.pid, r.host, r.host_source]),
    [
      [100, 'one.cdn.test', 'process'],
      [200, 'two.cdn.test', 'process'],
      [300, 'two.cdn.test', 'global'],
    ],
  );
});

test("a name seen only on the wire names another process's connection, with its CNAME chain", () => {
  const h = harness();
  h.feed(
    wireAnswer(1, 'www.shop.test', [
      { type: 'CNAME', name: 'www.shop.test', ttl: 300, data: 'edge.cdn.test' },
      { type: 'A', name: 'edge.cdn.test', ttl: 20, data: '198.51.100.20' },
    ]),
  );
  const t = tuple('198.51.100.20');
  h.feed(connect(2, 555, 's', t), established(3, 555, 's', t));
  const [answer] = h.dns();
  assert.equal(answer?.source, 'wire');
  assert.equal(answer?.host, 'www.shop.test');
  assert.deepEqual(answer?.cnames, ['edge.cdn.test']);
  assert.deepEqual(answer?.addrs, ['198.51.100.20']);
  assert.equal(answer?.ttl, 20);
  assert.equal(answer?.pid, null);
  assert.equal(answer?.server, '10.0.0.1');
  assert.equal(answer?.iface, 'if3');
  assert.deepEqual([h.conns()[0]?.host, h.conns()[0]?.host_source], ['www.shop.test', 'global']);
});

test('the same wire answer seen twice (egress and ingress of lo) is one record', () => {
  const h = harness();
  const answer = wireAnswer(1, 'dup.test', [{ type: 'A', name: 'dup.test', ttl: 60, data: '192.0.2.50' }]);
  h.feed(answer, { ...answer, tsNs: answer.tsNs + 1000, direction: 'out' });
  assert.equal(h.dns().length, 1);
  assert.equal(h.correlator.stats.wireDuplicates, 1);
});

test('a name expires with its TTL: a connection made later is unnamed', () => {
  const h = harness({ minTtlSeconds: 1 });
  h.feed(wireAnswer(0, 'brief.test', [{ type: 'A', name: 'brief.test', ttl: 2, data: '192.0.2.77' }]));
  const early = tuple('192.0.2.77', 40010);
  const late = tuple('192.0.2.77', 40011);
  h.feed(connect(1500, 9, 'e', early), established(1501, 9, 'e', early));
  h.feed(connect(2500, 9, 'l', late), established(2501, 9, 'l', late));
  assert.deepEqual(
    h.conns().map((r) => r.host),
    ['brief.test', null],
  );
  assert.equal(h.conns()[1]?.host_source, null);
});

test('out-of-order arrival: a lookup delivered after the connect still names it once reordered', () => {
  const h = harness();
  const buffer = new ReorderBuffer<CorrelatorEvent>(100 * MS);
  const t = tuple('192.0.2.99');
  // The connect's ring was read first; the lookup (older) arrives later.
  buffer.push(connect(10, 42, 'x', t));
  buffer.push(established(11, 42, 'x', t));
  buffer.push(lookup(5, 42, 'late.test', ['192.0.2.99']));
  buffer.release(200 * MS, (event) => h.correlator.handle(event));
  assert.equal(h.conns()[0]?.host, 'late.test');
  assert.equal(h.conns()[0]?.host_source, 'process');
});

test("hostflow's own lookups and connections are left out", () => {
  const h = harness({ excludePid: 4242 });
  const t = tuple('192.0.2.5');
  h.feed(lookup(1, 4242, 'self.test', ['192.0.2.5']), connect(2, 4242, 's', t), established(3, 4242, 's', t), close(4, 4242, 's', t));
  assert.deepEqual(h.records, []);
  h.feed(connect(5, 1, 't', t), established(6, 1, 't', t));
  assert.equal(h.conns()[0]?.host, null, 'its lookups taught nothing either');
});

test('address literals and empty names are not name resolutions', () => {
  const h = harness();
  h.feed(lookup(1, 7, '192.0.2.1', ['192.0.2.1']), lookup(2, 7, '', []), lookup(3, 7, 'fd00::1', ['fd00::1']));
  assert.deepEqual(h.records, []);
  assert.equal(h.correlator.stats.literalLookups, 3);
});

test('a failed lookup is recorded with its EAI status and teaches nothing', () => {
  const h = harness();
  h.feed(lookup(1, 7, 'Missing.Test.', [], -2));
  assert.equal(h.dns()[0]?.status, 'EAI_NONAME');
  assert.equal(h.dns()[0]?.host, 'missing.test', 'lower case, no trailing dot');
});

test('an inbound connection is named from the global index and owned once its process closes it', () => {
  const h = harness();
  h.feed(wireAnswer(1, 'client.test', [{ type: 'A', name: 'client.test', ttl: 60, data: '10.0.0.9' }]));
  const t = { family: 4 as const, saddr: '10.0.0.2', sport: 8080, daddr: '10.0.0.9', dport: 51000 };
  h.feed(established(2, 0, 'in1', t, 'in'), close(3, 321, 'in1', t, { direction: 'in' }));
  const [open, closed] = h.conns();
  assert.deepEqual([open?.direction, open?.pid, open?.comm, open?.host], ['in', null, null, 'client.test']);
  assert.deepEqual([closed?.pid, closed?.comm, closed?.host_source], [321, 'proc321', 'global']);
});

test('a socket established again before any close: the one before ended unseen, counted, and the new one keeps nothing of it', () => {
  const h = harness();
  const out = tuple('127.0.0.1', 40100, 5001);
  h.feed(established(1, 42, 'reused', out));
  // The kernel freed the first socket without a probe run for its end; a listener's child now has its address.
  const accepted = { family: 4 as const, saddr: '127.0.0.1', sport: 5001, daddr: '127.0.0.1', dport: 40200 };
  h.feed(established(2, 0, 'reused', accepted, 'in'));
  const [, second] = h.conns();
  assert.deepEqual([second?.direction, second?.pid, second?.comm], ['in', null, null]);
  assert.equal(h.correlator.stats.closesUnseen, 1);
  // A connect before the established is the same connection, not a reuse.
  h.feed(connect(3, 7, 'fresh', tuple('127.0.0.1', 0, 5001)), established(4, 7, 'fresh', tuple('127.0.0.1', 40300, 5001)));
  assert.equal(h.correlator.stats.closesUnseen, 1);
  // With a connect probe the reuse shows at the connect: the new connection is its own process's.
  h.feed(connect(5, 8, 'fresh', tuple('127.0.0.1', 0, 5001)), established(6, 8, 'fresh', tuple('127.0.0.1', 40400, 5001)));
  assert.equal(h.correlator.stats.closesUnseen, 2);
  assert.equal(h.conns().at(-1)?.pid, 8);
});

test('a connection that never established closes with established=false and no open record', () => {
  const h = harness();
  const t = tuple('192.0.2.8', 40100, 9);
  h.feed(connect(1, 5, 'r', t), close(2, 5, 'r', { ...t, sport: 40100 }, { oldState: 2, bytesSent: 0, bytesReceived: 0 }));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.established, r.connect_latency_ms]),
    [['close', false, null]],
  );
});

test('a socket older than hostflow closes without a duration', () => {
  const h = harness();
  h.feed(close(1, 8, 'old', tuple('192.0.2.3'), { tracked: false }));
  assert.equal(h.conns()[0]?.duration_ms, null);
});

test('container ids come from the process', () => {
  const h = harness();
  h.feed(lookup(1, 777, 'in.container.test', ['192.0.2.4']));
  assert.equal(h.dns()[0]?.container_id, 'c'.repeat(64));
  assert.equal(h.dns()[0]?.container_runtime, 'docker');
});

test('flows get hostnames from the global index and the process of their TCP connection', () => {
  const h = harness();
  const t = tuple('192.0.2.1', 40000, 443);
  h.feed(lookup(1, 100, 'api.test', ['192.0.2.1']), connect(2, 100, 's', t), established(3, 100, 's', t));
  const base = {
    ifindex: 3,
    family: 4 as const,
    packets: 10,
    bytes: 1000,
    firstSeenNs: 0,
    lastSeenNs: 0,
    tcpFlags: 0x18,
    droppedPackets: 0,
    droppedBytes: 0,
    intervalStartNs: 0,
    intervalEndNs: 10 * MS,
  };
  const flows = h.correlator.flowRecords([
    { ...base, direction: 'out', proto: 6, saddr: '10.0.0.2', sport: 40000, daddr: '192.0.2.1', dport: 443 },
    { ...base, direction: 'in', proto: 6, saddr: '192.0.2.1', sport: 443, daddr: '10.0.0.2', dport: 40000 },
    { ...base, direction: 'out', proto: 17, saddr: '10.0.0.2', sport: 5353, daddr: '192.0.2.1', dport: 53 },
  ]);
  assert.deepEqual(
    flows.map((f: FlowRecord) => [f.direction, f.proto, f.src_host, f.dst_host, f.pid, f.comm]),
    [
      ['egress', 'tcp', null, 'api.test', 100, 'proc100'],
      ['ingress', 'tcp', 'api.test', null, 100, 'proc100'],
      ['egress', 'udp', null, 'api.test', null, null],
    ],
  );
});

test('a closed connection still owns its flows until forgotten', () => {
  const h = harness();
  const t = tuple('192.0.2.1', 40000, 443);
  h.feed(connect(1, 100, 's', t), established(2, 100, 's', t), close(3, 100, 's', t));
  const flow = {
    ifindex: 3,
    family: 4 as const,
    packets: 1,
    bytes: 60,
    firstSeenNs: 0,
    lastSeenNs: 0,
    tcpFlags: 0x11,
    droppedPackets: 0,
    droppedBytes: 0,
    intervalStartNs: 0,
    intervalEndNs: 0,
    direction: 'out' as const,
    proto: 6,
    saddr: '10.0.0.2',
    sport: 40000,
    daddr: '192.0.2.1',
    dport: 443,
  };
  assert.equal(h.correlator.flowRecords([flow])[0]?.pid, 100);
  h.correlator.forgetClosed(4 * MS);
  assert.equal(h.correlator.flowRecords([flow])[0]?.pid, null);
});

test("a flow takes its connection's name for the remote end, even when the address has a newer name", () => {
  const h = harness();
  const t = tuple('192.0.2.1', 40000, 443);
  h.feed(lookup(1, 100, 'api.test', ['192.0.2.1']), connect(2, 100, 's', t), established(3, 100, 's', t));
  h.feed(wireAnswer(4, 'other-name.test', [{ type: 'A', name: 'other-name.test', ttl: 60, data: '192.0.2.1' }]));
  const flow = {
    ifindex: 3,
    family: 4 as const,
    packets: 1,
    bytes: 60,
    firstSeenNs: 0,
    lastSeenNs: 0,
    tcpFlags: 0x10,
    droppedPackets: 0,
    droppedBytes: 0,
    intervalStartNs: 0,
    intervalEndNs: 0,
    direction: 'in' as const,
    proto: 6,
    saddr: '192.0.2.1',
    sport: 443,
    daddr: '10.0.0.2',
    dport: 40000,
  };
  assert.equal(h.correlator.flowRecords([flow])[0]?.src_host, 'api.test');
  assert.equal(h.correlator.flowRecords([{ ...flow, sport: 444 }])[0]?.src_host, 'other-name.test', 'without a connection, the global index');
});
