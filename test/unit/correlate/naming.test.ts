/**
 * Late names and the reasons for blanks, on hand-made kernel events: a
 * connection opened unnamed gets one `named` record when a DNS answer (in
 * the window) or its own TLS SNI / HTTP Host names it; one that stays
 * unnamed says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { monotonicClock } from '../../../src/clock.js';
import { Correlator, type CorrelatorOptions } from '../../../src/correlate/correlator.js';
import { NameIndex } from '../../../src/correlate/names.js';
import type { FlowDelta } from '../../../src/flows/intervals.js';
import type { CloseEvent, ConnectEvent, EstablishedEvent, LookupEvent, Task, Tuple } from '../../../src/kernel/decode.js';
import type { CorrelatorEvent, DnsAnswerEvent, ServerNameEvent } from '../../../src/wire/events.js';
import { parseDnsResponse } from '../../../src/dns/wire.js';
import type { ConnRecord, HostflowRecord } from '../../../src/records/types.js';
import { sockId } from '../../helpers/fake-tracer.js';

const MS = 1e6;
const clock = monotonicClock(0);

function task(pid: number): Task {
  return { pid, tid: pid, uid: 1000, gid: 1000, cgroupId: 1, comm: `proc${pid}`, ppid: 1, startNs: 0 };
}

function tuple(daddr: string, sport = 40000, dport = 443, saddr = '10.0.0.2'): Tuple {
  return { family: daddr.includes(':') ? 6 : 4, saddr, sport, daddr, dport };
}

const lookup = (tsMs: number, pid: number, name: string, addrs: string[]): LookupEvent => ({
  kind: 'lookup',
  tsNs: tsMs * MS,
  cpu: 0,
  task: task(pid),
  name,
  addrs,
  truncated: false,
  ret: 0,
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
const serverName = (tsMs: number, t: Tuple, name: string, source: 'sni' | 'http' = 'sni'): ServerNameEvent => ({
  kind: 'serverName',
  tsNs: tsMs * MS,
  cpu: 0,
  ifindex: 3,
  direction: 'out',
  seenAt: 'interface',
  task: null,
  socket: null,
  netns: null,
  tuple: t,
  name,
  source,
});

/** A DNS answer as the wire stage hands it on: parsed from a real message. */
function wireAnswer(tsMs: number, name: string, addr: string, ttl = 60): DnsAnswerEvent {
  const message = dnsPacket.encode({
    type: 'response',
    id: 9,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl, data: addr }],
  });
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

function harness(options: Partial<CorrelatorOptions> & { minTtlSeconds?: number } = {}) {
  const records: HostflowRecord[] = [];
  const names = new NameIndex({ minTtlSeconds: options.minTtlSeconds ?? 300 });
  const correlator = new Correlator({
    names,
    clock,
    interfaceName: (ifindex) => `if${ifindex}`,
    containers: { lookup: () => null },
    excludePid: 0,
    emit: (record) => records.push(record),
    ...options,
  });
  const feed = (...events: CorrelatorEvent[]) => events.forEach((event) => correlator.handle(event));
  const conns = () => records.filter((r): r is ConnRecord => r.type === 'conn');
  /** One connection opened (connect + established) by `pid` at `tsMs`. */
  const open = (tsMs: number, pid: number, sock: string, t: Tuple) => feed(connect(tsMs, pid, sock, t), established(tsMs + 1, pid, sock, t));
  return { records, correlator, feed, conns, open };
}

const flowOf = (t: Tuple, direction: 'in' | 'out', endMs: number): FlowDelta => {
  const egress = direction === 'out';
  return {
    ifindex: 3,
    family: 4,
    proto: 6,
    direction,
    packets: 2,
    bytes: 120,
    firstSeenNs: 0,
    lastSeenNs: 0,
    tcpFlags: 0x18,
    droppedPackets: 0,
    droppedBytes: 0,
    intervalStartNs: 0,
    intervalEndNs: endMs * MS,
    saddr: egress ? t.saddr : t.daddr,
    sport: egress ? t.sport : t.dport,
    daddr: egress ? t.daddr : t.saddr,
    dport: egress ? t.dport : t.sport,
  };
};

