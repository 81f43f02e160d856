/**
 * The record sinks besides the screen, opened the same way in headless and
 * UI mode: a line output (stdout or a rotated file) and the storage sink.
 * Each is a write function, a close that flushes, and a status line for
 * the UI header.
 */
import { formatText } from '../records/text.js';
import type { HostflowRecord } from '../records/types.js';
import type { SummaryLine } from '../format/health.js';
import type { StorageOptions } from '../storage/options.js';
import type { StorageStatus } from '../storage/status.js';
import { LineSink, type LineSinkOptions } from './line-sink.js';

/** How long shutdown waits for uploads; what is left stays in the spool for the next start. */
export const STORAGE_CLOSE_DEADLINE_MS = 15_000;

export interface SinkStatusLine {
  label: string;
  text: string;
  warn: boolean;
}

export interface OutputSink {
  /** What the metrics call it (lines, ui, storage). @default 'output' */
  name?: string;
  write(record: HostflowRecord): void;
  /** Flushes everything written; awaited after the session stopped. Its part of the exit summary, if it has one. */
  close(): Promise<SummaryLine[] | void>;
  status?(): SinkStatusLine;
  /** The storage sink's counters, for the metrics. */
  storageStatus?(): StorageStatus;
}

export function lineOutput(options: LineSinkOptions, format: 'json' | 'text'): OutputSink {
  const sink = new LineSink(options);
  return {
    name: 'lines',
    write: format === 'text' ? (record) => sink.write(formatText(record)) : (record) => sink.writeJson(record),
    close: async () => sink.close(),
  };
}

/** Opens the storage sink (its preflight throws one line when the destination is unusable). */
export async function storageOutput(options: StorageOptions, log: (line: string) => void): Promise<OutputSink> {
  // Loaded only when storing: the S3 client and the Parquet encoder are 30 MB resident.
  const { StorageSink, storageSummaryLines } = await import('../storage/index.js');
  const storage = await StorageSink.open({ ...options, log });
  return {
    name: 'storage',
    write: (record) => void storage.write(record),
    close: async () => storageSummaryLines(await storage.close({ deadlineMs: STORAGE_CLOSE_DEADLINE_MS })),
    status: () => {
      const s = storage.status();
      const text = `backlog ${s.backlogBatches} batches, spool ${Math.round(s.spoolBytes / 1024)} KiB, uploaded ${s.uploadedRecords}${s.refusedRecords ? `, REFUSED ${s.refusedRecords}` : ''}`;
      return { label: 'storage', text, warn: s.failing || s.spoolFull || s.refusedRecords > 0 };
    },
    storageStatus: () => storage.status(),
  };
}
