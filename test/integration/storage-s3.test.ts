/**
 * The storage sink against a real S3-protocol server (s3rver on loopback):
 * what the sink writes is listed and read back with the AWS SDK, NDJSON
 * with zlib, Parquet with hyparquet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { HostflowError } from '../../src/errors.js';
import { LineSink } from '../../src/output/line-sink.js';
import { RECORD_TYPES, type HostflowRecord } from '../../src/records/types.js';
import { StorageSink, type StorageOptions } from '../../src/storage/index.js';
import { misplaced, ndjsonLines, objectRecords, parseKey } from '../helpers/storage/read-back.js';
import { canonical, numberedDns, sampleRecords } from '../helpers/storage/sample-records.js';
import { S3RVER_CREDENTIALS, TestS3, freePort } from '../helpers/storage/s3-server.js';

function tempDir(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hostflow-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function s3Options(s3: TestS3, spoolDir: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    spoolDir,
    hostname: 'web-1',
    flushIntervalMs: 200,
    retry: { baseMs: 20, maxMs: 200 },
    ...extra,
  };
}

function files(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)))
    .sort();
}

for (const format of ['ndjson', 'parquet'] as const) {
  test(`${format}: the bucket holds exactly the records of the JSON-lines output, each under its partition`, async (t) => {
    const s3 = await TestS3.start(t);
    const dir = tempDir(t, 'roundtrip');
    const output = join(dir, 'records.jsonl');
    const lines = new LineSink({ path: output });
    const sink = await StorageSink.open(s3Options(s3, join(dir, 'spool'), { format }));
    const records = sampleRecords(2500);
    // As the session drives its sinks: every record to each.
    for (const record of records) {
      lines.write(JSON.stringify(record));
      assert.equal(sink.write(record), true);
    }
    lines.close();
    const result = await sink.close({ deadlineMs: 10_000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.backlogBatches, 0);
    assert.equal(result.uploadedRecords, records.length);

    const expectedLines = readFileSync(output, 'utf8').trimEnd().split('\n');
    const objects = await s3.objects();
    // 4 types x 2 hours.
    assert.equal(objects.length, 2 * RECORD_TYPES.length);
    const stored: HostflowRecord[] = [];
    for (const object of objects) {
      const parsed = parseKey(object.key);
      assert.ok(parsed, object.key);
      assert.equal(parsed.prefix, 'hostflow');
      assert.equal(parsed.host, 'web-1');
      assert.equal(parsed.extension, format === 'ndjson' ? 'ndjson.gz' : 'parquet');
      const objectRecordsRead = await objectRecords(object.key, object.body);
      assert.equal(misplaced(object.key, objectRecordsRead), null);
      assert.equal(object.metadata.records, String(objectRecordsRead.length));
      assert.equal(object.contentType, format === 'ndjson' ? 'application/gzip' : 'application/vnd.apache.parquet');
      if (format === 'ndjson') {
        // The very lines of the JSON-lines output.
        for (const line of ndjsonLines(object.body)) assert.ok(expectedLines.includes(line));
      }
      stored.push(...objectRecordsRead);
    }
    const expected = expectedLines.map((line) => canonical(JSON.parse(line) as object)).sort();
    assert.deepEqual(stored.map(canonical).sort(), expected);
    assert.deepEqual(readdirSync(join(dir, 'spool')), [], 'the spool is empty');
  });

  test(`${format}: batches are cut before an object passes --storage-max-object-mb`, async (t) => {
    const s3 = await TestS3.start(t);
    const dir = tempDir(t, 'maxobject');
    const maxObjectBytes = 48 * 1024;
    const sink = await StorageSink.open(s3Options(s3, join(dir, 'spool'), { format, maxObjectBytes, flushIntervalMs: 60_000 }));
    const records = sampleRecords(12_000);
    for (const record of records) sink.write(record);
    await sink.close({ deadlineMs: 10_000 });
    const objects = await s3.objects();
    assert.ok(objects.length > 6, `${objects.length} objects`);
    const stored: HostflowRecord[] = [];
    for (const object of objects) {
      assert.ok(object.body.length <= maxObjectBytes, `${object.key}: ${object.body.length} bytes`);
      const read = await objectRecords(object.key, object.body);
      assert.equal(misplaced(object.key, read), null);
      stored.push(...read);
    }
    assert.deepEqual(stored.map(canonical).sort(), records.map(canonical).sort());
  });
}

test('a large object goes up as a multipart upload and arrives whole', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t, 'multipart');
  const partSizeBytes = 5 * 1024 * 1024;
  const sink = await StorageSink.open(s3Options(s3, join(dir, 'spool'), { partSizeBytes, flushIntervalMs: 60_000 }));
  const records: HostflowRecord[] = [];
  for (let i = 0; i < 30_000; i++) {
    // Hex text compresses to about half: the object passes one part.
    let name = '';
    for (let j = 0; j < 26; j++) name += Math.floor(Math.random() * 2 ** 52).toString(16);
    records.push(numberedDns(i, undefined, { host: `${name}.example` }));
  }
  for (const record of records) sink.write(record);
  const result = await sink.close({ deadlineMs: 30_000 });
  assert.equal(result.backlogBatches, 0);
  const [object, ...rest] = await s3.objects();
  assert.equal(rest.length, 0);
  assert.ok(object!.body.length > partSizeBytes, `${object!.body.length} bytes`);
  const parts = s3.requests.filter((request) => request.startsWith('PUT') && /[?&]partNumber=\d+/.test(request));
  assert.ok(
    s3.requests.some((request) => request.startsWith('POST') && /[?&]uploads/.test(request)),
    'a multipart upload was created',
  );
  assert.equal(parts.length, Math.ceil(object!.body.length / partSizeBytes));
  assert.deepEqual(
    ndjsonLines(object!.body),
    records.map((r) => JSON.stringify(r)),
  );
});

test('--storage-dir writes the same objects under the same keys as the bucket', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t, 'storagedir');
  const records = sampleRecords(3000);
  for (const format of ['ndjson', 'parquet'] as const) {
    const common = { runId: `same${format}`, hostname: 'web-1', flushIntervalMs: 60_000, format };
    const bucketSink = await StorageSink.open(s3Options(s3, join(dir, `spool-s3-${format}`), common));
    const folder = join(dir, `out-${format}`);
    const dirSink = await StorageSink.open({ directory: folder, spoolDir: join(dir, `spool-dir-${format}`), ...common });
    for (const record of records) {
      bucketSink.write(record);
      dirSink.write(record);
    }
    await bucketSink.close({ deadlineMs: 10_000 });
    const result = await dirSink.close({ deadlineMs: 10_000 });
    assert.equal(result.destination, folder);
    assert.equal(result.uploadedRecords, records.length);
  }
  const keys = await s3.keys();
  const written = [...files(join(dir, 'out-ndjson')), ...files(join(dir, 'out-parquet'))].sort();
  // 2 formats x 4 types x 2 hours.
  assert.equal(keys.length, 2 * RECORD_TYPES.length * 2);
  assert.deepEqual(written, keys);
  for (const key of keys) {
    const local = readFileSync(join(dir, key.endsWith('.parquet') ? 'out-parquet' : 'out-ndjson', key));
    assert.deepEqual(local, (await s3.get(key)).body, key);
  }
});

function oneLine(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof HostflowError, String(error));
    assert.ok(!error.message.includes('\n'), error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

test('preflight: a missing bucket is one clear line, before anything is written', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t, 'preflight');
  await assert.rejects(
    StorageSink.open({ ...s3Options(s3, join(dir, 'spool')), bucket: 'no-such-bucket' }),
    oneLine(new RegExp(`^storage: bucket "no-such-bucket" does not exist at http://127\\.0\\.0\\.1:${s3.port}$`)),
  );
});

test('preflight: a server that is down is one clear line', async (t) => {
  const dir = tempDir(t, 'preflight');
  const port = await freePort();
  await assert.rejects(
    StorageSink.open({ bucket: 'flows', endpoint: `http://127.0.0.1:${port}`, credentials: S3RVER_CREDENTIALS, spoolDir: join(dir, 'spool') }),
    oneLine(new RegExp(`^storage: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`)),
  );
});

test('preflight: wrong credentials are one clear line', async (t) => {
  const s3 = await TestS3.start(t);
  const dir = tempDir(t, 'preflight');
  await assert.rejects(
    StorageSink.open({ ...s3Options(s3, join(dir, 'spool')), credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'nothing' } }),
    oneLine(/does not know the access key/),
  );
  // s3rver does not check v4 signatures, so a wrong secret key is covered by the unit tests of describeS3Error.
});

test('preflight: a --storage-dir or --spool-dir that cannot be written is one clear line', async (t) => {
  const dir = tempDir(t, 'preflight');
  const plainFile = join(dir, 'file');
  writeFileSync(plainFile, '');
  await assert.rejects(
    StorageSink.open({ directory: join(plainFile, 'out'), spoolDir: join(dir, 'spool') }),
    oneLine(/^storage: cannot write to --storage-dir .*file\/out \(ENOTDIR\)/),
  );
  await assert.rejects(
    StorageSink.open({ directory: join(dir, 'out'), spoolDir: join(plainFile, 'spool') }),
    oneLine(/^storage: cannot use the spool folder .*\(ENOTDIR\)/),
  );
});
