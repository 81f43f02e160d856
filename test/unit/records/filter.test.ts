import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../../src/records/filter.js';
import type { ConnRecord, DnsRecord, FlowRecord } from '../../../src/records/types.js';

const conn: ConnRecord = {
  type: 'conn',
  event: 'open',
  ts: 't',
  pid: 10,
  comm: 'curl',
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
  comm: 'dig',
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
