import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatText } from '../../../src/records/text.js';
import type { ConnRecord, DnsRecord, UdpRecord } from '../../../src/records/types.js';

const base = { pid: 42, ppid: 1, comm: 'curl', exe: '/usr/bin/curl', cmdline: null, uid: 0, container_id: null, container_runtime: null };

test('a conn close reads as one line with the name, the addresses and the bytes', () => {
  const record: ConnRecord = {
    type: 'conn',
    event: 'close',
    ts: '2026-11-23T18:52:01.104020Z',
    ...base,
    family: 6,
    saddr: 'fd00::2',
    sport: 41000,
    daddr: 'fd00::1',
    dport: 443,
    direction: 'out',
    host: 'api.test',
    host_source: 'process',
    unresolved: null,
    probe: 'tracepoint',
    connect_latency_ms: 0.2,
    duration_ms: 12.5,
    bytes_sent: 777,
    bytes_received: 123457,
    retransmits: 0,
    established: true,
  };
  assert.equal(
    formatText(record),
    '18:52:01.104020 conn  close curl[42] [fd00::2]:41000 -> api.test [fd00::1]:443 [process] 12.5 ms sent 777 B received 123457 B retransmits 0',
  );
});

test('a hostile name is escaped in text output', () => {
  const record: DnsRecord = {
    type: 'dns',
    ts: '2026-11-23T18:52:01.000000Z',
    ...base,
    comm: 'x\u001b[31m',
    tid: 42,
    host: 'a\u001b]0;t\u0007.test',
    cnames: null,
    addrs: ['192.0.2.1'],
    ttl: null,
    latency_ms: 1.5,
    source: 'getaddrinfo',
    status: 'OK',
    iface: null,
    server: null,
  };
  const line = formatText(record);
  assert.ok(!line.includes('\u001b') && !line.includes('\u0007'));
  assert.match(line, /x\\x1b\[31m\[42\] a\\x1b\]0;t\\x07\.test -> 192\.0\.2\.1 1\.500 ms getaddrinfo/);
});

test('a named record says where the late name came from; an unnamed connection says why', () => {
  const open: ConnRecord = {
    type: 'conn',
    event: 'open',
    ts: '2026-11-23T18:52:01.104020Z',
    ...base,
    family: 4,
    saddr: '10.0.0.2',
    sport: 41000,
    daddr: '192.0.2.1',
    dport: 443,
    direction: 'out',
    host: null,
    host_source: null,
    unresolved: 'no_lookup_seen',
    probe: 'tracepoint',
    connect_latency_ms: 0.2,
    duration_ms: null,
    bytes_sent: null,
    bytes_received: null,
    retransmits: null,
    established: null,
  };
  assert.equal(formatText(open), '18:52:01.104020 conn  open  curl[42] 10.0.0.2:41000 -> 192.0.2.1:443 [unresolved: no_lookup_seen] 0.2 ms');
  const named: ConnRecord = { ...open, event: 'named', ts: '2026-11-23T18:52:01.204020Z', host: 'api.test', host_source: 'sni', unresolved: null };
  assert.equal(formatText(named), '18:52:01.204020 conn  named curl[42] 10.0.0.2:41000 -> api.test 192.0.2.1:443 [sni]');
});

const udpOpen: UdpRecord = {
  type: 'udp',
  event: 'open',
  ts: '2026-11-23T18:52:01.000007Z',
  ...base,
  comm: 'chrome',
  family: 6,
  saddr: 'fd00::2',
  sport: 51234,
  daddr: 'fd00::1',
  dport: 443,
  host: 'quic.test',
  host_source: 'quic',
  unresolved: null,
  iface: 'eth0',
  first_seen: '2026-11-23T18:52:01.000007Z',
  last_seen: null,
  packets_sent: null,
  bytes_sent: null,
  packets_received: null,
  bytes_received: null,
  end_reason: null,
};

test('a udp conversation reads as one line when it opens and one with the counts when it ends', () => {
  assert.equal(formatText(udpOpen), '18:52:01.000007 udp   open  chrome[42] [fd00::2]:51234 -> quic.test [fd00::1]:443 [quic]');
  const close: UdpRecord = {
    ...udpOpen,
    event: 'close',
    ts: '2026-11-23T18:52:31.500000Z',
    last_seen: '2026-11-23T18:52:01.400007Z',
    packets_sent: 3,
    bytes_sent: 1350,
    packets_received: 12,
    bytes_received: 14000,
    end_reason: 'idle',
  };
  assert.equal(
    formatText(close),
    '18:52:31.500000 udp   close chrome[42] [fd00::2]:51234 -> quic.test [fd00::1]:443 [quic] 400 ms sent 3 packets 1350 B received 12 packets 14000 B end idle',
  );
  const unnamed: UdpRecord = { ...udpOpen, host: null, host_source: null, unresolved: 'encrypted_client_hello', comm: 'x\u001b[2J' };
  assert.equal(formatText(unnamed), '18:52:01.000007 udp   open  x\\x1b[2J[42] [fd00::2]:51234 -> [fd00::1]:443 [unresolved: encrypted_client_hello]');
});

test('a wire lookup that timed out shows its process and status, and no resolver it never heard from', () => {
  const record: DnsRecord = {
    type: 'dns',
    ts: '2026-11-23T18:52:05.000000Z',
    ...base,
    comm: 'app',
    tid: 43,
    host: 'nope.test',
    cnames: null,
    addrs: [],
    ttl: null,
    latency_ms: null,
    source: 'wire',
    status: 'TIMEOUT',
    iface: null,
    server: '10.0.0.53',
  };
  assert.equal(formatText(record), '18:52:05.000000 dns   app[42] nope.test -> TIMEOUT wire via 10.0.0.53');
});
