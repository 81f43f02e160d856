/**
 * The terminal UI front-end: the run of src/run.ts drawn as a live view,
 * with any other sinks (--output, storage) still receiving every record.
 * Stops on q, Ctrl-C, SIGINT, SIGTERM, SIGHUP or --duration; the UI closes
 * first and gives the terminal back, then the run drains, flushes and
 * prints the start lines and the summary, which never tear the screen.
 */
import { HostflowError } from '../errors.js';
import type { LineSinkOptions } from '../output/line-sink.js';
import { lineOutput, type OutputSink } from '../output/sinks.js';
import type { FrontEnd, RunView } from '../run.js';
import type { MountedUi } from './mount.js';
import { SessionStatus } from './session-status.js';
import { UiController } from './state/controller.js';
import { UiModel, type ModelLimits } from './state/model.js';
import { themeFor } from './theme.js';

export interface UiOptions {
  /** Seconds one flow record covers, for rates. */
  flowIntervalSeconds: number;
  /** Also write records here (--output), as headless mode would; undefined for none. */
  output?: { line: LineSinkOptions; format: 'json' | 'text' };
  /** Terminal to draw on. @default process.stdout */
  stdout?: NodeJS.WriteStream;
  /** Keyboard; without a TTY here the UI runs without keys. @default process.stdin */
  stdin?: NodeJS.ReadStream;
  /** Frames per second at most. @default 10 */
  fps?: number;
  /** Row caps of the tables. @default DEFAULT_LIMITS */
  limits?: Partial<ModelLimits>;
  /** Environment read for NO_COLOR. @default process.env */
  env?: NodeJS.ProcessEnv;
}

const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';
const SHOW_CURSOR = '\u001b[?25h';

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

/** The UI front-end; throws a HostflowError, before anything is traced, when stdout is not a terminal. */
export function terminalUi(options: UiOptions): FrontEnd {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  if (stdout.isTTY !== true) throw new HostflowError('the terminal UI needs a terminal on stdout; use --headless to write records');
  const model = new UiModel({ limits: options.limits, flowIntervalSeconds: options.flowIntervalSeconds });
  let ui: MountedUi | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let drawn = false;

  return {
    holdsTerminal: true,
    // SIGHUP: the terminal went away.
    stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    open: (): OutputSink[] => {
      const sinks: OutputSink[] = [{ name: 'ui', write: (record) => model.add(record), close: async () => {} }];
      if (options.output) sinks.push(lineOutput(options.output.line, options.output.format));
      return sinks;
    },
    show: async (view: RunView, stop: (failure?: unknown) => void) => {
      const status = new SessionStatus(view.session, view.report, view.sinkStatus);
      statusTimer = setInterval(() => status.sample(), 1000);
      const interactive = stdin.isTTY === true;
      // A terminal that went away (SIGHUP) fails writes, later too: shutdown goes on.
      stdout.on('error', () => {});
      const { mount } = await loadMount();
      stdout.write(ENTER_ALTERNATE_SCREEN);
      drawn = true;
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
      // Ink exits on its own only when it fails: the run ends with that error.
      ui.waitUntilExit().then(
        () => stop(),
        (error: unknown) => stop(error),
      );
    },
    close: async () => {
      clearInterval(statusTimer);
      ui?.unmount();
      await ui?.waitUntilExit().catch(() => undefined);
      if (drawn) stdout.write(LEAVE_ALTERNATE_SCREEN + SHOW_CURSOR);
    },
  };
}
