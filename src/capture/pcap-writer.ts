/**
 * Captured frames to a file tcpdump, tshark and Wireshark read: classic
 * pcap (microsecond timestamps, link type Ethernet) or pcapng, which adds
 * one interface block per interface, the direction of every frame
 * (epb_flags) and a comment per frame: "dropped by the blocklist" and
 * whatever the `annotate` hook says (process, hostnames).
 *
 * Writes are buffered (one write(2) per `bufferBytes`, and at least every
 * `flushIntervalMs`) and synchronous, so that the file is complete after
 * close() on every exit path: close() on a signal or --duration, and a
 * last flush from the process 'exit' hook if the process ends otherwise.
 * Timestamps are the kernel's, converted to wall-clock time with the
 * session's clock.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { release } from 'node:os';
import type { Clock } from '../clock.js';
import { HostflowError } from '../errors.js';
import type { CapturedPacket } from '../kernel/packets.js';

export type PcapFormat = 'pcap' | 'pcapng';

export interface PcapWriterOptions {
  path: string;
  /** @default 'pcap' */
  format?: PcapFormat;
  /** Kernel monotonic time to wall-clock time (Session.clock). */
  clock: Pick<Clock, 'wallMs'>;
  /** The snaplen the capture runs with, recorded in the file's header(s). @default 65536 */
  snaplen?: number;
  /** Interface names for pcapng interface blocks. @default 'ifindex N' */
  interfaceName?: (ifindex: number) => string;
  /** pcapng only: a comment for a frame (process, hostname), or null. Must not throw; an exception is counted and ignored. */
  annotate?: (packet: CapturedPacket) => string | null;
  /** Bytes buffered before a write. @default 1 MiB */
  bufferBytes?: number;
  /** Longest time a frame waits in the buffer, in ms. @default 1000 */
  flushIntervalMs?: number;
  /** The application named in the pcapng section header. @default 'hostflow' */
  application?: string;
}

export interface PcapWriterStats {
  /** Frames written. */
  packets: number;
  /** Bytes written to the file, headers included. */
  fileBytes: number;
  /** Frames written with a comment (pcapng). */
  annotated: number;
  /** annotate() calls that threw. */
  annotateErrors: number;
}

const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_EPB = 0x00000006;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
/** epb_flags bits 0-1: 01 inbound, 10 outbound. */
const EPB_INBOUND = 1;
const EPB_OUTBOUND = 2;
/** Longest comment written; longer ones are cut. */
const MAX_COMMENT_BYTES = 1024;

const pad4 = (length: number) => (length + 3) & ~3;

/** One pcapng option: code, length, value padded to 4 bytes. */
function option(code: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + pad4(value.length));
  out.writeUInt16LE(code, 0);
  out.writeUInt16LE(value.length, 2);
  value.copy(out, 4);
  return out;
}

const END_OF_OPTIONS = Buffer.alloc(4); // opt_endofopt, length 0

