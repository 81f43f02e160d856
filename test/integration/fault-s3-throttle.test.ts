/**
 * S3 that throttles and a network that fails, through the fault proxy in
 * front of s3rver: 503 SlowDown, 500, connections cut mid-request and
 * mid-answer (after the server stored the object), slow answers. Every
 * record reaches the bucket exactly once, no retry of a throttled upload
 * comes sooner than the throttled wait allows, and the UI line, the
 * summary and `ctl stats` show the retries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { storageOutput } from '../../src/output/sinks.js';
import { FaultProxy, randomSchedule } from '../helpers/storage/fault-proxy.js';
import { ndjsonLines } from '../helpers/storage/read-back.js';
import { numberedDns } from '../helpers/storage/sample-records.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

const RETRY = { baseMs: 20, maxMs: 800, throttleBaseMs: 200 };
/** The shortest wait after a throttled attempt: half the first throttled ceiling. */
const THROTTLED_FLOOR_MS = RETRY.throttleBaseMs / 2;

test('throttling, 500s, cut connections and slow answers: every record in the bucket exactly once, throttled retries wait, retries are shown', async (t) => {
  const s3 = await TestS3.start(t);
  const schedule = randomSchedule(18, 60, { slowdown: 4, error500: 2, 'reset-request': 2, 'reset-response': 2, delay: 1, pass: 3 });
  const proxy = await FaultProxy.start(t, { upstreamPort: s3.port, schedule, delayMs: 250 });
  const spoolDir = mkdtempSync(join(tmpdir(), 'hostflow-throttle-'));
  t.after(() => rmSync(spoolDir, { recursive: true, force: true }));
  const log: string[] = [];
  const sink = await storageOutput(
    {
      bucket: s3.bucket,
      endpoint: proxy.endpoint,
      credentials: S3RVER_CREDENTIALS,
      spoolDir,
      hostname: 'throttled-host',
      flushIntervalMs: 40,
      retry: RETRY,
    },
    (line) => log.push(line),
  );

  // 3000 records over about 1.5 s: a few dozen batches, some uploading at once.
  const count = 3000;
  for (let id = 0; id < count; id++) {
    sink.write(numberedDns(id));
    if (id % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const summary = (await sink.close()) ?? [];
  const status = sink.status?.();
  const stats = sink.stats?.() ?? {};

  // Exactly once.
  const ids = (await s3.objects()).flatMap((object) => ndjsonLines(object.body).map((line) => (JSON.parse(line) as { pid: number }).pid));
  assert.equal(ids.length, count, 'as many records in the bucket as written');
  assert.equal(new Set(ids).size, count, 'none twice');
  assert.equal(stats.storage_uploaded_records, count);
  assert.equal(stats.storage_backlog_batches, 0);

  // Every fault met was one failed attempt, retried; the throttled ones counted apart.
  const met = proxy.counts();
  assert.ok(met.slowdown >= 5 && met.error500 + met['reset-request'] + met['reset-response'] >= 5, JSON.stringify(met));
  const failed = met.slowdown + met.error500 + met['reset-request'] + met['reset-response'];
  assert.equal(stats.storage_upload_retries, failed);
  assert.equal(stats.storage_upload_throttled, met.slowdown);

  // No upload starts sooner after a throttled answer than the throttled wait (requests already on their way excepted).
  const uploads = proxy.log.filter((entry) => entry.method === 'PUT' && !entry.url.includes('/_hostflow/'));
  for (const throttled of uploads.filter((entry) => entry.fault === 'slowdown')) {
    const answeredAt = throttled.answeredAt as number;
    const next = uploads.find((entry) => entry.at > answeredAt + 20);
    if (next) assert.ok(next.at - answeredAt >= THROTTLED_FLOOR_MS, `an upload ${next.at - answeredAt} ms after a SlowDown`);
  }

  // Shown: the UI's storage line, the summary, the log.
  assert.match(status?.text ?? '', new RegExp(`retries ${failed} \\(throttled ${met.slowdown}\\)`));
  const retriesLine = summary.find((line) => line.topic === 'storage' && line.health === 'note');
  assert.equal(
    retriesLine?.text.startsWith(`${failed} upload attempts failed (${met.slowdown} throttled: waited longer) and were retried`),
    true,
    retriesLine?.text,
  );
  assert.ok(!summary.some((line) => line.health === 'problem'), 'nothing lost');
  assert.ok(log.some((line) => /^storage: uploads to .* work again after \d+ failed attempts/.test(line)));
});
