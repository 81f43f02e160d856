import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostflowError } from '../../../src/errors.js';
import { storageOptionsFromFlags, validateStorageOptions } from '../../../src/storage/options.js';

test('no bucket and no folder: no storage', () => {
  assert.equal(storageOptionsFromFlags({}), undefined);
  assert.throws(() => storageOptionsFromFlags({ storageEndpoint: 'http://127.0.0.1:9000' }), /need --storage-bucket/);
});

test('flags become options with the documented defaults, in ms and bytes', () => {
  assert.deepEqual(storageOptionsFromFlags({ storageBucket: 'flows' }), {
    bucket: 'flows',
    prefix: 'hostflow',
    format: 'ndjson',
    flushIntervalMs: 60_000,
    maxObjectBytes: 64 * 1024 * 1024,
    spoolDir: '/var/lib/hostflow/spool',
    spoolMaxBytes: 1024 * 1024 * 1024,
  });
  const options = storageOptionsFromFlags({
    storageBucket: 'flows',
    storageEndpoint: 'http://127.0.0.1:9000',
    storageRegion: 'eu-west-1',
    storagePrefix: 'fleet/a',
    storageFormat: 'parquet',
    storageFlushInterval: 2.5,
    storageMaxObjectMb: 8,
    spoolDir: '/tmp/spool',
    spoolMaxMb: 16,
  });
  assert.deepEqual(options, {
    bucket: 'flows',
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-west-1',
    prefix: 'fleet/a',
    format: 'parquet',
    flushIntervalMs: 2500,
    maxObjectBytes: 8 * 1024 * 1024,
    spoolDir: '/tmp/spool',
    spoolMaxBytes: 16 * 1024 * 1024,
  });
  assert.equal(storageOptionsFromFlags({ storageDir: '/srv/flows' })?.directory, '/srv/flows');
});

test('options that cannot work are one line each', () => {
  const cases: [object, RegExp][] = [
    [{ bucket: 'a-bucket', directory: '/x' }, /exclude each other/],
    [{}, /give --storage-bucket or --storage-dir/],
    [{ bucket: 'Not_A_Bucket' }, /not a valid bucket name/],
    [{ bucket: 'flows', endpoint: 'localhost:9000' }, /not an http\(s\) URL/],
    [{ bucket: 'flows', format: 'csv' }, /ndjson or parquet/],
    [{ bucket: 'flows', flushIntervalMs: 0 }, /--storage-flush-interval must be a positive number/],
    [{ bucket: 'flows', maxObjectBytes: 100 }, /too small/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => validateStorageOptions(options),
      (error: unknown) => error instanceof HostflowError && message.test(error.message) && !error.message.includes('\n'),
      JSON.stringify(options),
    );
  }
});

test('--output-follows-storage needs storage and an output file', () => {
  assert.throws(
    () => storageOptionsFromFlags({ outputFollowsStorage: true, output: 'out.jsonl' }),
    /^HostflowError: --output-follows-storage needs --storage-bucket or --storage-dir$/,
  );
  assert.throws(() => storageOptionsFromFlags({ storageDir: '/tmp/objects', outputFollowsStorage: true }), /--output-follows-storage needs --output FILE/);
  assert.equal(storageOptionsFromFlags({ storageDir: '/tmp/objects', outputFollowsStorage: true, output: 'out.jsonl' })?.followOutput, true);
  assert.equal(storageOptionsFromFlags({ storageDir: '/tmp/objects', output: 'out.jsonl' })?.followOutput, undefined);
});
