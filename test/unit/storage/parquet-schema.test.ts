import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_TYPES, type UdpRecord } from '../../../src/records/types.js';
import { ParquetEncoder } from '../../../src/storage/parquet-encoder.js';
import { PARQUET_COLUMNS, parquetFields } from '../../../src/storage/parquet-schema.js';
import { Spool } from '../../../src/storage/spool.js';
import { parquetRecords } from '../../helpers/storage/read-back.js';
import { numberedDns, sampleRecords } from '../../helpers/storage/sample-records.js';

test('every field of every record type is a column, and nothing else', () => {
  const records = sampleRecords(30);
  for (const type of RECORD_TYPES) {
    const record = records.find((r) => r.type === type)!;
    assert.deepEqual(Object.keys(PARQUET_COLUMNS[type]).sort(), Object.keys(record).sort(), type);
  }
});

test('times are TIMESTAMP_MICROS, lists are optional 3-level LISTs, counters INT64', () => {
  const dns = parquetFields('dns');
  assert.deepEqual(dns.ts, { type: 'TIMESTAMP_MICROS', optional: false, compression: 'SNAPPY' });
  assert.equal(dns.cnames?.type, 'LIST');
  assert.equal(dns.cnames?.optional, true);
  assert.equal(dns.addrs?.optional, false);
  assert.deepEqual(dns.addrs?.fields?.list?.fields?.element, { type: 'UTF8', compression: 'SNAPPY' });
  assert.equal(parquetFields('flow').bytes?.type, 'INT64');
  assert.equal(parquetFields('conn').established?.type, 'BOOLEAN');
});

test('the process columns are on every record type that carries a process: ppid INT32, exe and cmdline optional UTF8', () => {
  for (const type of ['dns', 'conn', 'udp'] as const) {
    const fields = parquetFields(type);
    assert.deepEqual(fields.ppid, { type: 'INT32', optional: true, compression: 'SNAPPY' }, type);
    assert.deepEqual(fields.exe, { type: 'UTF8', optional: true, compression: 'SNAPPY' }, type);
    assert.deepEqual(fields.cmdline, { type: 'UTF8', optional: true, compression: 'SNAPPY' }, type);
  }
});

test('a udp record: first_seen and last_seen are timestamps, its counters INT64, last_seen and the counts null until close', () => {
  const udp = parquetFields('udp');
  assert.deepEqual(udp.first_seen, { type: 'TIMESTAMP_MICROS', optional: false, compression: 'SNAPPY' });
  assert.deepEqual(udp.last_seen, { type: 'TIMESTAMP_MICROS', optional: true, compression: 'SNAPPY' });
  for (const counter of ['packets_sent', 'bytes_sent', 'packets_received', 'bytes_received']) assert.equal(udp[counter]?.type, 'INT64', counter);
  assert.equal(udp.sport?.type, 'INT32');
  assert.equal(udp.end_reason?.optional, true);
});

const QUIC_CLOSE: UdpRecord = {
  type: 'udp',
  event: 'close',
  ts: '2026-11-23T18:52:31.500001Z',
  pid: 5150,
  ppid: 5100,
  comm: 'chrome',
  exe: '/opt/google/chrome/chrome',
  cmdline: '/opt/google/chrome/chrome --type=utility --lang=de',
  uid: 1000,
  container_id: null,
  container_runtime: null,
  family: 6,
  saddr: 'fd00:213:7::2',
  sport: 51234,
  daddr: 'fd00:213:7::1',
  dport: 443,
  host: 'quic.hostflow.test',
  host_source: 'quic',
  unresolved: null,
  iface: 'eth0',
  first_seen: '2026-11-23T18:52:01.000007Z',
  last_seen: '2026-11-23T18:52:01.400009Z',
  packets_sent: 2 ** 32 + 5,
  bytes_sent: 2 ** 45 + 1,
  packets_received: 12,
  bytes_received: 14_000,
  end_reason: 'idle',
};

test('a udp record goes through the Parquet encoder and comes back from hyparquet field by field', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-udp-parquet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = new Spool(root).create('udp', 'p');
  const encoder = new ParquetEncoder('udp', file);
  const open: UdpRecord = {
    ...QUIC_CLOSE,
    event: 'open',
    ts: QUIC_CLOSE.first_seen,
    cmdline: null,
    exe: null,
    ppid: null,
    host: null,
    host_source: null,
    unresolved: 'encrypted_client_hello',
    iface: null,
    last_seen: null,
    packets_sent: null,
    bytes_sent: null,
    packets_received: null,
    bytes_received: null,
    end_reason: null,
  };
  encoder.add(open);
  encoder.add(QUIC_CLOSE);
  await encoder.finish();
  const back = await parquetRecords(readFileSync(await file.commit('udp.parquet')));
  assert.deepEqual(back, [open, QUIC_CLOSE]);
  assert.deepEqual(Object.keys(back[1]!), Object.keys(QUIC_CLOSE), 'the columns in the record field order');
});

test('a value that does not fit its column is refused, naming the field, and none of the record is stored', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-refuse-parquet-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = new Spool(root).create('dns', 'p');
  const encoder = new ParquetEncoder('dns', file);
  const good = numberedDns(1, '2026-11-23T18:00:00Z', { cnames: ['a.example', 'b.example'], addrs: [] });
  encoder.add(good);
  assert.throws(() => encoder.add(numberedDns(2, undefined, { pid: 1.5 })), /dns record: field pid = 1.5 does not fit/);
  assert.throws(() => encoder.add(numberedDns(3, undefined, { host: null as unknown as string })), /field host = null/);
  assert.throws(() => encoder.add(numberedDns(4, undefined, { ts: 'soon' })), /field ts = "soon"/);
  assert.throws(() => encoder.add(numberedDns(5, undefined, { addrs: ['1.2.3.4', 5 as unknown as string] })), /field addrs/);
  // The last field is the one refused: every field before it fitted and was still not stored.
  assert.throws(() => encoder.add(numberedDns(6, undefined, { server: 7 as unknown as string })), /field server = 7/);
  await encoder.finish();
  const back = await parquetRecords(readFileSync(await file.commit('dns.parquet')));
  assert.deepEqual(back, [good]);
  assert.equal(back[0]?.ts, '2026-11-23T18:00:00.000001Z');
});
