/**
 * hostflow killed with SIGKILL mid-run: the batches it had spooled are
 * uploaded by the next start, under the keys they were given, none twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { StorageSink } from '../../src/storage/index.js';
import { objectRecords } from '../helpers/storage/read-back.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

const CHILD = fileURLToPath(new URL('../helpers/storage/crash-child.js', import.meta.url));

interface ChildStatus {
  written: number;
  spooledRecords: number;
  uploadedObjects: number;
  backlogBatches: number;
  failures: number;
}

function spoolKeys(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map((path) => relative(root, join(root, path)))
    .filter((path) => /#\d+$/.test(path))
    .map((path) => path.replace(/#\d+$/, ''))
    .sort();
}

const scenarios = [
  { name: 'while the endpoint is down', endpointDown: true },
  { name: 'while uploads are on their way', endpointDown: false },
];

for (const { name, endpointDown } of scenarios)
  test(`killed with SIGKILL ${name}: the next start uploads the spooled batches under their keys, none twice`, async (t) => {
    const s3 = await TestS3.start(t);
    const dir = mkdtempSync(join(tmpdir(), 'hostflow-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const spoolDir = join(dir, 'spool');

    const child = spawn(process.execPath, [CHILD, spoolDir, s3.endpoint, s3.bucket], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        AWS_REGION: 'us-east-1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let last: ChildStatus | null = null;
    const lines = createInterface({ input: child.stdout });
    const reached = (condition: (status: ChildStatus) => boolean) =>
      new Promise<void>((resolve, reject) => {
        if (last && condition(last)) return resolve();
        const onLine = (line: string) => {
          last = JSON.parse(line) as ChildStatus;
          if (condition(last)) {
            lines.off('line', onLine);
            resolve();
          }
        };
        lines.on('line', onLine);
        void exited.then(() => reject(new Error(`the child exited early: ${stderr}`)));
      });

    // Some batches uploaded; then the endpoint goes away and batches pile up in the spool, or not.
    await reached((status) => status.uploadedObjects >= 3);
    if (endpointDown) {
      await s3.stop();
      await reached((status) => status.backlogBatches >= 3 && status.failures >= 1);
    } else {
      await reached((status) => status.uploadedObjects >= 10 && status.backlogBatches >= 1);
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const atKill = last as unknown as ChildStatus;
    const leftovers = spoolKeys(spoolDir);
    if (endpointDown) assert.ok(leftovers.length >= 3, `${leftovers.length} batches left in the spool`);

    await s3.resume();
    const log: string[] = [];
    const sink = await StorageSink.open({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      spoolDir,
      hostname: 'crash-host',
      log: (line) => log.push(line),
    });
    assert.equal(sink.status().recoveredBatches, leftovers.length);
    const result = await sink.close({ deadlineMs: 10_000 });
    assert.equal(result.backlogBatches, 0);
    assert.deepEqual(spoolKeys(spoolDir), [], 'the spool is empty');

    const keys = await s3.keys();
    for (const key of leftovers) assert.ok(keys.includes(key), `${key} uploaded under its original key`);
    const ids: number[] = [];
    for (const object of await s3.objects()) {
      for (const record of await objectRecords(object.key, object.body)) ids.push(record.pid as number);
    }
    ids.sort((a, b) => a - b);
    const unique = new Set(ids);
    assert.equal(unique.size, ids.length, 'no record twice');
    // Every record spooled before the kill arrived; only the open batch died with the process.
    for (let id = 0; id < atKill.spooledRecords; id++) assert.ok(unique.has(id), `record ${id} arrived`);
  });
