/**
 * The wire stage: the one place bytes off the wire become names. DNS
 * datagrams and TCP streams give parsed answers, ClientHellos and HTTP
 * requests give server names, and what names nothing is counted by reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { DnsDatagramEvent, DnsSegmentEvent, KernelEvent, PayloadEvent, Task, Tuple } from '../../../src/kernel/decode.js';
import type { CorrelatorEvent } from '../../../src/wire/events.js';
import { WireStage } from '../../../src/wire/stage.js';
import { OPENSSL_HELLO } from '../names/client-hellos.js';
import { clientHelloMessage, encryptedClientHello, postQuantumKeyShare, serverName, splitHello, tlsRecord } from '../names/quic-packets.js';

const DNS_TUPLE: Tuple = { family: 4, saddr: '10.0.0.1', sport: 53, daddr: '10.0.0.2', dport: 41000 };
const WEB_TUPLE: Tuple = { family: 4, saddr: '10.0.0.2', sport: 40000, daddr: '10.0.0.1', dport: 443 };
const seen = { tsNs: 5000, cpu: 0, ifindex: 3 };
/** Seen at an interface (XDP/TC): no socket, no process. */
const atInterface = { seenAt: 'interface', task: null, socket: null, netns: null } as const;
const BROWSER: Task = { pid: 4242, tid: 4243, uid: 1000, gid: 1000, cgroupId: 77, comm: 'chrome', ppid: 1, startNs: 123 };
/** Seen at the browser's socket (cgroup_skb). */
const atSocket = { seenAt: 'socket', task: BROWSER, socket: '9001', netns: '4026531840' } as const;
const QUIC_TUPLE: Tuple = { family: 4, saddr: '10.0.0.2', sport: 50000, daddr: '10.0.0.1', dport: 443 };

function answer(name: string, addr: string): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl: 30, data: addr }],
  });
}

const datagram = (message: Buffer, messageLength = message.length): DnsDatagramEvent => ({
  kind: 'dnsDatagram',
  ...seen,
  ...atInterface,
  tuple: DNS_TUPLE,
  direction: 'in',
  messageLength,
  message,
});
const segment = (seq: number, payload: Buffer, flags = 0x18): DnsSegmentEvent => ({
  kind: 'dnsSegment',
  ...seen,
  ...atInterface,
  tuple: DNS_TUPLE,
  direction: 'in',
  seq,
  flags,
  payloadLength: payload.length,
  payload,
});
const payload = (protocol: 'tls' | 'http', bytes: Buffer): PayloadEvent => ({
  kind: 'payload',
  ...seen,
  ...atInterface,
  tuple: WEB_TUPLE,
  direction: 'out',
  protocol,
  payload: bytes,
});

function run(stage: WireStage, ...events: KernelEvent[]): CorrelatorEvent[] {
  const out: CorrelatorEvent[] = [];
  for (const event of events) stage.handle(event, (named) => out.push(named));
  return out;
}

test('a DNS datagram becomes a parsed answer, where and when it was seen', () => {
  const [event, ...rest] = run(new WireStage(), datagram(answer('udp.example', '192.0.2.5')));
  assert.deepEqual(rest, []);
  assert.ok(event?.kind === 'dnsAnswer');
  assert.equal(event.transport, 'udp');
  assert.equal(event.tsNs, 5000);
  assert.equal(event.ifindex, 3);
  assert.deepEqual(event.tuple, DNS_TUPLE);
  assert.equal(event.answer.host, 'udp.example');
  assert.deepEqual(event.answer.addrs, ['192.0.2.5']);
});

test('TCP segments from port 53 become the answers their stream carries', () => {
  const message = answer('tcp.example', '192.0.2.6');
  const stream = Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
  const stage = new WireStage();
  const out = run(stage, segment(100, stream.subarray(0, 5)), segment(105, stream.subarray(5)));
  assert.equal(out.length, 1);
  assert.ok(out[0]?.kind === 'dnsAnswer');
  assert.equal(out[0].transport, 'tcp');
  assert.equal(out[0].answer.host, 'tcp.example');
  assert.equal(stage.stats.dnsTcp.messages, 1);
});

