/**
 * One run of hostflow, assembled in one place: build (sinks, control
 * socket, capture file, session) -> start -> wait (a signal, --duration, or
 * the front-end) -> stop -> flush -> summary. The front-ends (headless.ts,
 * ui/ui-front-end.tsx) only choose their sinks and a view; what runs
 * beside the session (control, capture, storage, metrics) subscribes to it.
 */
import { writeFileSync } from 'node:fs';
import { CaptureFile } from './capture/capture-file.js';
import { ControlService } from './control/control-service.js';
import { HostflowError, firstLine } from './errors.js';
import { formatSummaryLine, verdictLine, type SummaryLine } from './format/health.js';
import { sessionSummaryLines } from './format/session-summary.js';
import { startLines } from './format/start-lines.js';
import type { AttachReport } from './kernel/tracer.js';
import type { MetricsService } from './metrics/metrics-service.js';
import { storageOutput, type OutputSink, type SinkStatusLine } from './output/sinks.js';
import type { RunPlan } from './run-plan.js';
import { Session, type RecordSink, type SessionSummary, type StartTracer } from './session.js';
import { loadNative } from './kernel/native.js';
import { describeDrop, dropCapabilities } from './system/capability-drop.js';

/** What a front-end shows while the session runs. */
export interface RunView {
  session: Session;
  report: AttachReport;
  /** The other sinks' and services' state, for a header. */
  sinkStatus(): SinkStatusLine[];
}

export interface FrontEnd {
  /** The front-end's own record sinks; `stop` ends the run (e.g. stdout's reader went away); `log` is where they report faults (a full disk). */
  open(stop: () => void, log: (line: string) => void): OutputSink[];
  /** Log lines wait until close() while the front-end owns the terminal (the UI). */
  readonly holdsTerminal: boolean;
  /** Signals that end the run cleanly. */
  readonly stopSignals: readonly NodeJS.Signals[];
  /** Shows the running session; calls stop() when its user asks to end, stop(error) when the view fails (rethrown after the cleanup). */
  show(view: RunView, stop: (failure?: unknown) => void): void | Promise<void>;
  /** Gives the terminal back: after the run is asked to stop, before the summary. */
  close(): void | Promise<void>;
}

export interface RunOptions {
  plan: RunPlan;
  frontEnd: FrontEnd;
  /** Stop after this many seconds; undefined runs until a signal or the front-end. */
  durationSeconds?: number;
  /** Write the exit summary here as one JSON object (see RunSummary). */
  summaryJson?: string;
  log: (line: string) => void;
  /** The kernel side; tests give a stand-in. @default Tracer.start */
  startTracer?: StartTracer;
}

/** The exit summary, as --summary-json writes it. */
export interface RunSummary {
  /** 'healthy', or the topics with problems. */
  verdict: string;
  problems: string[];
  lines: SummaryLine[];
  connectProbe: string;
  session: SessionSummary;
  pcap: CaptureFile['stats'] | null;
  control: ControlService['stats'];
}

