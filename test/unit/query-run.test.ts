import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HostflowError } from '../../src/errors.js';
import type { ConnRecord, DnsRecord, HostflowRecord } from '../../src/records/types.js';
import { CANNED_QUESTIONS } from '../../src/query/canned.js';
import { runQuery, type QueryPlan } from '../../src/query/run-query.js';
import { DirectorySource } from '../../src/query/sources.js';
import { tempDir, writeStored } from '../helpers/query/stored.js';
import { sampleRecords } from '../helpers/storage/sample-records.js';
import { connRecord, dnsRecord } from '../helpers/record-builders.js';

function plan(sql: string, extra: Partial<QueryPlan> = {}): QueryPlan {
  return { prefix: 'hostflow', range: {}, hostnames: [], sql, parameters: [], ...extra };
}

async function query(dir: string, sql: string, extra: Partial<QueryPlan> = {}, log: string[] = []) {
  return runQuery(new DirectorySource(dir, 'hostflow'), plan(sql, extra), (line) => log.push(line));
}

test('NDJSON and Parquet objects read as the same typed rows, partitions as columns', async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(1000);
  await writeStored(dir, records, 'ndjson', 'host-a');
  await writeStored(dir, records, 'parquet', 'host-b');
  for (const type of ['dns', 'conn', 'flow', 'udp']) {
    const described = await query(dir, `SELECT column_name, column_type FROM (DESCRIBE ${type})`);
    const types = Object.fromEntries(described.result.rows.map(([name, kind]) => [name, kind]));
    assert.equal(types[type === 'flow' ? 'start' : 'ts'], 'TIMESTAMP');
    assert.deepEqual([types.dt, types.hour, types.hostname], ['VARCHAR', 'VARCHAR', 'VARCHAR']);
    if (type === 'dns') assert.deepEqual([types.addrs, types.cnames, types.uid], ['VARCHAR[]', 'VARCHAR[]', 'BIGINT']);
    const [a, b] = await Promise.all(
      ['host-a', 'host-b'].map((host) => query(dir, `SELECT * EXCLUDE (hostname) FROM ${type} WHERE hostname = '${host}' ORDER BY ALL`)),
    );
    assert.ok(a!.result.rows.length > 0);
    assert.deepEqual(a!.result.rows, b!.result.rows, `${type}: the same rows from both formats`);
  }
  const dns = records.filter((record): record is DnsRecord => record.type === 'dns');
  const { result } = await query(dir, "SELECT ts, addrs, cnames, uid FROM dns WHERE hostname = 'host-b' ORDER BY ts");
  assert.deepEqual(
    result.rows,
    dns.map((record) => [record.ts, record.addrs, record.cnames, record.uid]),
  );
});

test('--since, --until and --hostname cut the rows and prune the objects', async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(1000);
  await writeStored(dir, records, 'ndjson', 'host-a');
  await writeStored(dir, records, 'parquet', 'host-b');
  const since = '2026-11-23T11:00:00.000000Z';
  const until = '2026-11-23T11:00:00.200000Z';
  const expected = records.filter((record) => record.type === 'conn' && record.ts >= since && record.ts < until).length;
  assert.ok(expected > 0);
  const cut = await query(dir, 'SELECT count(*) FROM conn', { range: { since, until }, hostnames: ['host-b'] });
  assert.deepEqual(cut.result.rows, [[expected]]);
  // Only hour 11 of host-b: one object per record type.
  assert.equal(cut.objects, 4);
  const all = await query(dir, 'SELECT count(*) FROM conn');
  assert.deepEqual(all.result.rows, [[2 * records.filter((record) => record.type === 'conn').length]]);
  assert.equal(all.objects, 16);
});

test('a malformed object is named, skipped and counted; the others still answer', async (t) => {
  const dir = tempDir(t);
  const records = sampleRecords(200);
  await writeStored(dir, records, 'parquet', 'good');
  const folder = join(dir, 'hostflow/conn/dt=2026-11-23/hour=10/hostname=bad');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, '20261123T100000.000000Z-20261123T100001.000000Z-a000001.parquet'), Buffer.from('PAR1 not really a parquet file at all PAR1'));
  writeFileSync(join(folder, '20261123T100000.000000Z-20261123T100001.000000Z-a000002.ndjson.gz'), Buffer.from('plain text, no gzip'));
  writeFileSync(
    join(folder, '20261123T100000.000000Z-20261123T100001.000000Z-a000003.ndjson.gz'),
    gzipSync('{"type":"conn","ts":"2026-11-23T10:00:00.000000Z",\n'),
  );
  const log: string[] = [];
  const outcome = await query(dir, 'SELECT count(*) FROM conn', {}, log);
  assert.deepEqual(outcome.result.rows, [[records.filter((record) => record.type === 'conn').length]]);
  assert.deepEqual(outcome.skipped.map((skipped) => skipped.key.replace(/.*-(a\d+\..*)$/, '$1')).sort(), [
    'a000001.parquet',
    'a000002.ndjson.gz',
    'a000003.ndjson.gz',
  ]);
  assert.equal(log.filter((line) => /^query: skipped malformed object hostflow\/conn\/dt=2026-11-23\/hour=10\/hostname=bad\/\S+: ./.test(line)).length, 3);
});