test('DNS messages that name nothing are counted by reason, from datagrams and streams alike', () => {
  const query = dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'q.example' }] });
  const full = answer('cut.example', '192.0.2.7');
  const stage = new WireStage();
  const out = run(stage, datagram(Buffer.from([1, 2, 3])), datagram(query), datagram(full.subarray(0, full.length - 4), full.length));
  assert.deepEqual(out, []);
  assert.deepEqual(stage.stats.dnsSkipped, { malformed: 1, not_response: 1, truncated: 1 });
});

test('a ClientHello gives its SNI, an HTTP request its Host (port stripped), with the egress tuple', () => {
  const stage = new WireStage();
  const out = run(
    stage,
    payload('tls', Buffer.from(OPENSSL_HELLO, 'hex')),
    payload('http', Buffer.from('GET / HTTP/1.1\r\nHost: www.example.test:8080\r\n\r\n')),
  );
  assert.deepEqual(out, [
    { kind: 'serverName', ...seen, ...atInterface, tuple: WEB_TUPLE, direction: 'out', name: 'fixture.hostflow.test', source: 'sni' },
    { kind: 'serverName', ...seen, ...atInterface, tuple: WEB_TUPLE, direction: 'out', name: 'www.example.test', source: 'http' },
  ]);
  assert.deepEqual(stage.stats.serverNames, { sni: 1, http: 1, quic: 0, encryptedHellos: { tls: 0, quic: 0 }, skipped: {} });
});

test('payloads that name nothing are counted by source and reason and emit nothing', () => {
  const hello = Buffer.from(OPENSSL_HELLO, 'hex');
  const stage = new WireStage();
  const out = run(
    stage,
    payload('tls', hello.subarray(0, 100)),
    payload('http', Buffer.from('GET / HTTP/1.0\r\n\r\n')),
    payload('http', Buffer.from('GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n')),
  );
  assert.deepEqual(out, []);
  assert.deepEqual(stage.stats.serverNames.skipped, { 'sni:truncated': 1, 'http:no_host': 1, 'http:address_literal': 1 });
});

test('socket and lookup events pass through untouched', () => {
  const close = { kind: 'close' } as unknown as KernelEvent;
  const lookup = { kind: 'lookup' } as unknown as KernelEvent;
  const out = run(new WireStage(), close, lookup);
  assert.equal(out[0], close);
  assert.equal(out[1], lookup);
});

const quic = (bytes: Buffer, at: Partial<PayloadEvent> = {}): PayloadEvent => ({
  kind: 'payload',
  ...seen,
  ...atSocket,
  tuple: QUIC_TUPLE,
  direction: 'out',
  protocol: 'quic',
  payload: bytes,
  ...at,
});

const PQ_HELLO = clientHelloMessage([postQuantumKeyShare(), serverName('quic.example.com')]);

test('a DNS answer seen at a socket carries its owner and socket', () => {
  const [event] = run(new WireStage(), { ...datagram(answer('owned.example', '192.0.2.9')), ...atSocket });
  assert.ok(event?.kind === 'dnsAnswer');
  assert.equal(event.seenAt, 'socket');
  assert.deepEqual(event.task, BROWSER);
  assert.equal(event.socket, '9001');
});

test('a QUIC ClientHello over two datagrams of a socket gives one server name, from the second, with the socket owner', () => {
  const [first, second] = splitHello(PQ_HELLO);
  const stage = new WireStage();
  const out = run(stage, quic(first, { tsNs: 5000 }), quic(second, { tsNs: 6000 }));
  assert.deepEqual(out, [
    { kind: 'serverName', ...seen, tsNs: 6000, ...atSocket, tuple: QUIC_TUPLE, direction: 'out', name: 'quic.example.com', source: 'quic' },
  ]);
  assert.equal(stage.stats.serverNames.quic, 1);
  assert.equal(stage.stats.quic.reassembled, 1);
  assert.deepEqual(stage.stats.serverNames.skipped, {});
});

