/**
 * The storage sink while its endpoint goes away: records wait in the
 * spool, uploads retry with backoff, and every record arrives exactly
 * once when the endpoint is back; a spool that fills up refuses records
 * loudly and counts them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostflowRecord } from '../../src/records/types.js';
import { StorageSink, type StorageStatus } from '../../src/storage/index.js';
import { objectRecords } from '../helpers/storage/read-back.js';
import { numberedDns } from '../helpers/storage/sample-records.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-outage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Every record's pid (its number) in the bucket, with repeats. */
async function storedIds(s3: TestS3): Promise<number[]> {
  const ids: number[] = [];
  for (const object of await s3.objects()) {
    for (const record of await objectRecords(object.key, object.body)) ids.push(record.pid as number);
  }
  return ids.sort((a, b) => a - b);
}

/** Writes numbered records in small bursts until `stop()` (at the latest when the test ends); returns the numbers written. */
function writer(t: { after(fn: () => void): void }, sink: StorageSink, make: (id: number) => HostflowRecord = (id) => numberedDns(id)) {
  let next = 0;
  const accepted: number[] = [];
  const timer = setInterval(() => {
    for (let i = 0; i < 25; i++, next++) if (sink.write(make(next))) accepted.push(next);
  }, 5);
  t.after(() => clearInterval(timer));
  return {
    accepted,
    get written() {
      return next;
    },
    stop: () => clearInterval(timer),
  };
}

test('the endpoint stops mid-run and comes back: every record arrives exactly once', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t);
  const log: string[] = [];
  const sink = await StorageSink.open({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    spoolDir: join(dir, 'spool'),
    hostname: 'web-1',
    flushIntervalMs: 40,
    retry: { baseMs: 20, maxMs: 150 },
    log: (line) => log.push(line),
  });
  t.after(() => sink.close({ deadlineMs: 0 }));
  const records = writer(t, sink);
  await until('uploads', () => sink.status().uploadedObjects >= 3);
  await s3.stop();
  await until('failed uploads', () => sink.status().failures >= 3);
  await until('a backlog', () => sink.status().backlogBatches >= 3);
  const during: StorageStatus = sink.status();
  assert.equal(during.failing, true);
  assert.ok(during.lastError, 'the last error is reported');
  await s3.resume();
  await until('the backlog to clear', () => !sink.status().failing && sink.status().backlogBatches === 0);
  records.stop();
  const result = await sink.close({ deadlineMs: 10_000 });
  assert.equal(result.timedOut, false);
  assert.equal(result.backlogBatches, 0);
  assert.equal(result.refusedRecords, 0);
  assert.equal(result.uploadedRecords, records.written);

  const ids = await storedIds(s3);
  assert.equal(ids.length, records.written, 'no record twice, none missing');
  assert.deepEqual(
    ids,
    Array.from({ length: records.written }, (_, i) => i),
  );
  assert.ok(
    log.some((line) => /upload of .* failed \(.*ECONNREFUSED.*\); retrying with backoff/.test(line)),
    log.join('\n'),
  );
  assert.ok(
    log.some((line) => /work again after \d+ failed attempts/.test(line)),
    log.join('\n'),
  );
});

test('a full spool refuses records, counts them and says so; it takes records again once uploads make room', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t);
  const log: string[] = [];
  const spoolMaxBytes = 64 * 1024;
  const sink = await StorageSink.open({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    spoolDir: join(dir, 'spool'),
    spoolMaxBytes,
    hostname: 'web-1',
    flushIntervalMs: 20,
    retry: { baseMs: 20, maxMs: 100 },
    log: (line) => log.push(line),
  });
  t.after(() => sink.close({ deadlineMs: 0 }));
  await s3.stop();
  // Random names hardly compress, so the spool fills quickly.
  const records = writer(t, sink, (id) =>
    numberedDns(id, undefined, { host: `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}.example` }),
  );
  await until('a full spool', () => sink.status().spoolFull);
  await until('refused records', () => sink.status().refusedRecords > 100);
  const full = sink.status();
  // Full at the limit; it takes records again below 90% of it.
  assert.ok(full.spoolBytes >= spoolMaxBytes * 0.9, `${full.spoolBytes} bytes`);
  assert.ok(full.spoolBytes < spoolMaxBytes * 2, `${full.spoolBytes} bytes: the limit holds`);
  assert.ok(
    log.some((line) => line.startsWith('storage: spool FULL') && line.includes('REFUSED')),
    log.join('\n'),
  );

  await s3.resume();
  await until('room in the spool', () => !sink.status().spoolFull);
  const acceptedBefore = records.accepted.length;
  await until('records taken again', () => records.accepted.length > acceptedBefore + 100);
  records.stop();
  const result = await sink.close({ deadlineMs: 10_000 });
  assert.ok(
    log.some((line) => /spool has room again .*; \d+ records were refused/.test(line)),
    log.join('\n'),
  );
  assert.equal(result.refusedRecords, records.written - records.accepted.length, 'every refused record is counted');
  assert.equal(result.backlogBatches, 0);
  assert.deepEqual(await storedIds(s3), records.accepted, 'exactly the accepted records arrive');
});

test('close waits for uploads only until its deadline; what is left stays in the spool for the next start', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t);
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    spoolDir: join(dir, 'spool'),
    hostname: 'web-1',
    flushIntervalMs: 60_000,
    retry: { baseMs: 20, maxMs: 100 },
  };
  const sink = await StorageSink.open(options);
  await s3.stop();
  for (let i = 0; i < 1000; i++) sink.write(numberedDns(i, i < 500 ? '2026-01-01T10:00:00Z' : '2026-01-01T11:00:00Z'));
  const started = Date.now();
  const result = await sink.close({ deadlineMs: 300 });
  assert.ok(Date.now() - started < 3000, 'close keeps to its deadline');
  assert.equal(result.timedOut, true);
  assert.equal(result.backlogBatches, 2);
  assert.equal(result.backlogRecords, 1000);
  assert.equal(sink.write(numberedDns(5000)), false, 'writes after close are refused');

  await s3.resume();
  const log: string[] = [];
  const next = await StorageSink.open({ ...options, log: (line) => log.push(line) });
  assert.equal(next.status().recoveredBatches, 2);
  assert.ok(
    log.some((line) => /uploading 2 batches \(1000 records, .*\) an earlier run left/.test(line)),
    log.join('\n'),
  );
  const after = await next.close({ deadlineMs: 10_000 });
  assert.equal(after.uploadedRecords, 1000);
  assert.deepEqual(
    await storedIds(s3),
    Array.from({ length: 1000 }, (_, i) => i),
  );
});