/** A pcapng block: type, total length, body, total length. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

export class PcapWriter {
  readonly path: string;
  readonly format: PcapFormat;
  readonly stats: PcapWriterStats = { packets: 0, fileBytes: 0, annotated: 0, annotateErrors: 0 };
  private fd: number | null;
  private buffer: Buffer;
  private used = 0;
  private readonly interfaces = new Map<number, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onExit = () => this.flushQuietly();
  /** The write error that stopped the capture, null while all is well. */
  failure: HostflowError | null = null;

  private constructor(
    fd: number,
    private readonly options: PcapWriterOptions,
  ) {
    this.fd = fd;
    this.path = options.path;
    this.format = options.format ?? 'pcap';
    this.buffer = Buffer.allocUnsafe(Math.max(options.bufferBytes ?? 1 << 20, 4096));
    const interval = options.flushIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.flushQuietly(), interval);
      this.timer.unref();
    }
    process.on('exit', this.onExit);
  }

  /** Creates (truncates) the file and writes its header; throws a HostflowError naming the file. */
  static open(options: PcapWriterOptions): PcapWriter {
    let fd: number;
    try {
      fd = openSync(options.path, 'w', 0o600);
    } catch (error) {
      throw new HostflowError(`cannot write the capture file ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    const writer = new PcapWriter(fd, options);
    writer.append(writer.format === 'pcapng' ? writer.sectionHeader() : writer.fileHeader());
    writer.flush();
    return writer;
  }

  get snaplen(): number {
    return this.options.snaplen ?? 65536;
  }

  private fileHeader(): Buffer {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(PCAP_MAGIC_MICROS, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(this.snaplen, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    return header;
  }

  private sectionHeader(): Buffer {
    const fixed = Buffer.alloc(16);
    fixed.writeUInt32LE(PCAPNG_BYTE_ORDER_MAGIC, 0);
    fixed.writeUInt16LE(1, 4);
    fixed.writeUInt16LE(0, 6);
    fixed.writeBigInt64LE(-1n, 8); // section length not given
    return block(
      PCAPNG_SHB,
      Buffer.concat([
        fixed,
        option(SHB_OS, Buffer.from(`Linux ${release()}`)),
        option(SHB_USERAPPL, Buffer.from(this.options.application ?? 'hostflow')),
        END_OF_OPTIONS,
      ]),
    );
  }

  private interfaceBlock(ifindex: number): Buffer {
    const fixed = Buffer.alloc(8);
    fixed.writeUInt16LE(LINKTYPE_ETHERNET, 0);
    fixed.writeUInt32LE(this.snaplen, 4);
    const name = this.options.interfaceName?.(ifindex) ?? `ifindex ${ifindex}`;
    return block(PCAPNG_IDB, Buffer.concat([fixed, option(IF_NAME, Buffer.from(name)), option(IF_TSRESOL, Buffer.from([6])), END_OF_OPTIONS]));
  }

  /** Appends one frame; a no-op after close() or a write error (see `failure`). */
  write(packet: CapturedPacket): void {
    if (this.fd === null) return;
    const wallMs = this.options.clock.wallMs(packet.tsNs);
    const micros = Math.floor(wallMs * 1000);
    const written = this.format === 'pcapng' ? this.writeEnhanced(packet, micros) : this.writeClassic(packet, micros);
    if (written) this.stats.packets++;
  }

  /** Room for `bytes` more in the buffer; false when the capture has ended on a write error. */
  private reserve(bytes: number): boolean {
    if (this.used + bytes <= this.buffer.length) return true;
    this.flushQuietly();
    if (this.fd === null) return false;
    if (bytes > this.buffer.length) this.buffer = Buffer.allocUnsafe(bytes);
    return true;
  }

  private writeClassic(packet: CapturedPacket, micros: number): boolean {
    const length = packet.data.length;
    if (!this.reserve(16 + length)) return false;
    const buffer = this.buffer;
    const at = this.used;
    const seconds = Math.floor(micros / 1e6);
    buffer.writeUInt32LE(seconds >>> 0, at);
    buffer.writeUInt32LE(micros - seconds * 1e6, at + 4);
    buffer.writeUInt32LE(length, at + 8);
    buffer.writeUInt32LE(packet.wireLength, at + 12);
    buffer.set(packet.data, at + 16);
    this.used = at + 16 + length;
    return true;
  }

  private writeEnhanced(packet: CapturedPacket, micros: number): boolean {
    let id = this.interfaces.get(packet.ifindex);
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(packet.ifindex, id);
      this.append(this.interfaceBlock(packet.ifindex));
    }
    const comment = this.comment(packet);
    const length = packet.data.length;
    const commentBytes = comment === null ? 0 : 4 + pad4(comment.length);
    const total = 28 + pad4(length) + commentBytes + 8 + 4 + 4;
    if (!this.reserve(total)) return false;
    const buffer = this.buffer;
    let at = this.used;
    buffer.writeUInt32LE(PCAPNG_EPB, at);
    buffer.writeUInt32LE(total, at + 4);
    buffer.writeUInt32LE(id, at + 8);
    buffer.writeUInt32LE(Math.floor(micros / 0x1_0000_0000), at + 12);
    buffer.writeUInt32LE(micros % 0x1_0000_0000, at + 16);
    buffer.writeUInt32LE(length, at + 20);
    buffer.writeUInt32LE(packet.wireLength, at + 24);
    buffer.set(packet.data, at + 28);
    at += 28 + length;
    buffer.fill(0, at, at + pad4(length) - length);
    at += pad4(length) - length;
    if (comment !== null) {
      buffer.writeUInt16LE(OPT_COMMENT, at);
      buffer.writeUInt16LE(comment.length, at + 2);
      comment.copy(buffer, at + 4);
      buffer.fill(0, at + 4 + comment.length, at + commentBytes);
      at += commentBytes;
      this.stats.annotated++;
    }
    buffer.writeUInt16LE(EPB_FLAGS, at);
    buffer.writeUInt16LE(4, at + 2);
    buffer.writeUInt32LE(packet.direction === 'in' ? EPB_INBOUND : EPB_OUTBOUND, at + 4);
    buffer.writeUInt32LE(OPT_ENDOFOPT, at + 8);
    buffer.writeUInt32LE(total, at + 12);
    this.used = at + 16;
    return true;
  }

  private comment(packet: CapturedPacket): Buffer | null {
    const parts: string[] = [];
    if (packet.dropped) parts.push('dropped by the hostflow blocklist');
    if (this.options.annotate) {
      try {
        const note = this.options.annotate(packet);
        if (note) parts.push(note);
      } catch {
        this.stats.annotateErrors++;
      }
    }
    if (parts.length === 0) return null;
    const text = Buffer.from(parts.join('; '));
    return text.length <= MAX_COMMENT_BYTES ? text : cutUtf8(text, MAX_COMMENT_BYTES);
  }

  private append(bytes: Buffer): void {
    if (!this.reserve(bytes.length)) return;
    bytes.copy(this.buffer, this.used);
    this.used += bytes.length;
  }

  /** Writes what is buffered (synchronously). Errors are thrown as HostflowErrors naming the file. */
  flush(): void {
    if (this.fd === null || this.used === 0) return;
    let done = 0;
    try {
      while (done < this.used) done += writeSync(this.fd, this.buffer, done, this.used - done);
    } catch (error) {
      throw new HostflowError(`cannot write the capture file ${this.path}: ${(error as Error).message}`, { cause: error });
    } finally {
      this.stats.fileBytes += done;
      this.buffer.copy(this.buffer, 0, done, this.used);
      this.used -= done;
    }
  }

  /**
   * flush() for timers and exit hooks, which have nobody to throw to: a
   * write error is kept in `failure` and ends the capture (the file keeps
   * what was written).
   */
  private flushQuietly(): void {
    try {
      this.flush();
    } catch (error) {
      this.failure = error as HostflowError;
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      clearInterval(this.timer);
      process.off('exit', this.onExit);
    }
  }

  /** Flushes and closes the file; idempotent. Throws the write error that ended the capture, if any. */
  close(): void {
    if (this.fd === null) {
      if (this.failure) throw this.failure;
      return;
    }
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** The longest prefix of `text` of at most `max` bytes that ends on a character boundary. */
function cutUtf8(text: Buffer, max: number): Buffer {
  let end = max;
  while (end > 0 && ((text[end] ?? 0) & 0xc0) === 0x80) end--;
  return text.subarray(0, end);
}
