/**
 * Where record lines go: stdout, or a file opened for appending and
 * rotated by size (FILE -> FILE.1 -> ... -> FILE.<keep>). Writes are
 * buffered and flushed at least every `flushMs`, on rotation and on close,
 * so nothing written is lost on a clean exit.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ByteWriter, writeJsonLine } from '../records/json-bytes.js';
import type { HostflowRecord } from '../records/types.js';

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
  private readonly pending = new ByteWriter(BUFFER_BYTES);
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

  /** A line of text. */
  write(line: string): void {
    const start = this.pending.length;
    this.pending.text(line);
    this.endLine(start);
  }

  /** A record as its JSON line, encoded straight into the buffer (src/records/json-bytes.ts). */
  writeJson(record: HostflowRecord): void {
    const start = this.pending.length;
    writeJsonLine(record, this.pending);
    this.endLine(start);
  }

  /** Ends the line that starts at `start`: rotates before it when it would not fit the file, flushes a full buffer. */
  private endLine(start: number): void {
    this.pending.byte(0x0a);
    const { rotateBytes } = this.options;
    if (this.fd !== null && rotateBytes && this.size + this.pending.length > rotateBytes && this.size + start > 0) {
      // The lines before it end the file; it starts the next.
      this.writeOut(0, start);
      this.rotate();
      const { buffer, length } = this.pending;
      buffer.copyWithin(0, start, length);
      this.pending.length = length - start;
    }
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.writeOut(0, this.pending.length);
    this.pending.length = 0;
  }

  private writeOut(from: number, to: number): void {
    if (to <= from) return;
    const { buffer } = this.pending;
    if (this.fd === null) {
      // stdout may write later: it gets a copy, the buffer is refilled now.
      if (!this.readerGone) process.stdout.write(Buffer.from(buffer.subarray(from, to)));
      return;
    }
    for (let written = from; written < to;) written += writeSync(this.fd, buffer, written, to - written);
    this.size += to - from;
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
