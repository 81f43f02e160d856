/**
 * What the socket hooks add to correlation, on hand-made events: DNS seen
 * at a process's own socket names that process's connections (a static Go
 * binary's lookup beats another process's lookup of the same address),
 * queries without an answer become TIMEOUT lookups, UDP conversations
 * become records with their process, name and counts, and their flows get
 * the process; a QUIC Initial's SNI names a conversation DNS left unnamed;
 * Encrypted Client Hello leaves a connection unnamed and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { monotonicClock } from '../../../src/clock.js';
import { Correlator } from '../../../src/correlate/correlator.js';
import { NameIndex } from '../../../src/correlate/names.js';
import { parseDnsQuery } from '../../../src/dns/query.js';
import { parseDnsResponse } from '../../../src/dns/wire.js';
import type { Task, Tuple } from '../../../src/kernel/decode.js';
import type { UdpConversationEntry } from '../../../src/kernel/udp-convs.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, UdpRecord } from '../../../src/records/types.js';
import type { FlowDelta } from '../../../src/flows/intervals.js';
import type { CorrelatorEvent, DnsAnswerEvent, DnsQueryEvent } from '../../../src/wire/events.js';

const MS = 1e6;
const SERVER = '10.0.0.1';
const LOCAL = '10.0.0.2';

const task = (pid: number, comm: string): Task => ({ pid, tid: pid + 1, uid: 1000, gid: 1000, cgroupId: 1, comm, ppid: 1, startNs: 5e9 });
const GO = task(100, 'goclient');
const PY = task(200, 'python3');

function atSocket(owner: Task, socket: string, direction: 'in' | 'out', sport: number, dport: number) {
  const tuple: Tuple =
    direction === 'out' ? { family: 4, saddr: LOCAL, sport, daddr: SERVER, dport } : { family: 4, saddr: SERVER, sport, daddr: LOCAL, dport };
  return { cpu: 0, tuple, ifindex: 2, direction, seenAt: 'socket' as const, task: owner, socket, netns: '1' };
}

function query(tsMs: number, owner: Task, socket: string, name: string, id = 7): DnsQueryEvent {
  const parsed = parseDnsQuery(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return { kind: 'dnsQuery', tsNs: tsMs * MS, ...atSocket(owner, socket, 'out', 40000, 53), transport: 'udp', query: parsed.query };
}

function answer(
  tsMs: number,
  owner: Task | null,
  socket: string | null,
  name: string,
  addrs: string[],
  id = 7,
  rcode: 'NOERROR' | 'NXDOMAIN' = 'NOERROR',
): DnsAnswerEvent {
  const message = dnsPacket.encode({
    type: 'response',
    id,
    flags: rcode === 'NXDOMAIN' ? 3 : 0,
    questions: [{ type: 'A', name }],
    answers: addrs.map((data) => ({ type: 'A' as const, name, ttl: 60, data })),
  });
  const parsed = parseDnsResponse(message, message.length);
  if (!parsed.ok) throw new Error(parsed.reason);
  const seen =
    owner && socket
      ? atSocket(owner, socket, 'in', 53, 40000)
      : { ...atSocket(PY, 'x', 'in', 53, 40000), seenAt: 'interface' as const, task: null, socket: null, netns: null };
  return { kind: 'dnsAnswer', tsNs: tsMs * MS, ...seen, transport: 'udp', answer: parsed.answer };
}

function conversation(owner: Task, socket: string, counts: Partial<UdpConversationEntry> = {}): UdpConversationEntry {
  return {
    socket,
    family: 4,
    raddr: '192.0.2.9',
    rport: 9000,
    laddr: LOCAL,
    lport: 45000,
    ifindex: 2,
    netnsCookie: '1',
    task: owner,
    packetsOut: 5,
    bytesOut: 500,
    packetsIn: 5,
    bytesIn: 500,
    firstNs: 10 * MS,
    lastNs: 20 * MS,
    ...counts,
  };
}

/** One interval's UDP flow on if2, from LOCAL:45000 to 192.0.2.9:9000 unless told. */
function udpFlow(fields: Partial<FlowDelta> = {}): FlowDelta {
  return {
    ifindex: 2,
    direction: 'out',
    proto: 17,
    family: 4,
    saddr: LOCAL,
    sport: 45000,
    daddr: '192.0.2.9',
    dport: 9000,
    packets: 1,
    bytes: 60,
    droppedPackets: 0,
    droppedBytes: 0,
    tcpFlags: 0,
    firstSeenNs: 10 * MS,
    lastSeenNs: 20 * MS,
    intervalStartNs: 0,
    intervalEndNs: 30 * MS,
    ...fields,
  };
}

