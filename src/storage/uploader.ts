/**
 * Moves finished batches from the spool to the store, oldest first, a few
 * at a time. A failed upload goes back to the head of the queue and the
 * whole queue waits (exponential backoff with full jitter); while the
 * endpoint keeps failing only one upload at a time probes it. Nothing is
 * ever given up: a batch leaves the spool only after its upload succeeded.
 */
import { backoffDelayMs, type RetryPolicy } from './backoff.js';
import { FORMAT_CONTENT_TYPES, FORMAT_EXTENSIONS } from './layout.js';
import type { ObjectStore } from './object-store.js';
import { isThrottling } from './s3-errors.js';
import type { Spool, SpoolEntry } from './spool.js';

export interface UploaderEvents {
  /** The object is in the store (and its spool file gone, or going). */
  uploaded(entry: SpoolEntry): void;
  /** An attempt failed (`throttled`: the endpoint asked to slow down); the next one starts in `delayMs`. */
  failed(entry: SpoolEntry, error: unknown, consecutiveFailures: number, delayMs: number, throttled: boolean): void;
  /** An upload succeeded after `failures` failed attempts in a row. */
  recovered(failures: number): void;
  /** The spool file of an uploaded batch could not be removed (it is uploaded again at the next start, to the same key). */
  removeFailed(entry: SpoolEntry, error: unknown): void;
}

export interface UploaderOptions {
  /** Uploads at once while the endpoint answers. @default 4 */
  concurrency: number;
  retry: RetryPolicy;
  random?: () => number;
}

function contentTypeOf(key: string): string {
  return key.endsWith(`.${FORMAT_EXTENSIONS.parquet}`) ? FORMAT_CONTENT_TYPES.parquet : FORMAT_CONTENT_TYPES.ndjson;
}

export class Uploader {
  private queue: SpoolEntry[] = [];
  private readonly active = new Map<SpoolEntry, AbortController>();
  private readonly settling = new Set<Promise<void>>();
  private consecutiveFailures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly spool: Spool,
    private readonly options: UploaderOptions,
    private readonly events: UploaderEvents,
  ) {}

  /** Batches not yet uploaded: waiting or on their way. */
  get pending(): SpoolEntry[] {
    return [...this.active.keys(), ...this.queue];
  }

  /** True while uploads are failing and the queue waits to retry. */
  get failing(): boolean {
    return this.consecutiveFailures > 0;
  }

  enqueue(entry: SpoolEntry): void {
    this.queue.push(entry);
    this.pump();
  }

  private pump(): void {
    if (this.stopped || this.retryTimer) return;
    const limit = this.consecutiveFailures > 0 ? 1 : this.options.concurrency;
    while (this.active.size < limit && this.queue.length > 0) {
      const entry = this.queue.shift() as SpoolEntry;
      const controller = new AbortController();
      this.active.set(entry, controller);
      const done = this.upload(entry, controller.signal).finally(() => {
        this.active.delete(entry);
        this.settling.delete(done);
        this.pump();
        this.notifyIdle();
      });
      this.settling.add(done);
    }
  }

  private async upload(entry: SpoolEntry, signal: AbortSignal): Promise<void> {
    try {
      await this.store.put(entry, contentTypeOf(entry.key), signal);
    } catch (error) {
      if (this.stopped) {
        this.queue.unshift(entry);
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (error as NodeJS.ErrnoException).path === entry.path) {
        // The file is gone: another process sharing the spool uploaded it.
        return;
      }
      this.consecutiveFailures++;
      const throttled = isThrottling(error);
      const delayMs = backoffDelayMs(this.consecutiveFailures, this.options.retry, this.options.random, throttled);
      this.queue.unshift(entry);
      this.events.failed(entry, error, this.consecutiveFailures, delayMs, throttled);
      // Uploads that were on their way fail too: the queue waits for the longest of their waits (a throttled one's).
      const retryAt = Date.now() + delayMs;
      if (!this.retryTimer || retryAt > this.retryAt) {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryAt = retryAt;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, delayMs);
        this.retryTimer.unref();
      }
      return;
    }
    if (this.consecutiveFailures > 0) {
      this.events.recovered(this.consecutiveFailures);
      this.consecutiveFailures = 0;
    }
    try {
      await this.spool.remove(entry);
    } catch (error) {
      this.events.removeFailed(entry, error);
    }
    this.events.uploaded(entry);
  }

  private notifyIdle(): void {
    if (this.active.size > 0 || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves when every batch given so far is uploaded. */
  whenIdle(): Promise<void> {
    if (this.active.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: no new attempts, uploads on their way are aborted; their batches stay in the spool. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const controller of this.active.values()) controller.abort();
    await Promise.allSettled([...this.settling]);
  }
}
