/**
 * Headless mode: records as JSON lines (or readable text) on stdout or in
 * a rotated file, until SIGINT, SIGTERM or --duration; then every sink is
 * flushed and one summary line goes to stderr.
 */
import { once } from 'node:events';
import type { HostflowRecord } from './records/types.js';
import { LineSink, type LineSinkOptions } from './output/line-sink.js';
import { formatText } from './records/text.js';
import { Session, formatSummary, type SessionOptions } from './session.js';
import { StorageSink, formatStorageStatus, type StorageOptions } from './storage/index.js';

/** How long shutdown waits for uploads; what is left stays in the spool for the next start. */
const STORAGE_CLOSE_DEADLINE_MS = 15_000;

export interface RunOptions {
  session: SessionOptions;
  format: 'json' | 'text';
  output: LineSinkOptions;
  /** Also deliver records to S3 or a local directory; undefined for none. */
  storage: StorageOptions | undefined;
  /** Stop after this many seconds; undefined runs until a signal. */
  durationSeconds: number | undefined;
  log: (line: string) => void;
}

export async function runHeadless(options: RunOptions): Promise<number> {
  const stopSignal = new AbortController();
  const stop = () => stopSignal.abort();
  // Preflight before anything is attached: a wrong bucket is one line and exit 1.
  const storage = options.storage ? await StorageSink.open({ ...options.storage, log: options.log }) : null;
  const sink = new LineSink({ ...options.output, onClosedReader: stop });
  const format = options.format === 'text' ? formatText : (record: object) => JSON.stringify(record);
  const sinks = [(record: HostflowRecord) => sink.write(format(record))];
  if (storage) sinks.push((record) => void storage.write(record));
  const session = new Session(options.session, sinks);
  let report;
  try {
    report = session.start();
  } catch (error) {
    sink.close();
    await storage?.close({ deadlineMs: 0 });
    throw error;
  }
  const rejected = report.rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
  options.log(`connect probe: ${report.connectProbe}${rejected ? ` (not used: ${rejected})` : ''}`);
  options.log(
    `interfaces: ${report.interfaces.map((i) => i.name).join(', ') || 'none'}; libc: ${report.libcs.join(', ') || 'none'}; tracefs: ${report.tracefs.path}${report.tracefs.mounted ? ' (mounted)' : ''}`,
  );
  for (const link of report.links) {
    if (link.kind === 'tc-netlink') options.log(`${link.target}: TC via netlink (no tcx on this kernel): removed on a clean exit only`);
  }

  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const durationTimer = options.durationSeconds !== undefined ? setTimeout(stop, options.durationSeconds * 1000) : undefined;
  options.log('tracing; Ctrl-C to stop');
  if (!stopSignal.signal.aborted) await once(stopSignal.signal, 'abort');
  clearTimeout(durationTimer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);

  const summary = await session.stop();
  sink.close();
  options.log(formatSummary(summary));
  if (storage) options.log(formatStorageStatus(await storage.close({ deadlineMs: STORAGE_CLOSE_DEADLINE_MS })));
  return 0;
}
