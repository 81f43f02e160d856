/**
 * Where record lines go: stdout, or a file opened for appending and
 * rotated by size (FILE -> FILE.1 -> ... -> FILE.<keep>). Writes are
 * buffered and flushed at least every `flushMs`, on rotation and on close,
 * so nothing written is lost on a clean exit.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface LineSinkOptions {
  /** Append here; undefined writes to stdout. */
  path?: string;
  /** Rotate the file before it grows past this many bytes; undefined never rotates. */
  rotateBytes?: number;
  /** Rotated files kept. @default 5 */
  keep?: number;
  /** Longest time a line waits in the buffer. @default 200 */
  flushMs?: number;
  /** Called once when stdout's reader went away (EPIPE, e.g. `hostflow | head`): later lines are dropped. */
  onClosedReader?: () => void;
}

/** Rotated files kept when the options do not say. */
export const DEFAULT_ROTATE_KEEP = 5;

const FLUSH_BYTES = 64 * 1024;
/** Room for a flush's worth and one more long line past it. */
const BUFFER_BYTES = 2 * FLUSH_BYTES;

export class LineSink {
  private fd: number | null = null;
  private size = 0;
  /** Lines not yet written, encoded as they come: no string per line with its newline, no join, no copy. */
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private pendingBytes = 0;
  private readonly timer: NodeJS.Timeout;
  /** stdout's reader is gone; lines are dropped. */
  private readerGone = false;
  private readonly onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (this.readerGone) return;
    this.readerGone = true;
    this.options.onClosedReader?.();
  };

  constructor(private readonly options: LineSinkOptions = {}) {
    if (options.path) this.open();
    else process.stdout.on('error', this.onStdoutError);
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 200);
    this.timer.unref();
  }

  private open(): void {
    this.fd = openSync(this.options.path as string, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    if (this.fd !== null && this.options.rotateBytes) {
      const bytes = Buffer.byteLength(line) + 1;
      if (this.size + this.pendingBytes + bytes > this.options.rotateBytes && this.size + this.pendingBytes > 0) {
        this.flush();
        this.rotate();
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room the write is whole.
    const worst = line.length * 3 + 1;
    if (worst > this.buffer.length - this.pendingBytes) {
      this.flush();
      if (worst > this.buffer.length) this.buffer = Buffer.allocUnsafe(worst);
    }
    this.pendingBytes += this.buffer.write(line, this.pendingBytes);
    this.buffer[this.pendingBytes++] = 0x0a;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pendingBytes === 0) return;
    const length = this.pendingBytes;
    this.pendingBytes = 0;
    if (this.fd === null) {
      // stdout may write later: it gets a copy, the buffer is refilled now.
      if (!this.readerGone) process.stdout.write(Buffer.from(this.buffer.subarray(0, length)));
      return;
    }
    for (let written = 0; written < length;) written += writeSync(this.fd, this.buffer, written, length - written);
    this.size += length;
  }

  private rotate(): void {
    const path = this.options.path as string;
    const keep = this.options.keep ?? DEFAULT_ROTATE_KEEP;
    closeSync(this.fd as number);
    rmSync(`${path}.${keep}`, { force: true });
    for (let index = keep - 1; index >= 1; index--) {
      if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
    }
    renameSync(path, `${path}.1`);
    this.open();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    else process.stdout.off('error', this.onStdoutError);
    this.fd = null;
  }
}
