/**
 * The fault proxy on its own, in front of a real s3rver: each fault of
 * its schedule does what it says to an S3 client making one attempt per
 * call, and a seeded schedule is the same every time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FaultProxy, randomSchedule, type Fault } from '../helpers/storage/fault-proxy.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

test('each fault of the schedule, in order: SlowDown, 500, a cut request, a cut answer after the server stored it, a delay, then pass', async (t) => {
  const s3 = await TestS3.start(t);
  const schedule: Fault[] = ['slowdown', 'error500', 'reset-request', 'reset-response', 'delay'];
  const proxy = await FaultProxy.start(t, { upstreamPort: s3.port, schedule, delayMs: 400 });
  const client = new S3Client({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  t.after(() => client.destroy());
  const put = (key: string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: `body of ${key}\n` }));

  await assert.rejects(put('a'), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.name, 'SlowDown');
    assert.equal(error.$metadata?.httpStatusCode, 503);
    return true;
  });
  await assert.rejects(put('b'), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.name, 'InternalError');
    assert.equal(error.$metadata?.httpStatusCode, 500);
    return true;
  });
  await assert.rejects(put('c'), (error: Error & { code?: string }) => {
    assert.match(`${error.code ?? ''} ${error.message}`, /ECONNRESET|socket hang up|aborted/i);
    return true;
  });
  await assert.rejects(put('d'), 'the client never learns that the upload worked');
  const started = Date.now();
  await put('e');
  assert.ok(Date.now() - started >= 380, 'the delay held the answer');
  await put('f');

  assert.deepEqual(await s3.keys(), ['d', 'e', 'f'], 'a cut answer came after the server stored the object; refused or cut requests stored nothing');
  const stored = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'd' }));
  assert.equal(await stored.Body?.transformToString(), 'body of d\n');
  assert.deepEqual(
    proxy.log.map((entry) => entry.fault),
    ['slowdown', 'error500', 'reset-request', 'reset-response', 'delay', 'pass', 'pass'],
    'the GET passes: only uploads take faults',
  );
  assert.ok(proxy.log.every((entry) => entry.answeredAt !== null && entry.answeredAt >= entry.at));
});

test('a seeded schedule is the same for the same seed, and holds each weighted fault', () => {
  const weights = { slowdown: 3, error500: 1, 'reset-request': 1, 'reset-response': 1, delay: 1, pass: 3 };
  const first = randomSchedule(18, 200, weights);
  assert.deepEqual(randomSchedule(18, 200, weights), first);
  assert.notDeepEqual(randomSchedule(19, 200, weights), first);
  for (const fault of Object.keys(weights)) assert.ok(first.includes(fault as Fault), `${fault} drawn`);
  const slowdowns = first.filter((fault) => fault === 'slowdown').length;
  assert.ok(slowdowns > 30 && slowdowns < 90, `${slowdowns} slowdowns of 200 at weight 3 of 10`);
});