// ---- reasons ----

test('a connection by address with no lookup at all: no_lookup_seen, on open and close', () => {
  const h = harness();
  const t = tuple('192.0.2.10');
  h.open(1, 10, 's', t);
  h.feed(close(5, 10, 's', t));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host, r.host_source, r.unresolved]),
    [
      ['open', null, null, 'no_lookup_seen'],
      ['close', null, null, 'no_lookup_seen'],
    ],
  );
});

test('an accepted connection whose client has no name: inbound', () => {
  const h = harness();
  const t = { family: 4 as const, saddr: '10.0.0.2', sport: 8080, daddr: '10.0.0.9', dport: 51000 };
  h.feed(established(1, 0, 'in1', t, 'in'), close(3, 321, 'in1', t, { direction: 'in' }));
  assert.deepEqual(
    h.conns().map((r) => r.unresolved),
    ['inbound', 'inbound'],
  );
});

test('a name that expired before the connection: cache_expired', () => {
  const h = harness({ minTtlSeconds: 1 });
  h.feed(wireAnswer(0, 'brief.test', '192.0.2.77', 1));
  h.open(2500, 9, 'l', tuple('192.0.2.77'));
  assert.deepEqual([h.conns()[0]?.host, h.conns()[0]?.unresolved], [null, 'cache_expired']);
});

test('getaddrinfo called with the address itself: address_literal, for that process only', () => {
  const h = harness();
  h.feed(lookup(1, 20, '192.0.2.30', ['192.0.2.30']));
  h.open(2, 20, 'a', tuple('192.0.2.30', 40001));
  h.open(4, 21, 'b', tuple('192.0.2.30', 40002));
  assert.deepEqual(
    h.conns().map((r) => [r.pid, r.unresolved]),
    [
      [20, 'address_literal'],
      [21, 'no_lookup_seen'],
    ],
  );
  assert.equal(h.correlator.stats.literalLookups, 1);
});

test('an IPv6 literal in other spelling still matches the connection', () => {
  const h = harness();
  h.feed(lookup(1, 20, 'FD00:0:0::7', ['fd00::7']));
  h.open(2, 20, 'a', tuple('fd00::7'));
  assert.equal(h.conns()[0]?.unresolved, 'address_literal');
});

test('a process (or the host) using DNS over TLS: its blanks are encrypted_dns, the DoT connection included', () => {
  const h = harness();
  h.open(1, 30, 'dot', tuple('10.0.0.1', 40100, 853));
  h.open(10, 30, 'a', tuple('192.0.2.40', 40101));
  h.open(20, 31, 'b', tuple('192.0.2.41', 40102));
  // Host-wide memory fades after 15 minutes; the process's own does not.
  h.open(16 * 60_000, 31, 'c', tuple('192.0.2.42', 40103));
  h.open(16 * 60_000 + 10, 30, 'd', tuple('192.0.2.43', 40104));
  assert.deepEqual(
    h.conns().map((r) => [r.pid, r.dport, r.unresolved]),
    [
      [30, 853, 'encrypted_dns'],
      [30, 443, 'encrypted_dns'],
      [31, 443, 'encrypted_dns'],
      [31, 443, 'no_lookup_seen'],
      [30, 443, 'encrypted_dns'],
    ],
  );
});

test('a connection named by SNI to a well-known DoH service marks its process as using encrypted DNS', () => {
  const h = harness();
  const doh = tuple('192.0.2.50', 40200);
  h.open(1, 40, 'doh', doh);
  h.feed(serverName(3, doh, 'dns.google'));
  h.open(17 * 60_000, 40, 'x', tuple('192.0.2.51', 40201));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host, r.unresolved]),
    [
      ['open', null, 'no_lookup_seen'],
      ['named', 'dns.google', null],
      ['open', null, 'encrypted_dns'],
    ],
  );
});

