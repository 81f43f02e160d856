/**
 * The record sinks besides the screen, opened the same way in headless and
 * UI mode: a line output (stdout or a rotated file) and the storage sink.
 * Each is a write function, a close that flushes, and a status line for
 * the UI header.
 */
import { formatText } from '../records/text.js';
import type { HostflowRecord } from '../records/types.js';
import type { SummaryLine } from '../format/health.js';
import { outputStats, outputSummaryLines } from '../format/output-summary.js';
import type { StorageOptions } from '../storage/options.js';
import { HostflowError } from '../errors.js';
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
  /** Its counters for `ctl stats`: flat, snake_case. */
  stats?(): Record<string, number>;
  /** The output file's lines, for storage to hold (--output-follows-storage). */
  lines?: LineSink;
  /** Storage: from now on, write these sinks' output file lines only once their records are in the spool. */
  follow?(sinks: readonly OutputSink[]): void;
  /** The storage sink's counters, for the metrics. */
  storageStatus?(): StorageStatus;
}

export function lineOutput(options: LineSinkOptions, format: 'json' | 'text'): OutputSink {
  const sink = new LineSink(options);
  return {
    name: 'lines',
    lines: options.path !== undefined ? sink : undefined,
    write: format === 'text' ? (record) => sink.write(formatText(record)) : (record) => sink.writeJson(record),
    close: async () => {
      await sink.closeHeld();
      sink.close();
      return outputSummaryLines(sink.stats);
    },
    status: () => {
      const s = sink.stats;
      const text = `${s.linesWritten} lines${s.linesDropped > 0 ? `, DROPPED ${s.linesDropped} (${s.lastError})` : ''}`;
      return { label: 'output', text, warn: s.failing || s.linesDropped > 0 };
    },
    stats: () => outputStats(sink.stats),
  };
}

/** Opens the storage sink (its preflight throws one line when the destination is unusable). */
export async function storageOutput(options: StorageOptions, log: (line: string) => void): Promise<OutputSink> {
  // Loaded only when storing: the S3 client and the Parquet encoder are 30 MB resident.
  const { StorageSink, storageSummaryLines, storageStats } = await import('../storage/index.js');
  const storage = await StorageSink.open({ ...options, log });
  return {
    name: 'storage',
    write: (record) => void storage.write(record),
    close: async () => storageSummaryLines(await storage.close({ deadlineMs: STORAGE_CLOSE_DEADLINE_MS })),
    status: () => {
      const s = storage.status();
      const retries = s.failures > 0 ? `, retries ${s.failures}${s.throttled > 0 ? ` (throttled ${s.throttled})` : ''}` : '';
      const text = `backlog ${s.backlogBatches} batches, spool ${Math.round(s.spoolBytes / 1024)} KiB, uploaded ${s.uploadedRecords}${retries}${s.refusedRecords ? `, REFUSED ${s.refusedRecords}` : ''}${s.lostRecords ? `, LOST ${s.lostRecords}` : ''}`;
      return { label: 'storage', text, warn: s.failing || s.spoolFull || s.refusedRecords > 0 || s.lostRecords > 0 };
    },
    stats: () => storageStats(storage.status()),
    follow: (sinks) => {
      if (!options.followOutput) return;
      const lines = sinks.find((sink) => sink.lines)?.lines;
      if (!lines) throw new HostflowError('--output-follows-storage needs --output FILE');
      storage.follow(lines);
    },
    storageStatus: () => storage.status(),
  };
}
