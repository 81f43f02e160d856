/**
 * A crash loop: hostflow with storage and --output-follows-storage,
 * killed with SIGKILL at a random moment of each of 20 runs in a row
 * (starting, settling what the last one left, tracing, uploading) while
 * connections keep coming, then one clean run. The bucket holds every
 * record once, and exactly the records the runs wrote to --output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withConnectProbe } from '../helpers/connect-probe.js';
import { CLI } from '../helpers/hostflow.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { ManagedProcess } from '../helpers/process.js';
import { seededRandom } from '../helpers/storage/fault-proxy.js';
import { connections, startEchoServer } from '../helpers/storage/fault-run.js';
import { ndjsonLines } from '../helpers/storage/read-back.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/storage/s3-server.js';

const RUNS = 20;
const env = { ...process.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey };

/** Lines that appear more often in `a` than in `b`, with how many more times. */
function excess(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of a) counts.set(line, (counts.get(line) ?? 0) + 1);
  for (const line of b) counts.set(line, (counts.get(line) ?? 0) - 1);
  return [...counts].filter(([, n]) => n > 0).map(([line, n]) => `${n}x ${line.slice(0, 160)}`);
}

test(
  `SIGKILL at random moments of ${RUNS} runs in a row: the bucket holds each record once, equal to the --output of all runs`,
  privilegedSuite({ features: ['btf'] }),
  async (t) => {
    const seed = Number(process.env.HOSTFLOW_CRASH_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed} (HOSTFLOW_CRASH_SEED=${seed} repeats these kill times)`);
    const random = seededRandom(seed);
    const s3 = await TestS3.start(t);
    const dir = mkdtempSync(join(tmpdir(), 'hostflow-crash-loop-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const output = join(dir, 'records.jsonl');
    const server = await startEchoServer();
    t.after(() => server.close());

    // Connections keep coming through every run and every crash.
    let working = true;
    const workload = (async () => {
      while (working) {
        await connections(server.port, 4, 4);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    t.after(async () => {
      working = false;
      await workload;
    });

    const args = [
      CLI,
      '--headless',
      '-o',
      output,
      '--no-control',
      ...withConnectProbe([
        '-i',
        'lo',
        '--storage-bucket',
        s3.bucket,
        '--storage-endpoint',
        s3.endpoint,
        '--storage-flush-interval',
        '0.25',
        '--output-follows-storage',
        '--spool-dir',
        join(dir, 'spool'),
      ]),
    ];
    let traced = 0;
    let killedTracing = 0;
    const settled: string[] = [];
    /** Records storage or the output could not write: a fault of their own, which would part the two. */
    const lost: string[] = [];
    for (let run = 0; run < RUNS; run++) {
      const child = ManagedProcess.start(process.execPath, args, { env });
      t.after(() => child.stop({ signal: 'SIGKILL' }).then(() => undefined));
      // A third of the runs die at any moment of their first 1.2 s (loading, settling the last group, recovery, preflight);
      // the others up to 1.5 s into tracing (records, groups, uploads), however long a loaded machine takes to get there.
      if (random() < 1 / 3) {
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(random() * 1150)));
      } else {
        killedTracing++;
        await child.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 1500)));
      }
      if (/tracing; Ctrl-C to stop/.test(child.output(500))) traced++;
      const status = await child.stop({ signal: 'SIGKILL' });
      assert.notEqual(status.signal, null, `run ${run} died by itself before the kill: ${child.output(20)}`);
      const log = child.output(500).split('\n');
      settled.push(...log.filter((line) => line.includes('settled the output group')));
      lost.push(...log.filter((line) => /LOST|DROPPED/.test(line)));
    }
    t.diagnostic(`${traced} of ${RUNS} runs were tracing when killed; groups settled at start: ${settled.length}`);
    assert.deepEqual(lost, [], 'no run lost or dropped a record');
    assert.ok(traced >= killedTracing && killedTracing >= 5, `${traced} runs traced, ${killedTracing} were to be killed tracing`);

    // One clean run uploads what the crashes left; the workload stops before it does.
    const last = ManagedProcess.start(process.execPath, args, { env });
    await last.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
    working = false;
    await workload;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exit = await last.stop({ signal: 'SIGINT', timeoutMs: 30_000 });
    assert.equal(exit.code, 0, last.output(50));
    assert.match(last.output(100), /summary: ok storage: uploaded/);
    assert.doesNotMatch(last.output(100), /wait in .*: the next start uploads them/, 'nothing left in the spool');

    const text = readFileSync(output, 'utf8');
    assert.ok(text.endsWith('\n'), 'the output file ends with a whole line');
    const written = text.trimEnd().split('\n');
    for (const line of written) JSON.parse(line);
    // A run killed between its preflight's probe and the probe's removal leaves the probe: not records.
    const objects = (await s3.objects()).filter((object) => !object.key.includes('/_hostflow/'));
    const stored = objects.flatMap((object) => ndjsonLines(object.body));
    assert.ok(written.length > 100, `${written.length} records written`);
    assert.equal(new Set(stored).size, stored.length, 'no record twice in the bucket');
    assert.deepEqual(excess(written, stored), [], 'every line of --output is in the bucket');
    assert.deepEqual(excess(stored, written), [], 'every record of the bucket is in --output');
  },
);
