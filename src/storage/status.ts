/**
 * What the storage sink reports: a snapshot for the UI and the summary,
 * and the summary line; pure.
 */
import { note, ok, problem, type SummaryLine } from '../format/health.js';
import type { StorageFormat } from './layout.js';

export interface StorageStatus {
  /** s3://bucket/prefix, or the --storage-dir folder. */
  destination: string;
  format: StorageFormat;
  spoolDir: string;
  /** Records in batches still open (in memory and being written), not yet whole in the spool. */
  openRecords: number;
  /** Finished batches in the spool not yet uploaded (waiting or on their way). */
  backlogBatches: number;
  /** Their records, as far as known (batches of an earlier run named without a count are not). */
  backlogRecords: number;
  /** Bytes in the spool: finished batches and the files of batches being written. */
  spoolBytes: number;
  spoolMaxBytes: number;
  /** The spool reached its limit: new records are refused until uploads bring it below 90% of it. */
  spoolFull: boolean;
  /** Batches (records) this run put into the spool. */
  spooledBatches: number;
  spooledRecords: number;
  /** Objects, records and bytes uploaded by this run (earlier runs' leftovers included). */
  uploadedObjects: number;
  uploadedRecords: number;
  uploadedBytes: number;
  /** Batches an earlier run left in the spool, found at start and queued first. */
  recoveredBatches: number;
  /** Half-written batch files of an earlier run, removed at start. */
  discardedPartials: number;
  /** Failed upload attempts (each retried; none is dropped). */
  failures: number;
  /** Of those, the ones the endpoint answered by asking to slow down (503 SlowDown, 429): retried after a longer wait. */
  throttled: number;
  /** The last attempt failed: the queue waits with backoff. */
  failing: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Records refused because the spool was full, or written after close. */
  refusedRecords: number;
  /** Records that could not be encoded (a value not fitting its Parquet column, a bad time). */
  invalidRecords: number;
  /** Records of batches that could not be written to the spool (disk errors). */
  lostRecords: number;
}

export interface StorageCloseResult extends StorageStatus {
  /** The deadline passed with batches not uploaded; they stay in the spool for the next start. */
  timedOut: boolean;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The summary's storage lines: what was uploaded (ok), batches left for the
 * next start and failed attempts (notes: retried, nothing lost), records
 * refused, not encodable or lost (problems).
 */
export function storageSummaryLines(status: StorageStatus): SummaryLine[] {
  const lines = [
    ok(
      'storage',
      `uploaded ${status.uploadedObjects} objects (${status.uploadedRecords} records, ${formatBytes(status.uploadedBytes)}) to ${status.destination}`,
    ),
  ];
  if (status.backlogBatches > 0) {
    lines.push(
      note(
        'storage',
        `${status.backlogBatches} batches (${status.backlogRecords} records, ${formatBytes(status.spoolBytes)}) wait in ${status.spoolDir}: the next start uploads them`,
      ),
    );
  }
  if (status.failures > 0) {
    const throttled = status.throttled > 0 ? ` (${status.throttled} throttled: waited longer)` : '';
    lines.push(note('storage', `${status.failures} upload attempts failed${throttled} and were retried; the last: ${status.lastError}`));
  }
  if (status.refusedRecords > 0) lines.push(problem('storage', `${status.refusedRecords} records REFUSED: the spool was full (--spool-max-mb)`));
  if (status.invalidRecords > 0) lines.push(problem('storage', `${status.invalidRecords} records could not be encoded`));
  if (status.lostRecords > 0) lines.push(problem('storage', `${status.lostRecords} records LOST: writing to the spool failed`));
  return lines;
}

/** The `ctl stats` counters of storage: flat, snake_case. */
export function storageStats(status: StorageStatus): Record<string, number> {
  return {
    storage_uploaded_records: status.uploadedRecords,
    storage_uploaded_objects: status.uploadedObjects,
    storage_spooled_records: status.spooledRecords,
    storage_open_records: status.openRecords,
    storage_backlog_batches: status.backlogBatches,
    storage_spool_bytes: status.spoolBytes,
    storage_upload_retries: status.failures,
    storage_upload_throttled: status.throttled,
    storage_records_refused: status.refusedRecords,
    storage_records_invalid: status.invalidRecords,
    storage_records_lost: status.lostRecords,
  };
}