function harness() {
  const records: HostflowRecord[] = [];
  const names = new NameIndex();
  const correlator = new Correlator({
    names,
    clock: monotonicClock(0),
    interfaceName: (ifindex) => `if${ifindex}`,
    socketInterfaceName: (ifindex, netns) => (netns === '1' ? `if${ifindex}` : null),
    containers: { lookup: () => null },
    identify: (t) => ({ ppid: t.ppid, exe: `/usr/bin/${t.comm}`, cmdline: null }),
    excludePid: 0,
    emit: (record) => records.push(record),
    dnsTimeoutMs: 5000,
    udpIdleMs: 60_000,
  });
  const feed = (...events: CorrelatorEvent[]) => events.forEach((event) => correlator.handle(event));
  const of = <T extends HostflowRecord['type']>(type: T) => records.filter((r) => r.type === type) as Array<Extract<HostflowRecord, { type: T }>>;
  return { correlator, feed, of };
}

test("a static binary's lookup seen at its socket names its connection, whatever another process resolved since", () => {
  const h = harness();
  const t: Tuple = { family: 4, saddr: LOCAL, sport: 41000, daddr: '192.0.2.7', dport: 443 };
  h.feed(
    query(1, GO, 'g1', 'alpha.test'),
    answer(2, GO, 'g1', 'alpha.test', ['192.0.2.7']),
    { kind: 'lookup', tsNs: 3 * MS, cpu: 0, task: PY, name: 'beta.test', addrs: ['192.0.2.7'], truncated: false, ret: 0, latencyNs: MS },
    { kind: 'connect', tsNs: 4 * MS, cpu: 0, task: GO, tuple: { ...t, sport: 0 }, sock: 1, ret: 0, probe: 'tracepoint' },
    { kind: 'established', tsNs: 5 * MS, cpu: 0, task: GO, tuple: t, sock: 1, latencyNs: MS, direction: 'out' },
  );
  const [wire] = h.of('dns') as DnsRecord[];
  assert.equal(wire?.pid, 100);
  assert.equal(wire?.tid, 101);
  assert.equal(wire?.comm, 'goclient');
  assert.equal(wire?.ppid, 1);
  assert.equal(wire?.exe, '/usr/bin/goclient');
  assert.equal(wire?.source, 'wire');
  assert.equal(wire?.latency_ms, 1);
  assert.equal(wire?.iface, 'if2');
  const [open] = h.of('conn') as ConnRecord[];
  assert.equal(open?.host, 'alpha.test');
  assert.equal(open?.host_source, 'process');
});

test('a query without an answer is a TIMEOUT lookup of its process; NXDOMAIN answers carry theirs', () => {
  const h = harness();
  h.feed(query(1, GO, 'g1', 'nope.test', 1), query(2, PY, 'p1', 'missing.test', 2), answer(3, PY, 'p1', 'missing.test', [], 2, 'NXDOMAIN'));
  h.correlator.advanceTo(5000 * MS);
  assert.equal(h.of('dns').length, 1, 'not timed out before the timeout');
  h.correlator.advanceTo(5001 * MS);
  const [nx, timeout] = h.of('dns') as DnsRecord[];
  assert.deepEqual([nx?.host, nx?.status, nx?.pid, nx?.comm], ['missing.test', 'NXDOMAIN', 200, 'python3']);
  assert.deepEqual([timeout?.host, timeout?.status, timeout?.pid, timeout?.tid, timeout?.server], ['nope.test', 'TIMEOUT', 100, 101, SERVER]);
  assert.deepEqual(timeout?.addrs, []);
  assert.deepEqual(h.correlator.stats.dnsQueries, { seen: 2, answered: 1, timedOut: 1, evicted: 0, retries: 0 });
});

test('a UDP conversation: open and close records with its process, own name and counts; its flows get the process', () => {
  const h = harness();
  h.feed(query(1, GO, 'g1', 'alpha.test'), answer(2, GO, 'g1', 'alpha.test', ['192.0.2.9']));
  h.feed({ kind: 'lookup', tsNs: 3 * MS, cpu: 0, task: PY, name: 'beta.test', addrs: ['192.0.2.9'], truncated: false, ret: 0, latencyNs: MS });
  const live = conversation(GO, 'u1', { packetsOut: 2, bytesOut: 200, packetsIn: 1, bytesIn: 100 });
  assert.deepEqual(h.correlator.udpConversations([live], 30 * MS), []);
  const flow = h.correlator.flowRecord(udpFlow({ packets: 2, bytes: 256 })) as FlowRecord;
  assert.deepEqual([flow.pid, flow.comm, flow.dst_host], [100, 'goclient', 'alpha.test']);
  h.feed({ kind: 'udpClose', tsNs: 40 * MS, cpu: 0, socket: 'u1' });
  const final = conversation(GO, 'u1');
  assert.deepEqual(h.correlator.udpConversations([final], 50 * MS), [final]);
  const [open, closed] = h.of('udp') as UdpRecord[];
  assert.deepEqual([open?.event, open?.pid, open?.host, open?.host_source, open?.packets_sent], ['open', 100, 'alpha.test', 'process', null]);
  assert.deepEqual(
    [closed?.event, closed?.end_reason, closed?.packets_sent, closed?.bytes_sent, closed?.packets_received, closed?.bytes_received],
    ['close', 'close', 5, 500, 5, 500],
  );
  assert.equal(closed?.host, 'alpha.test');
  assert.equal(closed?.iface, 'if2');
});

