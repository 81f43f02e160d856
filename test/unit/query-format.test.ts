/* eslint-disable no-control-regex -- the tests look for raw control characters in output */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyWanted, listingPrefixes, parseStoredKey } from '../../src/query/keys.js';
import { csv, jsonLines, table } from '../../src/query/output.js';
import { timeRange } from '../../src/query/range.js';
import { isoFromMicros } from '../../src/query/values.js';

const result = {
  columns: ['host', 'bytes', 'addrs'],
  rows: [
    ['evil\u001b]0;pwned\u0007.example', 12, ['192.0.2.1', '2001:db8::1']],
    ['a,"b"\nc', null, []],
  ],
};

test('the table escapes control characters and aligns numbers', () => {
  const text = table(result);
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  assert.match(text, /evil\\x1b\]0;pwned\\x07\.example/);
  assert.match(text, /a,"b"\\x0ac/);
  assert.match(text, /\(2 rows\)\n$/);
  const [header, , first] = text.split('\n');
  assert.equal(header!.indexOf('bytes') + 'bytes'.length, first!.indexOf('12') + 2, 'numbers end under their header');
});

test('JSON lines and CSV keep the values; CSV escapes control characters only for a terminal', () => {
  assert.deepEqual(
    jsonLines(result)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown),
    [
      { host: 'evil\u001b]0;pwned\u0007.example', bytes: 12, addrs: ['192.0.2.1', '2001:db8::1'] },
      { host: 'a,"b"\nc', bytes: null, addrs: [] },
    ],
  );
  assert.equal(csv(result), 'host,bytes,addrs\r\nevil\u001b]0;pwned\u0007.example,12,"[""192.0.2.1"",""2001:db8::1""]"\r\n"a,""b""\nc",,[]\r\n');
  assert.doesNotMatch(csv(result, true), /\u001b/);
});

test('keys parse back into their partitions; others are ignored', () => {
  const key = 'hostflow/conn/dt=2026-11-23/hour=07/hostname=web-1/20261123T070000.000000Z-20261123T070059.000000Z-abc000001.parquet';
  assert.deepEqual(parseStoredKey(key, 'hostflow'), { key, type: 'conn', dt: '2026-11-23', hour: '07', hostname: 'web-1', format: 'parquet' });
  assert.equal(parseStoredKey(key.replace('.parquet', '.ndjson.gz'), 'hostflow')?.format, 'ndjson');
  assert.equal(parseStoredKey(key, 'other'), null);
  assert.equal(parseStoredKey('hostflow/.hostflow-probe-1', 'hostflow'), null);
  assert.equal(parseStoredKey('hostflow/conn/dt=2026-11-23/hour=07/hostname=web-1/.123-1.tmp', 'hostflow'), null);
  assert.equal(parseStoredKey(key.slice('hostflow/'.length), '')?.type, 'conn');
});

test('pruning keeps the hours that overlap the range, end excluded, and the hosts asked for', () => {
  const key = (dt: string, hour: string, hostname = 'h') => ({ key: '', type: 'dns' as const, dt, hour, hostname, format: 'ndjson' as const });
  const filter = { since: '2026-11-23T07:30:00.000000Z', until: '2026-11-23T09:00:00.000000Z', hostnames: [] };
  assert.deepEqual(
    ['06', '07', '08', '09'].map((hour) => keyWanted(key('2026-11-23', hour), filter)),
    [false, true, true, false],
  );
  assert.equal(keyWanted(key('2026-11-23', '08', 'b'), { ...filter, hostnames: ['a'] }), false);
  assert.deepEqual(listingPrefixes('hostflow', ['dns'], { ...filter, until: '2026-11-24T01:00:00.000000Z' }), [
    'hostflow/dns/dt=2026-11-23/',
    'hostflow/dns/dt=2026-11-24/',
  ]);
  assert.deepEqual(listingPrefixes('', ['dns', 'udp'], { hostnames: [] }), ['dns/', 'udp/']);
});

test('--since and --until take dates, times and spans back from now', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  assert.deepEqual(timeRange({ since: '2026-11-23', until: '2026-11-23T10:30' }, now), {
    since: '2026-11-23T00:00:00.000000Z',
    until: '2026-11-23T10:30:00.000000Z',
  });
  assert.deepEqual(timeRange({ since: '90m' }, now), { since: '2026-11-23T10:30:00.000000Z' });
  assert.deepEqual(timeRange({ since: '2026-11-23T12:00:00+02:00' }, now), { since: '2026-11-23T10:00:00.000000Z' });
  assert.throws(() => timeRange({ since: 'yesterday' }, now), /^HostflowError: query: --since "yesterday" is not a time/);
  assert.throws(() => timeRange({ since: '2h', until: '3h' }, now), /is not before --until/);
  assert.equal(isoFromMicros(1_763_923_564_123_456n), '2025-11-23T18:46:04.123456Z');
});
