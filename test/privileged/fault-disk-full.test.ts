/**
 * A full disk under the output file and under the spool (a small tmpfs
 * filled to the last byte): hostflow keeps tracing, counts the records it
 * could not write (summary, `ctl stats`), and writes again once the space
 * is back. What it acknowledged is there exactly once: the output file
 * holds whole lines only, as many as it says it wrote; the bucket holds
 * every record the spool took, each once, and the output's other records
 * are exactly the ones it counts as lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { privilegedSuite } from '../helpers/privileged.js';
import { connections, startEchoServer, startFaultRun, until } from '../helpers/storage/fault-run.js';
import { ndjsonLines } from '../helpers/storage/read-back.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';
import { SmallDisk } from '../helpers/storage/small-disk.js';

const env = { ...process.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey };

function workDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-fault-disk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The conn records of connections to `port` (either end). */
const ofPort = (lines: string[], port: number) =>
  lines.filter((line) => {
    const record = JSON.parse(line) as { type: string; sport?: number; dport?: number };
    return record.type === 'conn' && (record.dport === port || record.sport === port);
  });

const total = (records: Record<string, number>) => Object.values(records).reduce((sum, n) => sum + n, 0);

describe('a full disk', privilegedSuite({ features: ['btf'], commands: ['mount', 'umount'] }), () => {
  test('under --output: lines are dropped and counted, tracing goes on, writing resumes; the file holds whole lines, as many as counted', async (t) => {
    const disk = await SmallDisk.mount(t, 1024);
    const dir = workDir(t);
    const output = join(disk.path, 'records.jsonl');
    const servers = [await startEchoServer(), await startEchoServer(), await startEchoServer()];
    t.after(() => Promise.all(servers.map((server) => server.close())).then(() => undefined));
    const [before, during, after] = servers.map((server) => server.port) as [number, number, number];
    const hostflow = await startFaultRun({ output, socket: join(dir, 'ctl.sock'), summaryJson: join(dir, 'summary.json') }, ['-i', 'lo']);
    t.after(() => hostflow.process.stop({ signal: 'SIGKILL' }).then(() => undefined));

    await connections(before, 20);
    await until('the first connections are in the file', () => ofPort(readFileSync(output, 'utf8').trimEnd().split('\n').filter(Boolean), before).length >= 20);
    disk.fill();
    await connections(during, 100);
    await until('lines are counted as dropped', async () => Number((await hostflow.stats()).output_lines_dropped) > 0);
    const stats = await hostflow.stats();
    assert.match(String(stats.health), /PROBLEM: .*output_lines_dropped/);
    assert.ok(hostflow.process.running, 'hostflow still runs');

    disk.free();
    await connections(after, 20);
    await until('writing resumed', () => ofPort(readFileSync(output, 'utf8').trimEnd().split('\n').filter(Boolean), after).length >= 20);
    const { code, stderr, summary } = await hostflow.stop();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /output: cannot write to .*ENOSPC.*DROPPED/);
    assert.match(stderr, /output: writing to .* works again; \d+ lines were dropped while it failed/);

    const text = readFileSync(output, 'utf8');
    assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
    const lines = text.trimEnd().split('\n');
    for (const line of lines) JSON.parse(line);
    assert.equal(new Set(lines).size, lines.length, 'no line twice');
    const outputLine = summary?.lines.find((line) => line.topic === 'output');
    assert.equal(outputLine?.health, 'problem');
    const [, dropped, written] = /^(\d+) lines DROPPED: writing to .* failed \(ENOSPC.*\); (\d+) written, writing resumed$/.exec(outputLine?.text ?? '') ?? [];
    assert.ok(dropped && written, outputLine?.text);
    assert.equal(lines.length, Number(written), 'the file holds exactly the lines counted as written');
    assert.equal(Number(dropped) + Number(written), total(summary?.session.records ?? {}), 'every record is written or counted as dropped');
  });

  test('under the spool: batches that cannot be written are counted as lost, the rest reach the bucket exactly once', async (t) => {
    const disk = await SmallDisk.mount(t, 256);
    const s3 = await TestS3.start(t);
    const dir = workDir(t);
    const output = join(dir, 'records.jsonl');
    const servers = [await startEchoServer(), await startEchoServer(), await startEchoServer()];
    t.after(() => Promise.all(servers.map((server) => server.close())).then(() => undefined));
    const [before, during, after] = servers.map((server) => server.port) as [number, number, number];
    const hostflow = await startFaultRun({ output, socket: join(dir, 'ctl.sock'), summaryJson: join(dir, 'summary.json'), env }, [
      '-i',
      'lo',
      '--storage-bucket',
      s3.bucket,
      '--storage-endpoint',
      s3.endpoint,
      '--storage-flush-interval',
      '1',
      '--spool-dir',
      join(disk.path, 'spool'),
    ]);
    t.after(() => hostflow.process.stop({ signal: 'SIGKILL' }).then(() => undefined));

    await connections(before, 20);
    await until('the first batches are uploaded', async () => {
      const stats = await hostflow.stats();
      return Number(stats.storage_uploaded_records) >= 20 && Number(stats.storage_backlog_batches) === 0 && Number(stats.storage_open_records) === 0;
    });
    disk.fill();
    await connections(during, 100);
    await until('records are counted as lost', async () => Number((await hostflow.stats()).storage_records_lost) > 0);
    assert.ok(hostflow.process.running, 'hostflow still runs');

    disk.free();
    const uploaded = Number((await hostflow.stats()).storage_uploaded_records);
    await connections(after, 20);
    await until('uploads resumed', async () => Number((await hostflow.stats()).storage_uploaded_records) >= uploaded + 20);
    const { code, stderr, summary } = await hostflow.stop();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /storage: LOST \d+ conn records: their batch could not be written to the spool .*ENOSPC/);
    assert.match(
      summary?.lines.find((line) => line.topic === 'storage' && line.health === 'problem')?.text ?? '',
      /^\d+ records LOST: writing to the spool failed$/,
    );
    const lost = Number(/^(\d+)/.exec(summary?.lines.find((line) => line.health === 'problem' && line.topic === 'storage')?.text ?? '')?.[1]);

    const stored = (await s3.objects()).flatMap((object) => ndjsonLines(object.body));
    const written = readFileSync(output, 'utf8').trimEnd().split('\n');
    assert.equal(new Set(stored).size, stored.length, 'no record twice in the bucket');
    const writtenSet = new Set(written);
    assert.deepEqual(
      stored.filter((line) => !writtenSet.has(line)),
      [],
      'every stored record is one the output wrote',
    );
    assert.equal(written.length - stored.length, lost, 'the records missing from the bucket are exactly the ones counted as lost');
    assert.equal(ofPort(stored, before).length, ofPort(written, before).length, 'the records before the disk filled all arrived');
    assert.equal(ofPort(stored, after).length, ofPort(written, after).length, 'the records after the space came back all arrived');
  });
});
