import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatStorageStatus, type StorageStatus } from '../../../src/storage/status.js';

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
  failing: false,
  lastError: null,
  lastErrorAt: null,
  refusedRecords: 0,
  invalidRecords: 0,
  lostRecords: 0,
};

test('the summary says what was uploaded, and only then what went wrong', () => {
  assert.equal(formatStorageStatus(quiet), 'storage: uploaded 3 objects (300 records, 4.0 KiB) to s3://flows/hostflow');
  const line = formatStorageStatus({ ...quiet, backlogBatches: 2, backlogRecords: 20, spoolBytes: 3 * 1024 ** 2, failures: 5, lastError: 'ECONNREFUSED', refusedRecords: 9 });
  assert.equal(
    line,
    'storage: uploaded 3 objects (300 records, 4.0 KiB) to s3://flows/hostflow; 2 batches (20 records, 3.0 MiB) left in /var/lib/hostflow/spool for the next start; 5 failed attempts, last: ECONNREFUSED; 9 records REFUSED (spool full)',
  );
  assert.ok(!line.includes('\n'));
});

test('sizes read as people write them', () => {
  assert.deepEqual([formatBytes(10), formatBytes(1536), formatBytes(5 * 1024 ** 2), formatBytes(3 * 1024 ** 3)], ['10 B', '1.5 KiB', '5.0 MiB', '3.00 GiB']);
});
