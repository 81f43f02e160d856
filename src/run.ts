/**
 * Headless mode: records as JSON lines (or readable text) on stdout or in
 * a rotated file, until SIGINT, SIGTERM or --duration; then every sink is
 * flushed and one summary line goes to stderr.
 */
import { once } from 'node:events';
import { LineSink, type LineSinkOptions } from './output/line-sink.js';
import { formatText } from './records/text.js';
import { Session, formatSummary, type SessionOptions } from './session.js';

export interface RunOptions {
  session: SessionOptions;
  format: 'json' | 'text';
  output: LineSinkOptions;
  /** Stop after this many seconds; undefined runs until a signal. */
  durationSeconds: number | undefined;
  log: (line: string) => void;
}

export async function runHeadless(options: RunOptions): Promise<number> {
  const stopSignal = new AbortController();
  const stop = () => stopSignal.abort();
  const sink = new LineSink({ ...options.output, onClosedReader: stop });
  const format = options.format === 'text' ? formatText : (record: object) => JSON.stringify(record);
  const session = new Session(options.session, [(record) => sink.write(format(record))]);
  let report;
  try {
    report = session.start();
  } catch (error) {
    sink.close();
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
  return 0;
}
