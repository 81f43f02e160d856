/**
 * gzip NDJSON: one JSON line per record (src/records/json-bytes.ts), the
 * very line the JSON-lines output writes. Lines are gathered into chunks and each
 * chunk is compressed on libuv's thread pool and sync-flushed, so the bytes
 * already in the file are exact and the object's size is known within one
 * chunk before the batch is cut.
 */
import { constants, createGzip, type Gzip } from 'node:zlib';
import { ByteWriter, writeJsonLine } from '../records/json-bytes.js';
import type { HostflowRecord } from '../records/types.js';
import type { BatchEncoder } from './encoder.js';
import type { SpoolFile } from './spool.js';

/** gzip header, trailer and the marks of the sync flushes, bounded. */
const GZIP_OVERHEAD = 64;

export class NdjsonEncoder implements BatchEncoder {
  private readonly gzip: Gzip;
  /** Lines not yet given to gzip. */
  private readonly pending: ByteWriter;
  /** Bytes given to gzip whose compressed form is not yet in the file. */
  private inflightBytes = 0;
  private flushes = 0;
  private outBytes = 0;
  private failure: Error | null = null;

  /** @param chunkBytes text gathered before it goes to gzip; bounds the size estimate's error. */
  constructor(
    private readonly file: SpoolFile,
    private readonly chunkBytes = 64 * 1024,
  ) {
    this.pending = new ByteWriter(chunkBytes * 2);
    this.gzip = createGzip({ level: 6 });
    this.gzip.on('data', (chunk: Buffer) => {
      this.outBytes += chunk.length;
      this.file.write(chunk);
    });
    this.gzip.on('error', (error) => {
      this.failure = error;
    });
  }

  get boundBytes(): number {
    return this.outBytes + this.inflightBytes + this.pending.length + GZIP_OVERHEAD + this.flushes * 5;
  }

  add(record: HostflowRecord): void {
    writeJsonLine(record, this.pending);
    this.pending.byte(0x0a);
    if (this.pending.length >= this.chunkBytes) this.compressPending();
  }

  private compressPending(): void {
    if (this.pending.length === 0) return;
    // gzip reads it later: a copy, and the buffer is refilled now.
    const text = Buffer.from(this.pending.buffer.subarray(0, this.pending.length));
    this.pending.length = 0;
    this.inflightBytes += text.length;
    this.flushes++;
    this.gzip.write(text);
    this.gzip.flush(constants.Z_SYNC_FLUSH, () => {
      this.inflightBytes -= text.length;
    });
  }

  async finish(): Promise<void> {
    this.compressPending();
    await new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.gzip.once('end', resolve);
      this.gzip.once('error', reject);
      this.gzip.end();
    });
    this.inflightBytes = 0;
  }
}
