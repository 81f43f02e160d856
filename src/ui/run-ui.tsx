/**
 * Interactive mode: the same session as headless mode, drawn as a live
 * terminal UI, with any other sinks (--output, storage) still receiving
 * every record. Stops on q, Ctrl-C, SIGINT, SIGTERM, SIGHUP or
 * --duration; then the UI closes, the session drains, every sink is
 * flushed, and the attach report and the summary go to `log`.
 */
import { describeAttachments } from '../run.js';
import { once } from 'node:events';
import { HostflowError } from '../errors.js';
import type { AttachReport } from '../kernel/tracer.js';
import type { HostflowRecord } from '../records/types.js';
import { Session, type RecordSink, type SessionOptions } from '../session.js';
import { summaryText, type SummaryLine } from '../format/health.js';
import { sessionSummaryLines } from '../format/session-summary.js';
import type { MountedUi } from './mount.js';
import { SessionStatus, type SessionHandle } from './session-status.js';
import { UiController } from './state/controller.js';
import type { SinkStatus } from './state/header.js';
import { UiModel, type ModelLimits } from './state/model.js';
import { themeFor } from './theme.js';

/** A sink that runs beside the UI. */
export interface UiSink {
  /** Every record, as it comes. */
  write(record: HostflowRecord): void;
  /** Flush and close; awaited after the session stopped. Its part of the exit summary, if it has one. */
  close(): void | SummaryLine[] | Promise<void | SummaryLine[]>;
}

export interface UiOptions {
  /** What to trace, as in headless mode. */
  session: SessionOptions;
  /** Lines for stderr (attach report, summary): written once the UI has closed, so they never tear the screen. */
  log: (line: string) => void;
  /** Terminal to draw on. @default process.stdout */
  stdout?: NodeJS.WriteStream;
  /** Keyboard; without a TTY here the UI runs without keys. @default process.stdin */
  stdin?: NodeJS.ReadStream;
  /** Sinks that keep receiving every record (--output, storage); closed after the session stopped. */
  extraSinks?: readonly UiSink[];
  /** The other sinks' state for the header (e.g. storage backlog), polled about once a second. */
  sinkStatus?: () => readonly SinkStatus[];
  /** Stop after this many seconds; undefined runs until q, Ctrl-C or a signal. */
  durationSeconds?: number;
  /** Frames per second at most. @default 10 */
  fps?: number;
  /** Row caps of the tables. @default DEFAULT_LIMITS */
  limits?: Partial<ModelLimits>;
  /** Environment read for NO_COLOR. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** For tests: what stands in for the kernel. */
export interface UiDependencies {
  createSession?: (options: SessionOptions, sinks: RecordSink[]) => SessionHandle;
}

const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';
const SHOW_CURSOR = '\u001b[?25h';
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Loads Ink and React for the UI, with two settings of the environment
 * they read once, when they load:
 * - CI hidden: Ink draws nothing but its last frame when it believes it
 *   runs on CI (is-in-ci), and the UI only opens on a terminal someone
 *   looks at;
 * - NODE_ENV=production: React's development build keeps bookkeeping per
 *   render that grows without bound at ten frames a second.
 */
async function loadMount(): Promise<typeof import('./mount.js')> {
  const saved = (['CI', 'CONTINUOUS_INTEGRATION', 'NODE_ENV'] as const).map((name) => [name, process.env[name]] as const);
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  process.env.NODE_ENV = 'production';
  try {
    return await import('./mount.js');
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function closeSinks(sinks: readonly UiSink[]): Promise<{ errors: unknown[]; lines: SummaryLine[] }> {
  const errors: unknown[] = [];
  const lines: SummaryLine[] = [];
  for (const sink of sinks) {
    try {
      lines.push(...((await sink.close()) ?? []));
    } catch (error) {
      errors.push(error);
    }
  }
  return { errors, lines };
}

/**
 * Runs the UI until asked to stop; resolves to the exit code after a clean
 * shutdown. Throws a HostflowError, before anything is traced, when stdout
 * is not a terminal.
 */
export async function runUi(options: UiOptions, dependencies: UiDependencies = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  if (stdout.isTTY !== true) throw new HostflowError('the terminal UI needs a terminal on stdout; use --headless to write records');
  const extraSinks = options.extraSinks ?? [];
  const model = new UiModel({ limits: options.limits, flowIntervalSeconds: options.session.flowIntervalSeconds });
  const sinks: RecordSink[] = [(record) => model.add(record), ...extraSinks.map((sink): RecordSink => (record) => sink.write(record))];
  const createSession = dependencies.createSession ?? ((sessionOptions, recordSinks) => new Session(sessionOptions, recordSinks));
  const session = createSession(options.session, sinks);
  let report: AttachReport;
  try {
    report = session.start();
  } catch (error) {
    await closeSinks(extraSinks);
    throw error;
  }

  const status = new SessionStatus(session, report, options.sinkStatus);
  const stopSignal = new AbortController();
  const stop = () => stopSignal.abort();
  // `on`, not `once`: Ink's signal-exit kills the process when it finds
  // itself the only listener left, which would skip the clean shutdown.
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  const statusTimer = setInterval(() => status.sample(), 1000);
  const durationTimer = options.durationSeconds !== undefined ? setTimeout(stop, options.durationSeconds * 1000) : undefined;
  const interactive = stdin.isTTY === true;
  // A terminal that went away (SIGHUP) fails writes, later too: shutdown goes on.
  stdout.on('error', () => {});

  let failure: unknown;
  let ui: MountedUi | undefined;
  try {
    const { mount } = await loadMount();
    stdout.write(ENTER_ALTERNATE_SCREEN);
    ui = mount({
      stdout,
      stdin,
      controller: new UiController(model, interactive),
      model,
      header: () => status.header(),
      theme: themeFor(options.env ?? process.env),
      fps: options.fps ?? 10,
      interactive,
      onQuit: stop,
    });
    ui.waitUntilExit().then(stop, (error: unknown) => {
      failure ??= error;
      stop();
    });
    if (!stopSignal.signal.aborted) await once(stopSignal.signal, 'abort');
  } catch (error) {
    failure ??= error;
  } finally {
    clearInterval(statusTimer);
    clearTimeout(durationTimer);
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    ui?.unmount();
    await ui?.waitUntilExit().catch(() => undefined);
    stdout.write(LEAVE_ALTERNATE_SCREEN + SHOW_CURSOR);
  }

  let summary;
  let sinkLines: SummaryLine[] = [];
  try {
    summary = await session.stop();
  } finally {
    const closed = await closeSinks(extraSinks);
    failure ??= closed.errors[0];
    sinkLines = closed.lines;
  }
  for (const line of describeAttachments(report)) options.log(line);
  for (const line of summaryText([...sessionSummaryLines(summary), ...sinkLines])) options.log(line);
  if (failure !== undefined) throw failure;
  return 0;
}