test("a DNS server's conversation owns the flows of its own end only: a client's queries on another interface stay the client's, loopback takes either end", () => {
  const h = harness();
  // dnsmasq answers from 192.0.2.9:53 to this host's resolver socket at LOCAL:45000, in another namespace.
  const server = conversation(task(300, 'dnsmasq'), 'd1', { laddr: '192.0.2.9', lport: 53, raddr: LOCAL, rport: 45000 });
  h.correlator.udpConversations([server], 30 * MS);
  const query = udpFlow({ dport: 53 });
  assert.deepEqual(
    [h.correlator.flowRecord({ ...query, ifindex: 2 }).comm, h.correlator.flowRecord({ ...query, ifindex: 2, direction: 'in' }).comm],
    [null, 'dnsmasq'],
  );
  assert.equal(h.correlator.flowRecord({ ...query, ifindex: 1 }).comm, 'dnsmasq', 'on loopback both ends are local');
});

test('idle conversations end; the run ends the rest', () => {
  const h = harness();
  h.correlator.udpConversations([conversation(PY, 'a'), conversation(PY, 'b', { rport: 9001, lastNs: 100_000 * MS })], 30 * MS);
  assert.equal(h.correlator.udpConversations([conversation(PY, 'a'), conversation(PY, 'b', { rport: 9001, lastNs: 100_000 * MS })], 60_020 * MS).length, 1);
  h.correlator.finishUdp();
  const closes = (h.of('udp') as UdpRecord[]).filter((r) => r.event === 'close');
  assert.deepEqual(
    closes.map((r) => [r.dport, r.end_reason]),
    [
      [9000, 'idle'],
      [9001, 'stop'],
    ],
  );
});

test("a QUIC Initial's SNI names a conversation DNS left unnamed; ECH leaves one unnamed and says so", () => {
  const h = harness();
  const seen = atSocket(PY, 'q1', 'out', 45000, 443);
  h.feed({ kind: 'serverName', tsNs: 1 * MS, ...seen, tuple: { ...seen.tuple, daddr: '192.0.2.9', dport: 9000 }, name: 'h3.example', source: 'quic' });
  h.feed({
    kind: 'encryptedHello',
    tsNs: 1 * MS,
    ...seen,
    tuple: { ...seen.tuple, daddr: '192.0.2.9', dport: 9001 },
    protocol: 'quic',
    publicName: 'public.example',
  });
  h.correlator.udpConversations([conversation(PY, 'q1'), conversation(PY, 'q1', { rport: 9001 })], 30 * MS);
  const [named, ech] = h.of('udp') as UdpRecord[];
  assert.deepEqual([named?.host, named?.host_source, named?.unresolved], ['h3.example', 'quic', null]);
  assert.deepEqual([ech?.host, ech?.unresolved], [null, 'encrypted_client_hello']);
  assert.equal(h.correlator.stats.quicNamed, 1);
});

test('a TLS connection that sent ECH closes unnamed with the reason', () => {
  const h = harness();
  const t: Tuple = { family: 4, saddr: LOCAL, sport: 41001, daddr: '192.0.2.50', dport: 443 };
  h.feed(
    { kind: 'connect', tsNs: 1 * MS, cpu: 0, task: PY, tuple: { ...t, sport: 0 }, sock: 1, ret: 0, probe: 'tracepoint' },
    { kind: 'established', tsNs: 2 * MS, cpu: 0, task: PY, tuple: t, sock: 1, latencyNs: MS, direction: 'out' },
    {
      kind: 'encryptedHello',
      tsNs: 3 * MS,
      cpu: 0,
      tuple: t,
      ifindex: 2,
      direction: 'out',
      seenAt: 'interface',
      task: null,
      socket: null,
      netns: null,
      protocol: 'tls',
      publicName: 'cover.example',
    },
    {
      kind: 'close',
      tsNs: 4 * MS,
      cpu: 0,
      task: PY,
      tuple: t,
      sock: 1,
      durationNs: MS,
      bytesSent: 1,
      bytesReceived: 1,
      retransmits: 0,
      direction: 'out',
      oldState: 1,
      tracked: true,
    },
  );
  const closed = (h.of('conn') as ConnRecord[]).find((r) => r.event === 'close');
  assert.deepEqual([closed?.host, closed?.unresolved], [null, 'encrypted_client_hello']);
});