test('a socket older than the trace: socket_before_start, even when its process is older too', () => {
  const h = harness({ startedBeforeTrace: (pid) => pid === 50 });
  h.feed(close(1, 52, 'old', tuple('192.0.2.62', 40302), { tracked: false }));
  h.feed(close(2, 50, 'older', tuple('192.0.2.63', 40303), { tracked: false }));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.pid, r.unresolved]),
    [
      ['close', 52, 'socket_before_start'],
      ['close', 50, 'socket_before_start'],
    ],
  );
});

test('a process older than the trace: process_before_start; a younger one: no_lookup_seen', () => {
  const h = harness({ startedBeforeTrace: (pid) => pid === 50 });
  h.open(1, 50, 'a', tuple('192.0.2.60', 40300));
  h.open(2, 51, 'b', tuple('192.0.2.61', 40301));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.pid, r.unresolved]),
    [
      ['open', 50, 'process_before_start'],
      ['open', 51, 'no_lookup_seen'],
    ],
  );
});

test('the reasons are tried in order: expired beats literal beats encrypted DNS beats an old process', () => {
  const h = harness({ minTtlSeconds: 1, startedBeforeTrace: () => true });
  h.open(0, 60, 'dot', tuple('10.0.0.1', 40400, 853));
  h.feed(wireAnswer(1, 'gone.test', '192.0.2.70', 1), lookup(2, 60, '192.0.2.70', ['192.0.2.70']), lookup(3, 60, '192.0.2.71', ['192.0.2.71']));
  h.open(3000, 60, 'a', tuple('192.0.2.70', 40401));
  h.open(3010, 60, 'b', tuple('192.0.2.71', 40402));
  h.open(3020, 60, 'c', tuple('192.0.2.72', 40403));
  assert.deepEqual(
    h
      .conns()
      .slice(1)
      .map((r) => r.unresolved),
    ['cache_expired', 'address_literal', 'encrypted_dns'],
  );
});

test('a named connection carries no reason', () => {
  const h = harness();
  h.feed(lookup(1, 70, 'api.test', ['192.0.2.80']));
  h.open(2, 70, 's', tuple('192.0.2.80'));
  assert.deepEqual([h.conns()[0]?.host, h.conns()[0]?.unresolved], ['api.test', null]);
});

// ---- late join ----

test('a lookup after the connection opened names it: one named record, then the close carries the name', () => {
  const h = harness();
  const t = tuple('192.0.2.90', 40500, 8080);
  h.open(1000, 80, 's', t);
  h.feed(lookup(3000, 80, 'late.test', ['192.0.2.90']));
  h.feed(close(4000, 80, 's', t));
  const [open, named, closed] = h.conns();
  assert.ok(open && named && closed);
  assert.deepEqual(
    open,
    {
      type: 'conn',
      event: 'open',
      ts: clock.iso(1001 * MS),
      pid: 80,
      ppid: 1,
      comm: 'proc80',
      exe: null,
      cmdline: null,
      uid: 1000,
      container_id: null,
      container_runtime: null,
      family: 4,
      saddr: '10.0.0.2',
      sport: 40500,
      daddr: '192.0.2.90',
      dport: 8080,
      direction: 'out',
      host: null,
      host_source: null,
      unresolved: 'no_lookup_seen',
      probe: 'tracepoint',
      connect_latency_ms: 0.5,
      duration_ms: null,
      bytes_sent: null,
      bytes_received: null,
      retransmits: null,
      established: null,
    },
    'the open record is not rewritten',
  );
  assert.deepEqual(named, { ...open, event: 'named', ts: clock.iso(3000 * MS), host: 'late.test', host_source: 'process', unresolved: null });
  assert.deepEqual([closed.event, closed.host, closed.host_source, closed.unresolved], ['close', 'late.test', 'process', null]);
  assert.deepEqual(
    h.records.map((r) => (r.type === 'conn' ? r.event : r.type)),
    ['open', 'dns', 'named', 'close'],
  );
  assert.equal(h.correlator.stats.lateNamed, 1);
});

