import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANNED_QUESTIONS } from '../../src/query/canned.js';
import { runQueryCli } from '../../src/query/cli.js';
import { runSchemaCli } from '../../src/schema/cli.js';
import { describeS3Error } from '../../src/storage/s3-errors.js';
import { tempDir, writeStored } from '../helpers/query/stored.js';
import { sampleRecords } from '../helpers/storage/sample-records.js';

function io(terminal = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: { write: (text: string) => out.push(text), isTTY: terminal }, stderr: { write: (text: string) => err.push(text) } },
  };
}

test('--print-sql shows the canned question; one question or one statement, not both', async () => {
  const printed = io();
  assert.equal(await runQueryCli(['--who-reached', '192.0.2.1', '--print-sql'], printed.io), 0);
  assert.equal(printed.out.join(''), `${CANNED_QUESTIONS.whoReached.sql().trim()}\n`);
  const both = io();
  assert.equal(await runQueryCli(['--storage-dir', '/tmp', '--top-hosts', 'SELECT 1'], both.io), 1);
  assert.match(both.err.join(''), /^hostflow: query: give one SQL statement or one of --top-hosts, --who-resolved, --who-reached, --unresolved\n$/);
  const none = io();
  assert.equal(await runQueryCli(['--top-hosts'], none.io), 1);
  assert.equal(none.err.join(''), 'hostflow: storage: give --storage-bucket or --storage-dir\n');
  const bad = io();
  assert.equal(await runQueryCli(['--format', 'xml', '--top-hosts'], bad.io), 2);
  assert.match(bad.err.join(''), /^hostflow query: option '--format <format>' argument 'xml' is invalid/);
});

test('a terminal gets a table, a pipe JSON lines', async (t) => {
  const dir = tempDir(t);
  await writeStored(dir, sampleRecords(100), 'ndjson', 'h');
  const args = ['--storage-dir', dir, 'SELECT hostname, count(*) AS n FROM dns GROUP BY ALL'];
  const terminal = io(true);
  assert.equal(await runQueryCli(args, terminal.io), 0);
  assert.equal(terminal.out.join(''), 'hostname   n\n--------  --\nh         25\n(1 row)\n');
  const pipe = io(false);
  assert.equal(await runQueryCli(args, pipe.io), 0);
  assert.equal(pipe.out.join(''), '{"hostname":"h","n":25}\n');
  assert.deepEqual(pipe.err, []);
});

test('schema prints each dialect for a bucket, and needs a location', () => {
  const printed = io();
  assert.equal(runSchemaCli(['--dialect', 'trino', '--storage-bucket', 'fleet-flows', '--type', 'dns'], printed.io), 0);
  const text = printed.out.join('');
  assert.match(text, /^-- hostflow tables for Trino 400 or newer, Hive connector, parquet objects under s3:\/\/fleet-flows\/hostflow\n/);
  assert.match(text, /external_location = 's3:\/\/fleet-flows\/hostflow\/dns\/'/);
  assert.match(text, /CALL "hive"\.system\.sync_partition_metadata\('hostflow', 'dns', 'ADD'\);\n$/);
  const missing = io();
  assert.equal(runSchemaCli(['--dialect', 'spark'], missing.io), 1);
  assert.equal(missing.err.join(''), 'hostflow: schema: give --storage-bucket, --storage-dir or --location\n');
});

test('reading a bucket says what reading needs', () => {
  const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  assert.equal(
    describeS3Error(denied, 'b', 's3://b/hostflow', 'AWS S3', 'read'),
    'storage: access denied reading s3://b/hostflow: the credentials need s3:ListBucket and s3:GetObject there',
  );
  assert.match(describeS3Error(denied, 'b', 's3://b/hostflow', 'AWS S3'), /writing to s3:\/\/b\/hostflow: the credentials need s3:PutObject/);
});
