/**
 * Mounting the App with Ink. Kept apart from run-ui so Ink is only loaded
 * when the UI opens (see loadMount there).
 */
import { render } from 'ink';
import { App, type AppProps } from './app.js';

export interface MountOptions extends AppProps {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
}

export interface MountedUi {
  unmount(): void;
  waitUntilExit(): Promise<unknown>;
}

export function mount({ stdout, stdin, stderr, ...props }: MountOptions): MountedUi {
  const instance = render(<App {...props} />, {
    stdout,
    stdin,
    stderr: stderr ?? process.stderr,
    exitOnCtrlC: false,
    patchConsole: true,
    maxFps: props.fps ?? 10,
    incrementalRendering: false,
  });
  return { unmount: () => instance.unmount(), waitUntilExit: () => instance.waitUntilExit() };
}
