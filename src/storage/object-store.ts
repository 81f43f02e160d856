/**
 * Where finished batches go: an S3-compatible bucket or a local folder,
 * both keyed the same way.
 */
import type { SpoolEntry } from './spool.js';

export interface ObjectStore {
  /** For messages: s3://bucket/prefix (endpoint) or the folder. */
  readonly description: string;
  /**
   * Checks that objects can be written, before tracing starts: throws a
   * HostflowError with one line saying what is wrong (bucket missing,
   * credentials, permission, endpoint down, folder not writable).
   */
  preflight(probeKey: string): Promise<void>;
  /** Writes the batch's file as its key; the same key again overwrites. */
  put(entry: SpoolEntry, contentType: string, signal: AbortSignal): Promise<void>;
  /** Releases connections. */
  close(): void;
}
