/**
 * The process storage-crash.test.ts kills with SIGKILL: a storage sink
 * fed numbered DNS records (pid = number, all in one hour, so batches hold
 * consecutive numbers) at a steady pace, printing its status as a JSON
 * line every 20 ms. Credentials come from the environment, through the
 * SDK's default chain, as in production.
 *
 *   node crash-child.js <spool-dir> <endpoint> <bucket>
 */
import { StorageSink } from '../../../src/storage/index.js';
import { numberedDns } from './sample-records.js';

const [spoolDir, endpoint, bucket] = process.argv.slice(2);
if (spoolDir && endpoint && bucket) {
  const sink = await StorageSink.open({
    bucket,
    endpoint,
    spoolDir,
    hostname: 'crash-host',
    flushIntervalMs: 30,
    retry: { baseMs: 20, maxMs: 100 },
  });
  let next = 0;
  setInterval(() => {
    for (let i = 0; i < 20; i++) sink.write(numberedDns(next++));
  }, 5);
  setInterval(() => {
    const { spooledRecords, uploadedObjects, backlogBatches, failures } = sink.status();
    process.stdout.write(`${JSON.stringify({ written: next, spooledRecords, uploadedObjects, backlogBatches, failures })}\n`);
  }, 20);
}
