/**
 * Headless mode: records as JSON lines (or readable text) on stdout or in
 * a rotated file, and to storage when asked, until SIGINT, SIGTERM or
 * --duration; then every sink is flushed and one summary line goes to
 * stderr.
 */
import { once } from 'node:events';
import type { LineSinkOptions } from './output/line-sink.js';
import { lineOutput, storageOutput, type OutputSink } from './output/sinks.js';
import { Session, type SessionOptions } from './session.js';
import { formatSummaryLine, verdictLine, type SummaryLine } from './format/health.js';
import { sessionSummaryLines } from './format/session-summary.js';
import { SessionServices, type ServiceOptions } from './services.js';
import type { AttachReport } from './kernel/tracer.js';
import { describeXdp } from './kernel/xdp-mode.js';
import type { StorageOptions } from './storage/index.js';

export interface RunOptions {
  session: SessionOptions;
  format: 'json' | 'text';
  output: LineSinkOptions;
  /** Also deliver records to S3 or a local directory; undefined for none. */
  storage: StorageOptions | undefined;
  /** Stop after this many seconds; undefined runs until a signal. */
  durationSeconds: number | undefined;
  /** Packet capture file and control socket. */
  services: ServiceOptions;
  log: (line: string) => void;
}

/** The start-up lines both modes print: the connect mode and why others were not used, what is traced. */
export function describeAttachments(report: AttachReport): string[] {
  const rejected = report.rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
  const lines = [
    `connect probe: ${report.connectProbe}${rejected ? ` (not used: ${rejected})` : ''}`,
    `interfaces: ${report.interfaces.map((i) => i.name).join(', ') || 'none'}; libc: ${report.libcs.join(', ') || 'none'}; tracefs: ${report.tracefs.path}${report.tracefs.mounted ? ' (mounted)' : ''}`,
  ];
  for (const { name, xdp } of report.interfaces) {
    if (xdp) lines.push(`xdp on ${describeXdp(name, xdp)}`);
  }
  for (const link of report.links) {
    if (link.kind === 'tc-netlink') lines.push(`${link.target}: TC via netlink (no tcx on this kernel): removed on a clean exit, or replaced by the next start after a kill`);
  }
  return lines;
}

export async function runHeadless(options: RunOptions): Promise<number> {
  const stopSignal = new AbortController();
  const stop = () => stopSignal.abort();
  // Preflight before anything is attached: a wrong bucket is one line and exit 1.
  const sinks: OutputSink[] = [];
  if (options.storage) sinks.push(await storageOutput(options.storage, options.log));
  sinks.unshift(lineOutput({ ...options.output, onClosedReader: stop }, options.format));
  const services = new SessionServices(options.services, options.log);
  const session = new Session(
    { ...options.session, onPacket: services.onPacket },
    sinks.map((sink) => (record) => sink.write(record)),
  );
  let report: AttachReport;
  try {
    await services.startControl();
    services.attach(session);
    report = session.start();
  } catch (error) {
    await services.close();
    for (const sink of sinks) await sink.close();
    throw error;
  }
  for (const line of [...describeAttachments(report), ...services.describe()]) options.log(line);

  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const durationTimer = options.durationSeconds !== undefined ? setTimeout(stop, options.durationSeconds * 1000) : undefined;
  options.log('tracing; Ctrl-C to stop');
  if (!stopSignal.signal.aborted) await once(stopSignal.signal, 'abort');
  clearTimeout(durationTimer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);

  const summary = await session.stop();
  // The session's lines before storage's close, which may wait for uploads.
  const lines: SummaryLine[] = [...sessionSummaryLines(summary), ...(await services.close())];
  const [output, ...others] = sinks;
  await output?.close();
  for (const line of lines) options.log(formatSummaryLine(line));
  for (const sink of others) {
    for (const line of (await sink.close()) ?? []) {
      options.log(formatSummaryLine(line));
      lines.push(line);
    }
  }
  options.log(verdictLine(lines));
  return 0;
}
