/**
 * Where record lines go: stdout, or a file opened for appending and
 * rotated by size (FILE -> FILE.1 -> ... -> FILE.<keep>). Writes are
 * buffered and flushed at least every `flushMs`, on rotation and on close,
 * so nothing written is lost on a clean exit.
 *
 * A write that fails (a full disk, a quota, an I/O error) never stops the
 * tracer: the lines of that flush are dropped and counted, a line cut in
 * half by the failure is cut off the file again, and the next flush tries
 * again, so writing resumes by itself once there is room. The file holds
 * whole lines only, each once.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { firstLine } from '../errors.js';
import type { HeldOutput, OutputMark } from '../storage/output-group.js';
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
  /** Where the sink says that writing failed (once per outage) and that it works again. */
  log?: (line: string) => void;
}

/** What the sink wrote and could not write. */
export interface LineSinkStats {
  /** stdout, or the file's path. */
  target: string;
  /** Lines that reached the file or stdout. */
  linesWritten: number;
  /** Lines dropped because writing failed (counted, never retried). */
  linesDropped: number;
  /** Flushes (or rotations) that failed. */
  writeErrors: number;
  /** The last write failed: lines are being dropped until one succeeds. */
  failing: boolean;
  lastError: string | null;
}

/** Rotated files kept when the options do not say. */
export const DEFAULT_ROTATE_KEEP = 5;

const FLUSH_BYTES = 64 * 1024;
/** Room for a flush's worth and one more long line past it. */
const BUFFER_BYTES = 2 * FLUSH_BYTES;

export class LineSink implements HeldOutput {
  private fd: number | null = null;
  private size = 0;
  /** Lines not yet written, encoded as they come: no string per line with its newline, no join, no copy. */
  private readonly pending = new ByteWriter(BUFFER_BYTES);
  private readonly timer: NodeJS.Timeout;
  /** Set while held: the storage sink's last group, which writes what is still held (see hold()). */
  private heldUntil: (() => Promise<void>) | null = null;
  /** stdout's reader is gone; lines are dropped. */
  private readerGone = false;
  /** stdout is a regular file (`> records.jsonl`): written with writeSync on fd 1. */
  private stdoutFile = false;
  /** A failed write left part of a line that could not be cut off: the next write ends it first. */
  private lineCut = false;
  /** Lines dropped since writing began to fail, for the line that says it works again. */
  private droppedInOutage = 0;
  private readonly counts: Omit<LineSinkStats, 'target'> = { linesWritten: 0, linesDropped: 0, writeErrors: 0, failing: false, lastError: null };
  private readonly onStdoutError = (error: NodeJS.ErrnoException) => {
    // Failed writes are counted by their callbacks; only a gone reader ends the run.
    if (error.code !== 'EPIPE' || this.readerGone) return;
    this.readerGone = true;
    this.options.onClosedReader?.();
  };

