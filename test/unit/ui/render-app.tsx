/** Renders the App with ink-testing-library over a model fed with fixture records. */
import { render } from 'ink-testing-library';
import type { HostflowRecord } from '../../../src/records/types.js';
import { App } from '../../../src/ui/app.js';
import { UiController } from '../../../src/ui/state/controller.js';
import { EMPTY_HEADER, type HeaderInfo } from '../../../src/ui/state/header.js';
import { UiModel, type ModelOptions } from '../../../src/ui/state/model.js';
import { themeFor, type Theme } from '../../../src/ui/theme.js';
import { stripAnsi, waitFor } from '../../helpers/fake-terminal.js';
import { BASE_MS } from './fixtures.js';

export interface RenderedApp {
  model: UiModel;
  controller: UiController;
  header: HeaderInfo;
  /** The last frame as plain text. */
  screen(): string;
  /** The last frame as written, escape sequences included. */
  raw(): string;
  frames: string[];
  /** Types each key once the one before reached the controller (so keys never run together). */
  press(...keys: string[]): Promise<void>;
  /** The screen of the first frame drawn after `drawn` frames (default: after now). */
  nextFrame(drawn?: number, timeoutMs?: number): Promise<string>;
  /** Waits until the screen contains `text` (or matches it). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  waitForNot(text: string | RegExp, timeoutMs?: number): Promise<string>;
  quits: number;
  unmount(): void;
}

export function renderApp(
  records: readonly HostflowRecord[] = [],
  options: { header?: Partial<HeaderInfo>; theme?: Theme; model?: ModelOptions; now?: number; fps?: number } = {},
): RenderedApp {
  const now = options.now ?? BASE_MS + 5000;
  const clock = () => now;
  const model = new UiModel({ flowIntervalSeconds: 1, ...options.model }, clock);
  for (const record of records) model.add(record);
  model.tick(now);
  const controller = new UiController(model, true, clock);
  const header: HeaderInfo = { ...EMPTY_HEADER, interfaces: ['eth0'], connectProbe: 'tracepoint', ...options.header };
  const state = { quits: 0, keys: 0 };
  // Counts the keys the controller is given, so that press waits on them.
  const press = controller.press.bind(controller);
  controller.press = (key) => {
    state.keys++;
    return press(key);
  };
  const instance = render(
    <App
      controller={controller}
      model={model}
      header={() => header}
      theme={options.theme ?? themeFor({})}
      fps={options.fps ?? 50}
      onQuit={() => state.quits++}
      clock={clock}
    />,
  );
  const screen = () => stripAnsi(instance.lastFrame() ?? '');
  const matches = (text: string | RegExp) => (typeof text === 'string' ? screen().includes(text) : text.test(screen()));
  const rendered: RenderedApp = {
    model,
    controller,
    header,
    screen,
    raw: () => instance.lastFrame() ?? '',
    frames: instance.frames,
    press: async (...keys) => {
      for (const key of keys) {
        const read = state.keys;
        instance.stdin.write(key);
        await waitFor(
          () => state.keys > read,
          () => `the controller never got the key ${JSON.stringify(key)}`,
          2000,
        );
      }
    },
    nextFrame: async (drawn = instance.frames.length, timeoutMs = 2000) => {
      await waitFor(
        () => instance.frames.length > drawn,
        () => `no frame drawn after frame ${drawn}:\n${screen()}`,
        timeoutMs,
      );
      return stripAnsi(instance.frames[drawn] ?? '');
    },
    waitFor: async (text, timeoutMs = 2000) => {
      await waitFor(
        () => matches(text),
        () => `screen never showed ${String(text)}:\n${screen()}`,
        timeoutMs,
      );
      return screen();
    },
    waitForNot: async (text, timeoutMs = 2000) => {
      await waitFor(
        () => !matches(text),
        () => `screen still shows ${String(text)}:\n${screen()}`,
        timeoutMs,
      );
      return screen();
    },
    get quits() {
      return state.quits;
    },
    unmount: () => instance.unmount(),
  };
  return rendered;
}