test('halves of a hello from two sockets (or two conversations) are not put together', () => {
  const [first, second] = splitHello(PQ_HELLO);
  const stage = new WireStage();
  const other: Tuple = { ...QUIC_TUPLE, sport: 50001 };
  assert.deepEqual(run(stage, quic(first), quic(second, { socket: '9002' }), quic(first, { tuple: other, socket: '9003' })), []);
  assert.equal(stage.stats.quic.pending, 3);
  stage.finish();
  assert.deepEqual(stage.stats.serverNames.skipped, { 'quic:incomplete': 3 });
});

test('an ECH ClientHello over TLS or QUIC gives an encryptedHello with its public name, counted, and no server name', () => {
  const hello = clientHelloMessage([serverName('public.example'), encryptedClientHello()]);
  const [first, second] = splitHello(hello);
  const stage = new WireStage();
  const out = run(stage, { ...payload('tls', tlsRecord(hello)), ...atSocket }, quic(first), quic(second));
  assert.deepEqual(out, [
    { kind: 'encryptedHello', ...seen, ...atSocket, tuple: WEB_TUPLE, direction: 'out', protocol: 'tls', publicName: 'public.example' },
    { kind: 'encryptedHello', ...seen, ...atSocket, tuple: QUIC_TUPLE, direction: 'out', protocol: 'quic', publicName: 'public.example' },
  ]);
  assert.deepEqual(stage.stats.serverNames.encryptedHellos, { tls: 1, quic: 1 });
  assert.equal(stage.stats.serverNames.sni + stage.stats.serverNames.quic, 0);
});

test('QUIC datagrams that name nothing are counted as quic:<reason>; resent ones are repeats', () => {
  const [first, second] = splitHello(PQ_HELLO);
  const broken = Buffer.from(first);
  broken[700] = (broken[700] as number) ^ 0xff;
  const stage = new WireStage();
  const out = run(stage, quic(broken), quic(Buffer.from([0xc0, 0xff, 0, 0, 0x1d, 0])), quic(first), quic(second), quic(second));
  assert.equal(out.length, 1);
  assert.deepEqual(stage.stats.serverNames.skipped, { 'quic:decrypt_failed': 1, 'quic:unsupported_version': 1 });
  assert.equal(stage.stats.quic.repeats, 1);
});

test('an interface-seen QUIC payload (no socket) is keyed by interface and addresses', () => {
  const [first, second] = splitHello(PQ_HELLO);
  const out = run(new WireStage(), quic(first, atInterface), quic(second, atInterface));
  assert.equal(out.length, 1);
  assert.ok(out[0]?.kind === 'serverName');
  assert.equal(out[0].task, null);
  assert.equal(out[0].socket, null);
});

test('a UDP socket release passes through to the correlator', () => {
  const udpClose: KernelEvent = { kind: 'udpClose', tsNs: 1, cpu: 0, socket: '9001' };
  assert.deepEqual(run(new WireStage(), udpClose), [udpClose]);
});

test("a socket's own DNS queries become dnsQuery events with the owner; at an interface a query is still not_response", () => {
  const query = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'AAAA', name: 'Asked.Example' }] });
  const toServer: Tuple = { family: 4, saddr: '10.0.0.2', sport: 41000, daddr: '10.0.0.1', dport: 53 };
  const stage = new WireStage();
  const out = run(
    stage,
    { ...datagram(query), ...atSocket, tuple: toServer, direction: 'out' },
    { ...datagram(Buffer.from([0, 1, 0])), ...atSocket, tuple: toServer, direction: 'out' },
    datagram(query),
  );
  assert.deepEqual(out, [
    { kind: 'dnsQuery', ...seen, ...atSocket, tuple: toServer, direction: 'out', transport: 'udp', query: { id: 9, host: 'asked.example', qtype: 'AAAA' } },
  ]);
  assert.deepEqual(stage.stats.dnsQueries, { read: 1, skipped: { malformed: 1 } });
  assert.deepEqual(stage.stats.dnsSkipped, { not_response: 1 });
});
