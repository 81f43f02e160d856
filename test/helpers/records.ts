/**
 * The records a running hostflow has written so far (its -o file, JSON
 * lines), read as they come, so a test waits for the records it needs
 * instead of sleeping and hoping they are in.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { JsonLine } from './hostflow.js';

export class RecordFile {
  /** Every complete record read so far, in order. */
  readonly records: JsonLine[] = [];
  private offset = 0;
  private partial = '';
  /** Keeps a character cut between two reads whole. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {}

  /** Reads what was appended since the last read (a line still being written waits for the next). */
  read(): JsonLine[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return this.records;
    }
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (;;) {
        const read = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (read === 0) break;
        this.offset += read;
        const lines = (this.partial + this.decoder.write(chunk.subarray(0, read))).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') this.records.push(JSON.parse(line) as JsonLine);
      }
    } finally {
      closeSync(fd);
    }
    return this.records;
  }

  /**
   * Reads until `done(records)` holds, every `intervalMs`; throws after
   * `timeoutMs` with `describe(records)`, so a missing record fails loudly.
   */
  async waitFor(
    done: (records: readonly JsonLine[]) => boolean,
    describe: (records: readonly JsonLine[]) => string,
    { timeoutMs = 20_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<readonly JsonLine[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.read())) {
      if (Date.now() > deadline) throw new Error(`within ${timeoutMs} ms of waiting for records in ${this.path}: ${describe(this.records)}`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return this.records;
  }
}