  constructor(private readonly options: LineSinkOptions = {}) {
    if (options.path) this.open();
    else process.stdout.on('error', this.onStdoutError);
    // stdout redirected to a file is written as a file: Node's stream for it would stay broken after one failed write.
    if (!options.path) this.stdoutFile = isRegularFile(1);
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 200);
    this.timer.unref();
  }

  private open(): void {
    this.fd = openSync(this.options.path as string, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  get stats(): LineSinkStats {
    return { target: this.options.path ?? 'stdout', ...this.counts };
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
    // Held lines wait, whole, for the storage sink.
    if (this.heldUntil) return;
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
    if (this.pending.length === 0 || this.heldUntil) return;
    this.writeOut(0, this.pending.length);
    this.pending.length = 0;
  }

  /** Writes whole lines [from, to) of the buffer; on failure drops them, counted, and keeps the file to whole lines. */
  private writeOut(from: number, to: number): void {
    if (to <= from) return;
    const { buffer } = this.pending;
    const lines = countLines(buffer, from, to);
    if (this.options.path === undefined && !this.stdoutFile) {
      if (this.readerGone) return;
      // stdout may write later: it gets a copy, the buffer is refilled now.
      process.stdout.write(Buffer.from(buffer.subarray(from, to)), (error) => {
        // A reader that went away (EPIPE) ends the run instead (onStdoutError).
        if (!error) this.succeeded(lines);
        else if ((error as NodeJS.ErrnoException).code !== 'EPIPE') this.failed(error, lines);
      });
      return;
    }
    let written = from;
    let fd = 1;
    try {
      if (this.options.path !== undefined) {
        if (this.fd === null) this.open();
        fd = this.fd as number;
      }
      if (this.lineCut) {
        writeSync(fd, '\n');
        this.lineCut = false;
      }
      for (; written < to;) written += writeSync(fd, buffer, written, to - written);
    } catch (error) {
      // The lines that reached the file whole stay; a part of one is cut off again in a file of our own
      // (opened to append), and ended by the next write elsewhere (stdout: it may not append).
      const whole = lastLineEnd(buffer, from, written);
      if (written > whole) {
        try {
          if (this.options.path === undefined || this.fd === null) throw new Error('not our file');
          ftruncateSync(this.fd, fstatSync(this.fd).size - (written - whole));
        } catch {
          this.lineCut = true;
        }
      }
      this.size += whole - from;
      const kept = countLines(buffer, from, whole);
      if (kept > 0) this.succeeded(kept);
      this.failed(error, lines - kept);
      return;
    }
    this.size += to - from;
    this.succeeded(lines);
  }

  private succeeded(lines: number): void {
    this.counts.linesWritten += lines;
    if (!this.counts.failing) return;
    this.counts.failing = false;
    this.options.log?.(`output: writing to ${this.stats.target} works again; ${this.droppedInOutage} lines were dropped while it failed`);
  }

  private failed(error: unknown, lines: number): void {
    this.counts.writeErrors++;
    this.counts.linesDropped += lines;
    const code = (error as NodeJS.ErrnoException).code;
    this.counts.lastError = code && !firstLine(error).includes(code) ? `${code}: ${firstLine(error)}` : firstLine(error);
    if (this.counts.failing) {
      this.droppedInOutage += lines;
      return;
    }
    this.counts.failing = true;
    this.droppedInOutage = lines;
    this.options.log?.(`output: cannot write to ${this.stats.target} (${this.counts.lastError}): lines are DROPPED and counted until writing works again`);
  }

  private rotate(): void {
    const path = this.options.path as string;
    const keep = this.options.keep ?? DEFAULT_ROTATE_KEEP;
    try {
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      rmSync(`${path}.${keep}`, { force: true });
      for (let index = keep - 1; index >= 1; index--) {
        if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
      }
      renameSync(path, `${path}.1`);
      this.open();
    } catch (error) {
      // The next write opens the file again (appending to it when it was not renamed); its lines are counted then.
      this.counts.writeErrors++;
      this.counts.lastError = firstLine(error);
      this.options.log?.(`output: cannot rotate ${path} (${this.counts.lastError}): writing goes on, rotating again at the next size`);
      if (this.fd === null) {
        try {
          this.open();
        } catch {
          // Tried again at the next write.
        }
      }
    }
  }

  /**
   * From now on lines wait until the storage sink writes them with
   * `writeHeld`, once their records are safe in the spool
   * (--output-follows-storage); `lastGroup` writes the last ones before close.
   */
  hold(lastGroup: () => Promise<void>): void {
    if (this.options.path === undefined) throw new Error('only an output file can be held');
    clearInterval(this.timer);
    this.heldUntil = lastGroup;
  }

  /** Bytes held, in whole lines. */
  get heldBytes(): number {
    return this.heldUntil ? this.pending.length : 0;
  }

  /** Where the first `bytes` held will go: the file (rotated first when they would pass its size) and its size before and after; null when nothing is held. */
  markHeld(bytes: number): OutputMark | null {
    if (bytes === 0) return null;
    const { rotateBytes } = this.options;
    if (this.fd === null) this.open();
    if (rotateBytes && this.size > 0 && this.size + bytes > rotateBytes) this.rotate();
    if (this.fd === null) this.open();
    const stats = fstatSync(this.fd as number);
    return { path: this.options.path as string, dev: stats.dev, ino: stats.ino, before: stats.size, after: stats.size + bytes };
  }

  /** Writes the first `bytes` held (whole lines, as markHeld was told) and makes them durable; the rest stays held. */
  writeHeld(bytes: number): void {
    this.writeOut(0, bytes);
    const { buffer, length } = this.pending;
    buffer.copyWithin(0, bytes, length);
    this.pending.length = length - bytes;
    try {
      if (this.fd !== null) fdatasyncSync(this.fd);
    } catch {
      // A failed sync is a failed write the next one meets; the lines are in the file for any reader.
    }
  }

  /** Held: the storage sink writes the last lines first. */
  async closeHeld(): Promise<void> {
    const lastGroup = this.heldUntil;
    if (lastGroup) await lastGroup();
  }

  close(): void {
    clearInterval(this.timer);
    // Lines still held (storage could not take its last group) are written rather than lost.
    this.heldUntil = null;
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    // A failed last write reports its error after this turn: the listener stays until then.
    else if (this.options.path === undefined) setImmediate(() => process.stdout.off('error', this.onStdoutError));
    this.fd = null;
  }
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Newlines in buffer[from, to): the lines there, every one ends with one. */
function countLines(buffer: Buffer, from: number, to: number): number {
  let lines = 0;
  for (let at = buffer.indexOf(0x0a, from); at !== -1 && at < to; at = buffer.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

/** The end of the last whole line in buffer[from, to), or `from` when none ends there. */
function lastLineEnd(buffer: Buffer, from: number, to: number): number {
  if (to <= from) return from;
  const at = buffer.lastIndexOf(0x0a, to - 1);
  return at >= from ? at + 1 : from;
}
