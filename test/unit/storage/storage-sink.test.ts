import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageSink } from '../../../src/storage/index.js';
import { objectRecords } from '../../helpers/storage/read-back.js';
import { canonical, numberedDns } from '../../helpers/storage/sample-records.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-sink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function files(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((path) => /\.(ndjson\.gz|parquet)$/.test(path)).sort();
}

test('a batch goes out when it reaches the flush interval, without waiting for close', async (t) => {
  const dir = tempDir(t);
  const sink = await StorageSink.open({ directory: join(dir, 'out'), spoolDir: join(dir, 'spool'), hostname: 'h', flushIntervalMs: 50 });
  t.after(() => sink.close({ deadlineMs: 0 }));
  const records = Array.from({ length: 10 }, (_, i) => numberedDns(i));
  for (const record of records) assert.equal(sink.write(record), true);
  assert.equal(sink.status().openRecords, 10);
  for (let waited = 0; sink.status().uploadedObjects < 1 && waited < 5000; waited += 10) await sleep(10);
  const [key, ...rest] = files(join(dir, 'out'));
  assert.equal(rest.length, 0);
  assert.match(key!, /^hostflow\/dns\/dt=2026-01-01\/hour=10\/hostname=h\/20260101T100000\.000000Z-20260101T100000\.000009Z-[0-9a-z]+\.ndjson\.gz$/);
  const stored = await objectRecords(key!, readFileSync(join(dir, 'out', key!)));
  assert.deepEqual(stored.map(canonical), records.map(canonical));
  const status = sink.status();
  assert.deepEqual([status.openRecords, status.backlogBatches, status.uploadedRecords, status.spoolBytes], [0, 0, 10, 0]);
});

test('a record that does not fit its Parquet column is counted and logged once; the others are stored', async (t) => {
  const dir = tempDir(t);
  const log: string[] = [];
  const sink = await StorageSink.open({ directory: join(dir, 'out'), spoolDir: join(dir, 'spool'), format: 'parquet', log: (line) => log.push(line) });
  assert.equal(sink.write(numberedDns(1)), true);
  assert.equal(sink.write(numberedDns(2, undefined, { pid: 2.5 })), false);
  assert.equal(sink.write(numberedDns(3, undefined, { ttl: -1.5 })), false);
  assert.equal(sink.write(numberedDns(4, undefined, { ts: 'not a time' })), false);
  const result = await sink.close({ deadlineMs: 5000 });
  assert.equal(result.invalidRecords, 3);
  assert.equal(result.uploadedRecords, 1);
  assert.match(result.lastError ?? '', /not an ISO-8601 time/);
  assert.deepEqual(log, ['storage: record not stored: dns record: field pid = 2.5 does not fit its Parquet column']);
});

test('a batch whose only record was refused leaves no object and no file behind', async (t) => {
  const dir = tempDir(t);
  const sink = await StorageSink.open({ directory: join(dir, 'out'), spoolDir: join(dir, 'spool'), format: 'parquet' });
  assert.equal(sink.write(numberedDns(1, undefined, { uid: 0.5 })), false);
  const result = await sink.close({ deadlineMs: 5000 });
  assert.deepEqual([result.invalidRecords, result.uploadedObjects, result.backlogBatches, result.lostRecords], [1, 0, 0, 0]);
  assert.deepEqual(files(join(dir, 'spool')), []);
  assert.deepEqual(
    (readdirSync(join(dir, 'spool'), { recursive: true }) as string[]).filter((path) => path.endsWith('.tmp')),
    [],
  );
});

test('writes after close are refused and counted; close is idempotent', async (t) => {
  const dir = tempDir(t);
  const sink = await StorageSink.open({ directory: join(dir, 'out'), spoolDir: join(dir, 'spool') });
  sink.write(numberedDns(1));
  const first = sink.close({ deadlineMs: 5000 });
  assert.equal(sink.write(numberedDns(2)), false);
  assert.equal(sink.close({ deadlineMs: 5000 }), first);
  const result = await first;
  assert.equal(result.uploadedRecords, 1);
  assert.equal(sink.status().refusedRecords, 1);
});
