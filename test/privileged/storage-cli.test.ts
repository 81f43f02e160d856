/**
 * Storage as the CLI runs it: hostflow traces loopback with both a
 * JSON-lines file and an S3-protocol server (s3rver) as sinks; the bucket
 * must hold exactly the records of the file. And a wrong bucket stops it
 * before anything is attached, with one line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, startHostflow } from '../helpers/hostflow.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch } from '../helpers/servers.js';
import { objectRecords } from '../helpers/storage/read-back.js';
import { canonical } from '../helpers/storage/sample-records.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

const env = { ...process.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey };

function spoolDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-cli-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('storage from the command line', privilegedSuite({ features: ['btf'] }), () => {
  for (const format of ['ndjson', 'parquet'] as const) {
    test(`the bucket holds exactly the records of the JSON-lines output (${format})`, async (t) => {
      const s3 = await TestS3.start(t);
      const server = await startTcpServer({ host: '127.0.0.1', bytes: 5000 });
      t.after(() => server.stop());
      const hostflow = await startHostflow(
        [
          '-i',
          'lo',
          '--flow-interval',
          '1',
          '--storage-bucket',
          s3.bucket,
          '--storage-endpoint',
          s3.endpoint,
          '--storage-format',
          format,
          '--storage-flush-interval',
          '1',
          '--spool-dir',
          spoolDir(t),
        ],
        { env },
      );
      for (let i = 0; i < 3; i++) await tcpFetch({ host: 'localhost', port: server.port, family: 4 });
      const { code, lines, stderr } = await hostflow.stop();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /storage: uploaded \d+ objects/);
      const stored = (await Promise.all((await s3.objects()).map((object) => objectRecords(object.key, object.body)))).flat();
      const conns = lines.filter((l) => l.type === 'conn' && l.dport === server.port);
      assert.ok(conns.length >= 6, 'the workload was recorded');
      assert.deepEqual(stored.map(canonical).sort(), lines.map(canonical).sort());
    });
  }

  test('a missing bucket stops hostflow before tracing, with one line', async (t) => {
    const s3 = await TestS3.start(t);
    const result = await run(
      process.execPath,
      [CLI, '-i', 'lo', '--duration', '1', '--storage-bucket', 'no-such-bucket', '--storage-endpoint', s3.endpoint, '--spool-dir', spoolDir(t)],
      {
        check: false,
        env,
      },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^hostflow: storage: bucket "no-such-bucket" does not exist/m);
    assert.doesNotMatch(result.stderr, /tracing; Ctrl-C/);
  });
});