test('the next flow interval of a late-named connection carries its name', () => {
  const h = harness();
  const t = tuple('192.0.2.91', 40501);
  h.open(1000, 81, 's', t);
  const before = h.correlator.flowRecords([flowOf(t, 'out', 2000), flowOf(t, 'in', 2000)]);
  assert.deepEqual(
    before.map((f) => [f.direction, f.src_host, f.dst_host, f.unresolved]),
    [
      ['egress', null, null, 'no_lookup_seen'],
      ['ingress', null, null, 'no_lookup_seen'],
    ],
  );
  h.feed(wireAnswer(2500, 'flows.test', '192.0.2.91'));
  const after = h.correlator.flowRecords([flowOf(t, 'out', 3000), flowOf(t, 'in', 3000)]);
  assert.deepEqual(
    after.map((f) => [f.direction, f.src_host, f.dst_host, f.unresolved, f.pid]),
    [
      ['egress', null, 'flows.test', null, 81],
      ['ingress', 'flows.test', null, null, 81],
    ],
  );
});

test("a wire answer names another process's waiting connection from the global index", () => {
  const h = harness();
  h.open(1, 82, 's', tuple('192.0.2.92'));
  h.feed(wireAnswer(50, 'wire-late.test', '192.0.2.92'));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host, r.host_source]),
    [
      ['open', null, null],
      ['named', 'wire-late.test', 'global'],
    ],
  );
});

test('an answer after the window gives no named record (the close still takes the name the index holds then)', () => {
  const h = harness({ lateNameWindowMs: 2000 });
  const t = tuple('192.0.2.93');
  const u = tuple('192.0.2.93', 40099);
  h.open(1000, 83, 's', t);
  h.open(1000, 83, 'u', u);
  h.feed(close(3000, 83, 'u', u), lookup(3500, 83, 'too-late.test', ['192.0.2.93']), close(4000, 83, 's', t));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.sport, r.host, r.unresolved]),
    [
      ['open', 40000, null, 'no_lookup_seen'],
      ['open', 40099, null, 'no_lookup_seen'],
      ['close', 40099, null, 'no_lookup_seen'],
      ['close', 40000, 'too-late.test', null],
    ],
  );
  assert.equal(h.correlator.stats.lateNamed, 0);
});

test('a connection is named once: a second answer adds nothing', () => {
  const h = harness();
  h.open(1, 84, 's', tuple('192.0.2.94'));
  h.feed(lookup(10, 84, 'first.test', ['192.0.2.94']), wireAnswer(20, 'second.test', '192.0.2.94'), serverName(30, tuple('192.0.2.94'), 'third.test'));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host]),
    [
      ['open', null],
      ['named', 'first.test'],
    ],
  );
  assert.equal(h.correlator.stats.serverNamesIgnored, 1);
});

test('a connection that closed before its answer gets no named record', () => {
  const h = harness();
  const t = tuple('192.0.2.95');
  h.open(1, 85, 's', t);
  h.feed(close(5, 85, 's', t), lookup(10, 85, 'after-close.test', ['192.0.2.95']));
  assert.deepEqual(
    h.conns().map((r) => r.event),
    ['open', 'close'],
  );
});

test('waiting connections are bounded: the oldest is pushed out, counted, and not named later', () => {
  const h = harness({ unnamedEntries: 2 });
  h.open(1, 86, 'a', tuple('192.0.2.96', 40601));
  h.open(3, 86, 'b', tuple('192.0.2.97', 40602));
  h.open(5, 86, 'c', tuple('192.0.2.98', 40603));
  assert.equal(h.correlator.stats.unnamedEvicted, 1);
  h.feed(lookup(10, 86, 'a.test', ['192.0.2.96']), lookup(11, 86, 'c.test', ['192.0.2.98']));
  assert.deepEqual(
    h
      .conns()
      .filter((r) => r.event === 'named')
      .map((r) => r.host),
    ['c.test'],
  );
});

// ---- SNI and HTTP Host ----

