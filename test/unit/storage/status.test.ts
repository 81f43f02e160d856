import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, storageStats, storageSummaryLines, type StorageStatus } from '../../../src/storage/status.js';

const quiet: StorageStatus = {
  destination: 's3://flows/hostflow',
  format: 'ndjson',
  spoolDir: '/var/lib/hostflow/spool',
  openRecords: 0,
  backlogBatches: 0,
  backlogRecords: 0,
  spoolBytes: 0,
  spoolMaxBytes: 1024 ** 3,
  spoolFull: false,
  spooledBatches: 3,
  spooledRecords: 300,
  uploadedObjects: 3,
  uploadedRecords: 300,
  uploadedBytes: 4096,
  recoveredBatches: 0,
  discardedPartials: 0,
  failures: 0,
  throttled: 0,
  failing: false,
  lastError: null,
  lastErrorAt: null,
  refusedRecords: 0,
  invalidRecords: 0,
  lostRecords: 0,
};

test('the summary says what was uploaded, then what waits (notes) and what was refused (a problem)', () => {
  assert.deepEqual(storageSummaryLines(quiet), [{ health: 'ok', topic: 'storage', text: 'uploaded 3 objects (300 records, 4.0 KiB) to s3://flows/hostflow' }]);
  const lines = storageSummaryLines({
    ...quiet,
    backlogBatches: 2,
    backlogRecords: 20,
    spoolBytes: 3 * 1024 ** 2,
    failures: 5,
    lastError: 'ECONNREFUSED',
    refusedRecords: 9,
  });
  assert.deepEqual(
    lines.map((line) => [line.health, line.text]),
    [
      ['ok', 'uploaded 3 objects (300 records, 4.0 KiB) to s3://flows/hostflow'],
      ['note', '2 batches (20 records, 3.0 MiB) wait in /var/lib/hostflow/spool: the next start uploads them'],
      ['note', '5 upload attempts failed and were retried; the last: ECONNREFUSED'],
      ['problem', '9 records REFUSED: the spool was full (--spool-max-mb)'],
    ],
  );
});

test('sizes read as people write them', () => {
  assert.deepEqual([formatBytes(10), formatBytes(1536), formatBytes(5 * 1024 ** 2), formatBytes(3 * 1024 ** 3)], ['10 B', '1.5 KiB', '5.0 MiB', '3.00 GiB']);
});

test('throttled attempts are said beside the retries, and every counter is in ctl stats', () => {
  const status = { ...quiet, failures: 7, throttled: 4, lastError: 'throttled: SlowDown (HTTP 503)' };
  assert.deepEqual(storageSummaryLines(status)[1], {
    health: 'note',
    topic: 'storage',
    text: '7 upload attempts failed (4 throttled: waited longer) and were retried; the last: throttled: SlowDown (HTTP 503)',
  });
  const stats = storageStats({ ...status, lostRecords: 2, refusedRecords: 3 });
  assert.equal(stats.storage_upload_retries, 7);
  assert.equal(stats.storage_upload_throttled, 4);
  assert.equal(stats.storage_records_lost, 2);
  assert.equal(stats.storage_records_refused, 3);
  assert.equal(stats.storage_uploaded_records, 300);
});
