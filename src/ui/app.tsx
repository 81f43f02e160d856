/**
 * The terminal UI's root component. It owns no state of its own: the
 * controller holds what is shown, the model holds the data, and this only
 * routes keys, paces frames and renders the frame the controller builds.
 */
import { useInput } from 'ink';
import { useReducer, useRef } from 'react';
import { Screen } from './components/screen.js';
import type { UiController } from './state/controller.js';
import type { HeaderInfo } from './state/header.js';
import type { UiModel } from './state/model.js';
import { RenderGate } from './state/render-gate.js';
import type { Theme } from './theme.js';
import { useFrameTimer } from './use-frame-timer.js';
import { useTerminalSize } from './use-terminal-size.js';

export interface AppProps {
  controller: UiController;
  model: UiModel;
  /** The session's state for the header; called once per frame, keep it cheap. */
  header: () => HeaderInfo;
  theme: Theme;
  /** Frames per second at most. @default 10 */
  fps?: number;
  /** Read keys (false when stdin is not a terminal). @default true */
  interactive?: boolean;
  /** q or Ctrl-C. */
  onQuit: () => void;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
}

export function App({ controller, model, header, theme, fps = 10, interactive = true, onQuit, clock = Date.now }: AppProps) {
  const size = useTerminalSize();
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  const gate = useRef(new RenderGate());

  useFrameTimer(fps, () => {
    const now = clock();
    model.tick(now);
    if (gate.current.due(model.version, JSON.stringify(header()), now)) redraw();
  });

  useInput(
    (input, key) => {
      const result = controller.press({ ...key, input });
      if (result === 'quit') onQuit();
      else if (result === 'update') redraw();
    },
    { isActive: interactive },
  );

  return <Screen frame={controller.frame(size, header())} theme={theme} />;
}