test('the SNI of the ClientHello names a connection opened by address', () => {
  const h = harness();
  const t = tuple('192.0.2.100', 40700);
  h.open(1, 90, 's', t);
  h.feed(serverName(3, t, 'Secure.Example.TEST.'));
  h.feed(close(9, 90, 's', t));
  const [open, named, closed] = h.conns();
  assert.ok(open && named && closed);
  assert.deepEqual(named, { ...open, event: 'named', ts: clock.iso(3 * MS), host: 'secure.example.test', host_source: 'sni', unresolved: null });
  assert.deepEqual([closed.host, closed.host_source, closed.unresolved], ['secure.example.test', 'sni', null]);
  assert.deepEqual(h.correlator.stats.serverNamesUsed, { sni: 1, http: 0 });
  const [flow] = h.correlator.flowRecords([flowOf(t, 'out', 8)]);
  assert.deepEqual([flow?.dst_host, flow?.unresolved], ['secure.example.test', null]);
});

test('an HTTP Host header names the connection, without its port', () => {
  const h = harness();
  const t = tuple('192.0.2.101', 40701, 8080);
  h.open(1, 91, 's', t);
  h.feed(serverName(3, t, 'plain.test:8080', 'http'));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host, r.host_source]),
    [
      ['open', null, null],
      ['named', 'plain.test', 'http'],
    ],
  );
  assert.deepEqual(h.correlator.stats.serverNamesUsed, { sni: 0, http: 1 });
});

test('a connection named by DNS keeps its DNS name when its SNI says another', () => {
  const h = harness();
  const t = tuple('192.0.2.102', 40702);
  h.feed(lookup(1, 92, 'dns-name.test', ['192.0.2.102']));
  h.open(2, 92, 's', t);
  h.feed(serverName(4, t, 'sni-name.test'), close(6, 92, 's', t));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.host, r.host_source]),
    [
      ['open', 'dns-name.test', 'process'],
      ['close', 'dns-name.test', 'process'],
    ],
  );
  assert.equal(h.correlator.stats.serverNamesIgnored, 1);
});

test('a server name that is an address literal or not a host name is counted and unused', () => {
  const h = harness();
  const t = tuple('192.0.2.103', 40703);
  h.open(1, 93, 's', t);
  h.feed(serverName(2, t, '192.0.2.103'), serverName(3, t, '[fd00::1]:80', 'http'), serverName(4, t, 'bad name\u0000.test'));
  assert.deepEqual(
    h.conns().map((r) => r.event),
    ['open'],
  );
  assert.equal(h.correlator.stats.serverNamesInvalid, 3);
});

test('on loopback the server side of the connection is not named by the ClientHello it received', () => {
  const h = harness();
  const client = { family: 4 as const, saddr: '127.0.0.1', sport: 40800, daddr: '127.0.0.1', dport: 8443 };
  const server = { family: 4 as const, saddr: '127.0.0.1', sport: 8443, daddr: '127.0.0.1', dport: 40800 };
  h.open(1, 94, 'c', client);
  h.feed(established(2, 95, 'srv', server, 'in'));
  h.feed({ ...serverName(3, client, 'loop.test'), direction: 'in' }, serverName(3, client, 'loop.test'));
  assert.deepEqual(
    h.conns().map((r) => [r.event, r.direction, r.host, r.unresolved]),
    [
      ['open', 'out', null, 'no_lookup_seen'],
      ['open', 'in', null, 'inbound'],
      ['named', 'out', 'loop.test', null],
    ],
  );
  assert.deepEqual([h.correlator.stats.serverNamesUsed.sni, h.correlator.stats.serverNamesIgnored], [1, 1]);
});

test("a flow without a known connection: the remote end's reason from its address alone", () => {
  const h = harness({ minTtlSeconds: 1 });
  h.feed(wireAnswer(0, 'old.test', '192.0.2.110', 1));
  const udp = { ...flowOf(tuple('192.0.2.110', 5353, 53), 'out', 5000), proto: 17 };
  const inbound = { ...flowOf(tuple('192.0.2.111', 5353, 53), 'in', 5000), proto: 17 };
  // The indexes' clock moves with events; one comes after the name expired.
  h.feed(lookup(4000, 1, 'unrelated.test', ['192.0.2.112']));
  assert.deepEqual(
    h.correlator.flowRecords([udp, inbound]).map((f) => [f.direction, f.saddr, f.unresolved]),
    [
      ['egress', '10.0.0.2', 'cache_expired'],
      ['ingress', '192.0.2.111', 'no_lookup_seen'],
    ],
  );
});
