import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../../src/records/filter.js';
import type { ConnRecord, DnsRecord, FlowRecord, UdpRecord } from '../../../src/records/types.js';

const conn: ConnRecord = {
  type: 'conn',
  event: 'open',
  ts: 't',
  pid: 10,
  ppid: 1,
  comm: 'curl',
  exe: '/usr/bin/curl',
  cmdline: null,
  uid: 0,
  container_id: null,
  container_runtime: null,
  family: 4,
  saddr: '10.0.0.2',
  sport: 40000,
  daddr: '10.0.0.1',
  dport: 443,
  direction: 'out',
  host: 'api.example.com',
  host_source: 'process',
  unresolved: null,
  probe: 'tracepoint',
  connect_latency_ms: 1,
  duration_ms: null,
  bytes_sent: null,
  bytes_received: null,
  retransmits: null,
  established: null,
};
const dns: DnsRecord = {
  type: 'dns',
  ts: 't',
  pid: 11,
  ppid: 1,
  comm: 'dig',
  exe: '/usr/bin/dig',
  cmdline: null,
  uid: 0,
  container_id: null,
  container_runtime: null,
  tid: 11,
  host: 'www.example.org',
  cnames: ['edge.cdn.test'],
  addrs: ['10.0.0.9'],
  ttl: 60,
  latency_ms: null,
  source: 'wire',
  status: 'NOERROR',
  iface: 'eth0',
  server: '10.0.0.1',
};
const flow: FlowRecord = {
  type: 'flow',
  start: 't',
  end: 't',
  iface: 'eth0',
  direction: 'egress',
  proto: 'udp',
  family: 4,
  saddr: '10.0.0.2',
  sport: 5353,
  daddr: '10.0.0.1',
  dport: 53,
  packets: 1,
  bytes: 60,
  tcp_flags: 0,
  dropped_packets: 0,
  dropped_bytes: 0,
  src_host: null,
  dst_host: 'ns.test',
  unresolved: null,
  pid: null,
  comm: null,
};
const udp: UdpRecord = {
  type: 'udp',
  event: 'close',
  ts: 't',
  pid: 12,
  ppid: 1,
  comm: 'chrome',
  exe: '/opt/google/chrome/chrome',
  cmdline: null,
  uid: 1000,
  container_id: null,
  container_runtime: null,
  family: 4,
  saddr: '10.0.0.2',
  sport: 51234,
  daddr: '10.0.0.7',
  dport: 443,
  host: 'quic.example.com',
  host_source: 'quic',
  unresolved: null,
  iface: 'eth0',
  first_seen: 't',
  last_seen: 't',
  packets_sent: 3,
  bytes_sent: 1200,
  packets_received: 4,
  bytes_received: 4000,
  end_reason: 'idle',
};

test('no criteria lets everything through', () => {
  const accept = compileFilter({});
  assert.ok([conn, dns, flow].every(accept));
});

test('host globs match any hostname of a record, case-insensitively, CNAMEs included', () => {
  const accept = compileFilter({ hostGlobs: ['*.EXAMPLE.com'] });
  assert.deepEqual([conn, dns, flow].map(accept), [true, false, false]);
  assert.deepEqual([conn, dns, flow].map(compileFilter({ hostGlobs: ['*.cdn.test', 'ns.*'] })), [false, true, true]);
});

test('criteria combine with AND, values of one criterion with OR', () => {
  assert.deepEqual([conn, dns, flow].map(compileFilter({ pids: [10, 11] })), [true, true, false]);
  assert.deepEqual([conn, dns, flow].map(compileFilter({ pids: [10, 11], types: ['dns'] })), [false, true, false]);
  assert.deepEqual([conn, dns, flow].map(compileFilter({ ports: [53, 443] })), [true, false, true]);
  assert.deepEqual([conn, dns, flow].map(compileFilter({ comms: ['curl'] })), [true, false, false]);
});

test('udp conversations match --type udp, --pid, --comm, --host and --port like connections do', () => {
  const all = [conn, dns, flow, udp];
  assert.deepEqual(all.map(compileFilter({ types: ['udp'] })), [false, false, false, true]);
  assert.deepEqual(all.map(compileFilter({ types: ['conn', 'udp'] })), [true, false, false, true]);
  assert.deepEqual(all.map(compileFilter({ pids: [12] })), [false, false, false, true]);
  assert.deepEqual(all.map(compileFilter({ comms: ['chrome'] })), [false, false, false, true]);
  assert.deepEqual(all.map(compileFilter({ hostGlobs: ['QUIC.example.*'] })), [false, false, false, true]);
  assert.deepEqual(all.map(compileFilter({ ports: [443] })), [true, false, false, true], 'remote port');
  assert.deepEqual(all.map(compileFilter({ ports: [51234] })), [false, false, false, true], 'local port');
  assert.equal(compileFilter({ types: ['udp'], hostGlobs: ['*.example.com'], ports: [53] })(udp), false, 'AND across criteria');
});

test('a flow of a UDP conversation matches --pid and --comm by the process it now carries', () => {
  const owned: FlowRecord = { ...flow, pid: 12, comm: 'chrome' };
  assert.equal(compileFilter({ pids: [12], types: ['flow'] })(owned), true);
  assert.equal(compileFilter({ comms: ['chrome'] })(owned), true);
  assert.equal(compileFilter({ comms: ['chrome'] })(flow), false);
});