test('a wrong statement is one line naming the error, not a search for bad objects', async (t) => {
  const dir = tempDir(t);
  await writeStored(dir, sampleRecords(20), 'parquet', 'h');
  await assert.rejects(query(dir, 'SELECT nope FROM conn'), (error: unknown) => error instanceof HostflowError && /^query: Binder Error/.test(error.message));
  await assert.rejects(query(dir, 'SELEC 1'), /^HostflowError: query: Parser Error/);
});

test('an empty folder answers with no rows', async (t) => {
  const dir = tempDir(t);
  const outcome = await query(dir, CANNED_QUESTIONS.topHosts.sql(10));
  assert.deepEqual([outcome.objects, outcome.result.rows.length], [0, 0]);
});

/** A close record of curl (pid 10) to a.example; `overrides` make each case. */
function conn(overrides: Partial<ConnRecord>): ConnRecord {
  return connRecord({
    event: 'close',
    ts: '2026-11-23T10:00:00.000000Z',
    pid: 10,
    exe: '/usr/bin/curl',
    saddr: '10.0.0.1',
    daddr: '192.0.2.10',
    host: 'a.example',
    probe: 'fentry',
    connect_latency_ms: 1,
    duration_ms: 5,
    bytes_sent: 100,
    bytes_received: 1000,
    retransmits: 0,
    established: true,
    ...overrides,
  });
}

test('the canned questions answer from the records', async (t) => {
  const dir = tempDir(t);
  const at = (second: number) => `2026-11-23T10:00:${String(second).padStart(2, '0')}.000000Z`;
  const records: HostflowRecord[] = [
    { ...conn({ event: 'open', ts: at(1), bytes_sent: null, bytes_received: null, duration_ms: null, established: null }) },
    conn({ ts: at(2) }),
    conn({ ts: at(3), sport: 40001, bytes_sent: 5, bytes_received: 5 }),
    conn({ ts: at(4), comm: 'wget', pid: 11, host: 'b.example', bytes_sent: 7000, bytes_received: 0 }),
    conn({ ts: at(5), comm: 'wget', pid: 11, host: null, host_source: null, unresolved: 'address_literal', daddr: '198.51.100.7' }),
    conn({
      ts: at(6),
      event: 'close',
      established: false,
      sport: 40009,
      bytes_sent: 0,
      bytes_received: 0,
      host: null,
      host_source: null,
      unresolved: 'no_lookup_seen',
    }),
    dnsRecord({
      ts: at(0),
      pid: 10,
      exe: '/usr/bin/curl',
      tid: 10,
      host: 'www.a.example',
      cnames: ['a.example'],
      addrs: ['192.0.2.10'],
      ttl: 60,
      latency_ms: 2,
      source: 'wire',
      status: 'NOERROR',
      iface: 'eth0',
      server: '192.0.2.53',
    }),
  ];
  await writeStored(dir, records, 'ndjson', 'web-1');
  const ask = async (name: keyof typeof CANNED_QUESTIONS, parameters: string[] = []) => {
    const { result } = await query(dir, CANNED_QUESTIONS[name].sql(10), { parameters });
    return result.rows.map((row) => Object.fromEntries(result.columns.map((column, i) => [column, row[i]])));
  };
  assert.deepEqual(await ask('topHosts'), [
    { process: 'wget', host: 'b.example', connections: 1, bytes_sent: 7000, bytes_received: 0, bytes: 7000 },
    { process: 'wget', host: '198.51.100.7', connections: 1, bytes_sent: 100, bytes_received: 1000, bytes: 1100 },
    { process: 'curl', host: 'a.example', connections: 2, bytes_sent: 105, bytes_received: 1005, bytes: 1110 },
    { process: 'curl', host: '192.0.2.10', connections: 1, bytes_sent: 0, bytes_received: 0, bytes: 0 },
  ]);
  const resolved = await ask('whoResolved', ['A.Example.']);
  assert.deepEqual(
    resolved.map((row) => [row.hostname, row.pid, row.host, row.addrs]),
    [['web-1', 10, 'www.a.example', ['192.0.2.10']]],
  );
  assert.deepEqual(await ask('whoResolved', ["x' OR 1=1 --"]), []);
  assert.deepEqual(await ask('whoReached', ['192.0.2.10']), [
    {
      hostname: 'web-1',
      pid: 10,
      comm: 'curl',
      proto: 'tcp',
      dport: 443,
      connections: 2,
      failed: 1,
      hosts: 'a.example',
      first: at(1),
      last: at(6),
    },
  ]);
  assert.deepEqual(await ask('unresolved'), [
    { reason: 'address_literal', process: 'wget', connections: 1, addresses: 1, first_addresses: ['198.51.100.7'] },
    { reason: 'no_lookup_seen', process: 'curl', connections: 1, addresses: 1, first_addresses: ['192.0.2.10'] },
  ]);
});
