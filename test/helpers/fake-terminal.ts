/**
 * A terminal in memory for UI tests: a stdout with a size that can be
 * resized and that records what was written, and a stdin that types keys.
 * Ink renders into it as into a real TTY (or in debug mode, frame by frame).
 */
import { EventEmitter } from 'node:events';

export class FakeStdout extends EventEmitter {
  readonly isTTY: boolean;
  columns: number;
  rows: number;
  /** Everything written, in order. */
  readonly writes: string[] = [];

  constructor({ columns = 80, rows = 24, isTTY = true }: { columns?: number; rows?: number; isTTY?: boolean } = {}) {
    super();
    this.columns = columns;
    this.rows = rows;
    this.isTTY = isTTY;
  }

  write = (chunk: string, callback?: () => void): boolean => {
    this.writes.push(String(chunk));
    if (typeof callback === 'function') setImmediate(callback);
    return true;
  };

  /** All output so far as one string. */
  output(): string {
    return this.writes.join('');
  }

  /** The last write that looks like a whole frame (debug mode writes one per render). */
  lastFrame(): string {
    return this.writes.at(-1) ?? '';
  }

  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }

  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}

export class FakeStdin extends EventEmitter {
  readonly isTTY: boolean;
  rawMode = false;
  private pending: string[] = [];

  constructor({ isTTY = true }: { isTTY?: boolean } = {}) {
    super();
    this.isTTY = isTTY;
  }

  /** Types `data` (one key or escape sequence). */
  type(data: string): void {
    this.pending.push(data);
    this.emit('readable');
    this.emit('data', data);
  }

  read = (): string | null => this.pending.shift() ?? null;
  setRawMode(mode: boolean): this {
    this.rawMode = mode;
    return this;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  asStream(): NodeJS.ReadStream {
    return this as unknown as NodeJS.ReadStream;
  }
}

/** Keys as a terminal sends them. */
export const KEYS = {
  up: '\u001b[A',
  down: '\u001b[B',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  home: '\u001b[H',
  end: '\u001b[F',
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  shiftTab: '\u001b[Z',
  backspace: '\u007f',
  ctrlC: '\u0003',
} as const;

/** Removes SGR and cursor escape sequences, for reading frames as text. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007|\u001b[78=>]/g, '');
}

/** Polls `check` until it returns true or `timeoutMs` passes; then throws with `describe()`. */
export async function waitFor(check: () => boolean, describe: () => string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
