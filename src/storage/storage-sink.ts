/**
 * Records to S3-compatible storage (or a local folder), at least once.
 *
 * `write` appends the record to the open batch of its type and hour and
 * returns; a batch is closed when it reaches the flush interval's age or
 * the object size limit, made durable in the spool (fsync), and queued for
 * upload; its spool file is removed only after the upload succeeded.
 * Object keys are fixed before a batch's first upload attempt, so a retry,
 * or the next start re-uploading what a crash left, overwrites the same
 * object and never duplicates a record. A full spool refuses records,
 * counts them and says so in the log and in `status()`.
 */
import { hostname as osHostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { HostflowError } from '../errors.js';
import type { HostflowRecord, RecordType } from '../records/types.js';
import { DEFAULT_RETRY } from './backoff.js';
import { OpenBatch } from './batch.js';
import { DirectoryStore } from './directory-store.js';
import {
  batchSeq,
  hostSegment,
  newRunId,
  normalizePrefix,
  normalizeTime,
  objectName,
  partitionFolder,
  partitionOf,
  recordTime,
  type StorageFormat,
} from './layout.js';
import { NdjsonEncoder } from './ndjson-encoder.js';
import type { ObjectStore } from './object-store.js';
import { removeMarker, settleGroup, writeMarker, type HeldOutput } from './output-group.js';
import { STORAGE_DEFAULTS, validateStorageOptions, type StorageOptions } from './options.js';
import { ParquetEncoder } from './parquet-encoder.js';
import { S3Store } from './s3-store.js';
import { shortError } from './s3-errors.js';
import { Spool, type SpoolEntry } from './spool.js';
import { formatBytes, type StorageCloseResult, type StorageStatus } from './status.js';
import { Uploader } from './uploader.js';

const MIB = 1024 * 1024;
/** How often open batches are checked for their age, at most. */
const TICK_MS = 1000;
/** The spool limit is checked at least every this many records (and on every batch event). */
const SPOOL_CHECK_EVERY = 64;
/**
 * A full spool takes records again below this share of its limit, so that
 * it does not flap between full and not, and say so, with every upload.
 */
const SPOOL_RESUME_SHARE = 0.9;

/** A batch durable under its hidden name, waiting for its group to publish it. */
interface PreparedBatch {
  batch: OpenBatch;
  name: string;
}

/** The counts this run keeps; the rest of StorageStatus is derived when asked. */
type Counters = Pick<
  StorageStatus,
  | 'spooledBatches'
  | 'spooledRecords'
  | 'uploadedObjects'
  | 'uploadedRecords'
  | 'uploadedBytes'
  | 'recoveredBatches'
  | 'discardedPartials'
  | 'failures'
  | 'throttled'
  | 'refusedRecords'
  | 'invalidRecords'
  | 'lostRecords'
>;

export class StorageSink {
  private readonly batches = new Map<string, OpenBatch>();
  /** Open batches and batches being finished: their files count against the spool's limit. */
  private readonly writing = new Set<OpenBatch>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly counters: Counters = {
    spooledBatches: 0,
    spooledRecords: 0,
    uploadedObjects: 0,
    uploadedRecords: 0,
    uploadedBytes: 0,
    recoveredBatches: 0,
    discardedPartials: 0,
    failures: 0,
    throttled: 0,
    refusedRecords: 0,
    invalidRecords: 0,
    lostRecords: 0,
  };
  private readonly uploader: Uploader;
  private readonly prefix: string;
  private readonly host: string;
  private readonly runId: string;
  private readonly format: StorageFormat;
  private readonly flushIntervalMs: number;
  private readonly spoolMaxBytes: number;
  /** Records gathered before they go to gzip: bounds how far the size estimate can be off. */
  private readonly chunkBytes: number;
  /** A batch is closed once its object could reach this size. */
  private readonly cutBytes: number;
  private readonly log: (line: string) => void;
  private batchNumber = 0;
  /** Bytes of finished batches in the spool. */
  private committedBytes = 0;
  private full = false;
  private refusedWhileFull = 0;
  private writesSinceCheck = 0;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private closed: Promise<StorageCloseResult> | null = null;
  /** --output-follows-storage: the output whose lines are written in groups with the batches (output-group.ts). */
  private output: HeldOutput | null = null;
  /** Batches closed since the last group, being made durable under their hidden names. */
  private unpublished: Promise<PreparedBatch | null>[] = [];
  private grouping: Promise<void> = Promise.resolve();
  private lastGroupAt = Date.now();

  private constructor(
    private readonly options: StorageOptions,
    private readonly store: ObjectStore,
    private readonly spool: Spool,
  ) {
    this.prefix = normalizePrefix(options.prefix ?? STORAGE_DEFAULTS.prefix);
    this.host = hostSegment(options.hostname ?? osHostname());
    this.runId = options.runId ?? newRunId();
    this.format = options.format ?? STORAGE_DEFAULTS.format;
    this.flushIntervalMs = options.flushIntervalMs ?? STORAGE_DEFAULTS.flushIntervalSeconds * 1000;
    this.spoolMaxBytes = options.spoolMaxBytes ?? STORAGE_DEFAULTS.spoolMaxMb * MIB;
    const maxObjectBytes = options.maxObjectBytes ?? STORAGE_DEFAULTS.maxObjectMb * MIB;
    this.chunkBytes = Math.max(1024, Math.min(64 * 1024, Math.floor(maxObjectBytes / 16)));
    this.cutBytes = maxObjectBytes - 2 * this.chunkBytes;
    this.log = options.log ?? (() => undefined);
    this.uploader = new Uploader(
      store,
      spool,
      { concurrency: options.concurrency ?? STORAGE_DEFAULTS.concurrency, retry: options.retry ?? DEFAULT_RETRY },
      {
        uploaded: (entry) => this.uploaded(entry),
        failed: (entry, error, failures, delayMs, throttled) => this.uploadFailed(entry, error, failures, delayMs, throttled),
        recovered: (failures) =>
          this.log(
            `storage: uploads to ${this.store.description} work again after ${failures} failed attempts; ${this.uploader.pending.length} batches to catch up`,
          ),
        removeFailed: (entry, error) =>
          this.note(
            shortError(error),
            `cannot remove ${entry.path} after its upload (it is uploaded again, to the same key, at the next start): ${shortError(error)}`,
          ),
      },
    );
  }

  /**
   * Checks the options, the spool and the destination (preflight: one
   * HostflowError line when the bucket is missing, the credentials are
   * wrong, writing is denied, the endpoint is down or the folder is not
   * writable), queues the batches an earlier run left in the spool ahead
   * of everything else, and starts the flush timer. Call before tracing.
   */
  static async open(options: StorageOptions): Promise<StorageSink> {
    validateStorageOptions(options);
    let prefix: string;
    try {
      prefix = normalizePrefix(options.prefix ?? STORAGE_DEFAULTS.prefix);
    } catch (error) {
      throw new HostflowError(`storage: ${(error as Error).message}`);
    }
    const spool = new Spool(resolve(options.spoolDir ?? STORAGE_DEFAULTS.spoolDir));
    try {
      await spool.prepare();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? shortError(error);
      throw new HostflowError(`storage: cannot use the spool folder ${spool.root} (${code}): pick a writable one with --spool-dir`, { cause: error });
    }
    const store: ObjectStore = options.directory
      ? new DirectoryStore(options.directory)
      : new S3Store({
          bucket: options.bucket as string,
          endpoint: options.endpoint,
          region: options.region,
          prefix,
          credentials: options.credentials,
          partSizeBytes: options.partSizeBytes,
        });
    const sink = new StorageSink(options, store, spool);
    try {
      await store.preflight(`${prefix ? `${prefix}/` : ''}_hostflow/preflight-${sink.host}-${sink.runId}`);
      await sink.recover();
    } catch (error) {
      await sink.uploader.stop();
      store.close();
      throw error;
    }
    sink.timer = setInterval(() => sink.closeAgedBatches(), Math.min(TICK_MS, Math.max(10, sink.flushIntervalMs / 4)));
    sink.timer.unref();
    return sink;
  }

  private async recover(): Promise<void> {
    // A group a crash cut short is settled first: its batches published or removed with its lines (output-group.ts).
    const settled = await settleGroup(this.spool.root);
    if (settled) {
      const cut = settled.cutBytes > 0 ? `, ${settled.cutBytes} bytes of lines written in part cut off the output file` : '';
      this.log(
        `storage: settled the output group an earlier run left: ${settled.published.length} batches published with their lines, ${settled.removed} removed with lines never written${cut}`,
      );
    }
    const { entries, partials } = await this.spool.recover();
    this.counters.discardedPartials = partials;
    if (partials > 0) this.log(`storage: removed ${partials} half-written batch files of an earlier run from ${this.spool.root} (their records died with it)`);
    if (entries.length === 0) return;
    this.counters.recoveredBatches = entries.length;
    const bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    const records = entries.reduce((sum, entry) => sum + (entry.records ?? 0), 0);
    this.log(`storage: uploading ${entries.length} batches (${records} records, ${formatBytes(bytes)}) an earlier run left in ${this.spool.root}, first`);
    for (const entry of entries) {
      this.committedBytes += entry.bytes;
      this.uploader.enqueue(entry);
    }
    this.checkSpool();
  }

  /**
   * --output-follows-storage: from now on `output`'s lines are written in
   * groups with the batches of the same records, every flush interval and
   * at close (output-group.ts). Call before the first record.
   */
  follow(output: HeldOutput): void {
    this.output = output;
    output.hold(() => this.commitGroup());
  }

  /**
   * Takes one record: false when it was refused (spool full, after close)
   * or cannot be encoded; both are counted in `status()`.
   */
  write(record: HostflowRecord): boolean {
    if (this.closing) {
      this.counters.refusedRecords++;
      return false;
    }
    if (++this.writesSinceCheck >= SPOOL_CHECK_EVERY) this.checkSpool();
    if (this.full) {
      this.counters.refusedRecords++;
      this.refusedWhileFull++;
      return false;
    }
    let time: string;
    try {
      time = normalizeTime(recordTime(record));
    } catch (error) {
      return this.invalid(error);
    }
    const id = `${record.type}${time.slice(0, 13)}`;
    const batch = this.batches.get(id) ?? this.openBatch(id, record.type, time);
    try {
      batch.add(record, time);
    } catch (error) {
      return this.invalid(error);
    }
    // A batch whose file failed (a full disk) is ended at once: its loss is counted, and the next record tries a new file.
    if (batch.encoder.boundBytes >= this.cutBytes || batch.file.failed) this.closeBatch(batch);
    return true;
  }

  private invalid(error: unknown): false {
    this.counters.invalidRecords++;
    const message = error instanceof Error ? error.message : String(error);
    // The first one is logged; the count is in status() and the summary.
    this.note(message, this.counters.invalidRecords === 1 ? `record not stored: ${message}` : undefined);
    return false;
  }

  private openBatch(id: string, type: RecordType, time: string): OpenBatch {
    const folderKey = partitionFolder(this.prefix, type, partitionOf(time), this.host);
    const seq = batchSeq(this.runId, ++this.batchNumber);
    const file = this.spool.create(folderKey, seq);
    const encoder = this.format === 'parquet' ? new ParquetEncoder(type, file) : new NdjsonEncoder(file, this.chunkBytes);
    const batch = new OpenBatch(id, type, folderKey, seq, file, encoder, Date.now());
    this.batches.set(id, batch);
    this.writing.add(batch);
    return batch;
  }

  private closeAgedBatches(): void {
    const now = Date.now();
    if (this.output) {
      if (now - this.lastGroupAt >= this.flushIntervalMs)
        void this.commitGroup().catch((error: unknown) => this.note(shortError(error), `output group failed: ${shortError(error)}`));
      this.checkSpool();
      return;
    }
    for (const batch of this.batches.values()) {
      if (now - batch.openedAtMs >= this.flushIntervalMs || batch.file.failed) this.closeBatch(batch);
    }
    this.checkSpool();
  }

  /** Ends a batch: encoded to its end, made durable in the spool, queued for upload. */
  private closeBatch(batch: OpenBatch): void {
    this.batches.delete(batch.id);
    if (this.output) {
      const prepared = this.prepareBatch(batch).finally(() => {
        this.writing.delete(batch);
        this.checkSpool();
      });
      this.unpublished.push(prepared);
      return;
    }
    const task = this.spoolBatch(batch).finally(() => {
      this.finishing.delete(task);
      this.writing.delete(batch);
      this.checkSpool();
    });
    this.finishing.add(task);
  }

  private async spoolBatch(batch: OpenBatch): Promise<void> {
    if (batch.records === 0) {
      // Opened for a record its encoder then refused.
      await batch.encoder.finish().catch(() => undefined);
      await batch.file.discard();
      return;
    }
    const name = objectName(batch.first, batch.last, batch.seq, this.format);
    try {
      await batch.encoder.finish();
      const path = await batch.file.commit(Spool.fileName(name, batch.records));
      const entry: SpoolEntry = { key: `${batch.folderKey}/${name}`, path, bytes: batch.file.bytes, records: batch.records };
      this.counters.spooledBatches++;
      this.counters.spooledRecords += batch.records;
      this.committedBytes += entry.bytes;
      this.uploader.enqueue(entry);
    } catch (error) {
      this.batchLost(batch, error);
      await batch.file.discard();
    }
  }

  /** Group mode: the batch encoded to its end and durable under its hidden name; null when it held nothing or could not be written (counted as lost). */
  private async prepareBatch(batch: OpenBatch): Promise<PreparedBatch | null> {
    if (batch.records === 0) {
      await batch.encoder.finish().catch(() => undefined);
      await batch.file.discard();
      return null;
    }
    try {
      await batch.encoder.finish();
      await batch.file.prepare();
      this.committedBytes += batch.file.bytes;
      return { batch, name: objectName(batch.first, batch.last, batch.seq, this.format) };
    } catch (error) {
      this.batchLost(batch, error);
      await batch.file.discard();
      return null;
    }
  }

  private batchLost(batch: OpenBatch, error: unknown): void {
    this.counters.lostRecords += batch.records;
    this.note(
      shortError(error),
      `LOST ${batch.records} ${batch.type} records: their batch could not be written to the spool ${this.spool.root}: ${shortError(error)}`,
    );
  }

  /** One group at a time, in order. */
  private commitGroup(): Promise<void> {
    const next = this.grouping.then(() => this.groupOnce());
    this.grouping = next.catch(() => undefined);
    return next;
  }

  /** Closes the open batches and writes their records' lines, in the steps output-group.ts lays out. */
  private async groupOnce(): Promise<void> {
    const output = this.output as HeldOutput;
    this.lastGroupAt = Date.now();
    // The group is fixed in this one turn: the batches closed so far, and the lines held so far, which are of the same records.
    for (const batch of [...this.batches.values()]) this.closeBatch(batch);
    const tasks = this.unpublished.splice(0);
    const bytes = output.heldBytes;
    const prepared = (await Promise.all(tasks)).filter((item): item is PreparedBatch => item !== null);
    if (bytes === 0 && prepared.length === 0) return;
    const files = prepared.map(({ batch, name }) => ({
      partial: batch.file.partialPath,
      path: join(dirname(batch.file.partialPath), Spool.fileName(name, batch.records)),
    }));
    let marked = false;
    try {
      await writeMarker(this.spool.root, { output: output.markHeld(bytes), files });
      marked = true;
    } catch (error) {
      // No marker (the spool's disk is full): the group goes on unguarded; only a crash in the next moments could part the two.
      this.note(shortError(error), `cannot write the output group's marker in ${this.spool.root}: ${shortError(error)}`);
    }
    output.writeHeld(bytes);
    for (const { batch, name } of prepared) {
      try {
        const path = await batch.file.publish(Spool.fileName(name, batch.records));
        const entry: SpoolEntry = { key: `${batch.folderKey}/${name}`, path, bytes: batch.file.bytes, records: batch.records };
        this.counters.spooledBatches++;
        this.counters.spooledRecords += batch.records;
        this.uploader.enqueue(entry);
      } catch (error) {
        this.committedBytes -= batch.file.bytes;
        this.batchLost(batch, error);
        await batch.file.discard();
      }
    }
    if (marked) await removeMarker(this.spool.root);
  }

  private uploaded(entry: SpoolEntry): void {
    this.committedBytes -= entry.bytes;
    this.counters.uploadedObjects++;
    this.counters.uploadedRecords += entry.records ?? 0;
    this.counters.uploadedBytes += entry.bytes;
    this.checkSpool();
  }

  private uploadFailed(entry: SpoolEntry, error: unknown, failures: number, delayMs: number, throttled: boolean): void {
    this.counters.failures++;
    if (throttled) this.counters.throttled++;
    const description = `${throttled ? 'throttled: ' : ''}${shortError(error)}`;
    // Loud at the first failure, then at 2, 4, 8, ... failed attempts in a row.
    const loud = (failures & (failures - 1)) === 0;
    const line =
      failures === 1
        ? `upload of ${entry.key} to ${this.store.description} failed (${description}); retrying with backoff, the batch stays in the spool`
        : `uploads to ${this.store.description} still failing after ${failures} attempts (${description}); next in ${(delayMs / 1000).toFixed(1)} s, ${this.uploader.pending.length} batches waiting`;
    this.note(description, loud ? line : undefined);
  }

  /** Remembers the error for `status()`; logs `line` when given. */
  private note(error: string, line?: string): void {
    this.lastError = error;
    this.lastErrorAt = new Date().toISOString();
    if (line) this.log(`storage: ${line}`);
  }

  /** Bytes on disk: finished batches and the files of those being written. */
  private spoolBytes(): number {
    let bytes = this.committedBytes;
    for (const batch of this.writing) bytes += batch.file.bytes;
    return bytes;
  }

  /** Updates the spool-full state and says so when it changes. */
  private checkSpool(): void {
    this.writesSinceCheck = 0;
    const bytes = this.spoolBytes();
    const full = this.full ? bytes >= this.spoolMaxBytes * SPOOL_RESUME_SHARE : bytes >= this.spoolMaxBytes;
    if (full === this.full) return;
    this.full = full;
    if (full) {
      this.refusedWhileFull = 0;
      const failing = this.uploader.failing && this.lastError ? `; uploads failing: ${this.lastError}` : '';
      this.log(
        `storage: spool FULL (${formatBytes(bytes)} of ${formatBytes(this.spoolMaxBytes)} in ${this.spool.root}, ${this.uploader.pending.length} batches waiting${failing}): new records are REFUSED until uploads make room`,
      );
    } else {
      this.log(
        `storage: spool has room again (${formatBytes(bytes)} of ${formatBytes(this.spoolMaxBytes)}); ${this.refusedWhileFull} records were refused while it was full`,
      );
    }
  }

  /** Closes every open batch and waits until they are in the spool (not uploaded). */
  async flush(): Promise<void> {
    if (this.output) return this.commitGroup();
    for (const batch of [...this.batches.values()]) this.closeBatch(batch);
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  status(): StorageStatus {
    const pending = this.uploader.pending;
    let openRecords = 0;
    for (const batch of this.batches.values()) openRecords += batch.records;
    return {
      destination: this.store.description,
      format: this.format,
      spoolDir: this.spool.root,
      openRecords,
      backlogBatches: pending.length,
      backlogRecords: pending.reduce((sum, entry) => sum + (entry.records ?? 0), 0),
      spoolBytes: this.spoolBytes(),
      spoolMaxBytes: this.spoolMaxBytes,
      spoolFull: this.full,
      failing: this.uploader.failing,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      ...this.counters,
    };
  }

  /**
   * Closes the open batches into the spool and waits up to `deadlineMs`
   * for the uploads; what is not uploaded by then stays in the spool for
   * the next start (`backlogBatches`, `timedOut`). Later writes are refused.
   */
  close({ deadlineMs }: { deadlineMs: number }): Promise<StorageCloseResult> {
    this.closed ??= this.shutdown(deadlineMs);
    return this.closed;
  }

  private async shutdown(deadlineMs: number): Promise<StorageCloseResult> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let deadline: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      deadline = setTimeout(() => resolve('expired'), deadlineMs);
    });
    const outcome = await Promise.race([this.flush().then(() => this.uploader.whenIdle()), expired]);
    clearTimeout(deadline);
    await this.uploader.stop();
    // Batches still being written are local disk work: let them reach the spool.
    await this.flush();
    this.store.close();
    const status = this.status();
    return { ...status, timedOut: outcome === 'expired' && status.backlogBatches > 0 };
  }
}
