/**
 * `hostflow query` over a bucket (s3rver): only the objects the time range
 * and hosts need are fetched, a second query reads the cache, and a
 * malformed object in the bucket is skipped by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runQuery } from '../../src/query/run-query.js';
import { BucketSource } from '../../src/query/sources.js';
import { storedFiles } from '../helpers/query/ddl-check.js';
import { tempDir, writeStored } from '../helpers/query/stored.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';
import { sampleRecords } from '../helpers/storage/sample-records.js';

test('a bucket query fetches only the pruned objects, once', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t);
  const records = sampleRecords(1000);
  await writeStored(dir, records, 'parquet', 'web-1');
  await writeStored(dir, records, 'ndjson', 'web-2');
  const files = storedFiles(join(dir, 'hostflow'));
  for (const file of files) await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `hostflow/${file.key}`, Body: file.body }));
  const bad = 'hostflow/dns/dt=2026-11-23/hour=11/hostname=web-1/20261123T110000.000000Z-20261123T110001.000000Z-zz000001.parquet';
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: bad, Body: 'not parquet' }));
  const cacheDir = tempDir(t, 'hostflow-query-cache-');
  const source = await BucketSource.open({ bucket: s3.bucket, prefix: 'hostflow', endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, cacheDir });
  t.after(() => source.close());
  const plan = {
    prefix: 'hostflow',
    range: { since: '2026-11-23T11:00:00.000000Z', until: '2026-11-23T12:00:00.000000Z' },
    hostnames: ['web-1'],
    sql: 'SELECT count(*) FROM dns',
    parameters: [],
  };
  const gets = () =>
    s3.requests
      .filter((request) => request.startsWith('GET /') && !request.includes('list-type'))
      .map((request) => decodeURIComponent(request.split('?')[0] as string));
  const log: string[] = [];
  const first = await runQuery(source, plan, (line) => log.push(line));
  const wanted = files.filter((file) => file.partitions.hostname === 'web-1' && file.partitions.hour === '11');
  assert.equal(wanted.length, 4);
  assert.deepEqual(gets().sort(), [...wanted.map((file) => `GET /${s3.bucket}/hostflow/${file.key}`), `GET /${s3.bucket}/${bad}`].sort());
  const expected = records.filter((record) => record.type === 'dns' && record.ts >= plan.range.since).length;
  assert.deepEqual(first.result.rows, [[expected]]);
  assert.deepEqual(
    first.skipped.map((skipped) => skipped.key),
    [bad],
  );
  assert.ok(log.some((line) => line.startsWith(`query: skipped malformed object ${bad}: `)));
  assert.ok(log.some((line) => /^query: fetched 5 of 5 objects \(\d+\.\d MB\) from s3:\/\/hostflow-test\/hostflow; 0 from the cache$/.test(line)));
  const before = gets().length;
  const second = await runQuery(source, plan, () => undefined);
  assert.equal(gets().length, before, 'the second query reads the cache');
  assert.deepEqual(second.result.rows, first.result.rows);
});