/** Runs until asked to stop; resolves to the exit code after a clean shutdown. Throws one-line HostflowErrors before anything is traced. */
export async function runHostflow(options: RunOptions): Promise<number> {
  const { plan, frontEnd } = options;
  const held: string[] = [];
  let holding = frontEnd.holdsTerminal;
  const log = (line: string) => (holding ? held.push(line) : options.log(line));
  const release = () => {
    holding = false;
    for (const line of held.splice(0)) options.log(line);
  };
  const stopping = new AbortController();
  let failure: unknown;
  const stop = (error?: unknown) => {
    if (error !== undefined) failure ??= error;
    stopping.abort();
  };
  const onSignal = () => stop();

  // Build. Storage first: a wrong bucket is one line and exit 1, before anything is attached.
  const sinks: OutputSink[] = [];
  let control: ControlService | null = null;
  let capture: CaptureFile | null = null;
  let metrics: MetricsService | null = null;
  let session: Session;
  let report: AttachReport;
  try {
    const storage = plan.storage ? await storageOutput(plan.storage, log) : null;
    sinks.push(...frontEnd.open(onSignal, log));
    if (storage) sinks.push(storage);
    storage?.follow?.(sinks);
    if (plan.services.controlPath) control = await ControlService.start(plan.services.controlPath, plan.services.controlGroup);
    if (plan.services.metrics) {
      // Loaded only when serving metrics, like storage.
      const { MetricsService } = await import('./metrics/metrics-service.js');
      metrics = await MetricsService.start(plan.services.metrics);
    }
    const recordSinks: RecordSink[] = sinks.map((sink) => metrics?.counted(sink) ?? ((record) => sink.write(record)));
    if (metrics) recordSinks.push(metrics.recordSink);
    session = new Session({ ...plan.session, tracer: { ...plan.session.tracer, onWarning: log } }, recordSinks, options.startTracer);
    if (plan.services.pcap) capture = CaptureFile.open(plan.services.pcap, session);
    report = session.start();
    control?.follow(session);
    for (const sink of sinks) if (sink.stats) control?.addStats(sink.stats);
    metrics?.follow(session);
    // Everything is attached: what only starting needed goes, in every thread.
    if (plan.keepCapabilities !== undefined) log(describeDrop(dropCapabilities(loadNative(), plan.keepCapabilities)));
  } catch (error) {
    capture?.close();
    await control?.close();
    await metrics?.close();
    for (const sink of sinks) await sink.close();
    throw error;
  }
  // Wait. The handlers go in before the line that says hostflow traces:
  // a signal sent on that line must stop it cleanly. `on`, not `once`:
  // Ink's signal-exit kills the process when it finds itself the only
  // listener left, which would skip the clean shutdown.
  for (const signal of frontEnd.stopSignals) process.on(signal, onSignal);
  for (const line of startLines(report, { ...plan.services, metrics: metrics?.describe() })) log(line);
  if (!frontEnd.holdsTerminal) log('tracing; Ctrl-C to stop');
  const durationTimer = options.durationSeconds !== undefined ? setTimeout(onSignal, options.durationSeconds * 1000) : undefined;
  const view: RunView = {
    session,
    report,
    sinkStatus: () => [...sinks.flatMap((sink) => (sink.status ? [sink.status()] : [])), ...(control?.status() ?? []), ...(capture ? [capture.status()] : [])],
  };
  try {
    await frontEnd.show(view, stop);
    if (!stopping.signal.aborted) await new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }));
  } catch (error) {
    failure ??= error;
  } finally {
    clearTimeout(durationTimer);
    for (const signal of frontEnd.stopSignals) process.off(signal, onSignal);
    await frontEnd.close();
    release();
  }

  // Stop, flush, summary: the session's lines before storage's close, which may wait for uploads.
  const summary = await session.stop();
  metrics?.stopped(summary);
  const lines: SummaryLine[] = [...sessionSummaryLines(summary), ...(capture?.close() ?? []), ...((await control?.close()) ?? [])];
  const [first, ...others] = sinks;
  const closeSink = async (sink: OutputSink): Promise<SummaryLine[]> => {
    try {
      return (await sink.close()) ?? [];
    } catch (error) {
      failure ??= error;
      return [];
    }
  };
  const firstLines = first ? await closeSink(first) : [];
  for (const line of [...lines, ...firstLines]) options.log(formatSummaryLine(line));
  lines.push(...firstLines);
  for (const sink of others) {
    for (const line of await closeSink(sink)) {
      options.log(formatSummaryLine(line));
      lines.push(line);
    }
  }
  await metrics?.close();
  options.log(verdictLine(lines));
  if (options.summaryJson) writeSummary(options.summaryJson, { lines, report, summary, capture, control });
  if (failure !== undefined) throw failure;
  return 0;
}

function writeSummary(
  path: string,
  parts: { lines: SummaryLine[]; report: AttachReport; summary: SessionSummary; capture: CaptureFile | null; control: ControlService | null },
): void {
  const problems = [...new Set(parts.lines.filter((line) => line.health === 'problem').map((line) => line.topic))];
  const summary: RunSummary = {
    verdict: problems.length === 0 ? 'healthy' : 'problems',
    problems,
    lines: parts.lines,
    connectProbe: parts.report.connectProbe,
    session: parts.summary,
    pcap: parts.capture ? { ...parts.capture.stats } : null,
    control: parts.control?.stats ?? null,
  };
  try {
    writeFileSync(path, `${JSON.stringify(summary)}\n`, { mode: 0o600 });
  } catch (error) {
    throw new HostflowError(`cannot write the summary to ${path}: ${firstLine(error)}`, { cause: error });
  }
}
