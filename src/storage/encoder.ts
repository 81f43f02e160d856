/**
 * What turns a batch's records into an object's bytes, written into the
 * batch's spool file as they come: gzip NDJSON or Parquet.
 */
import type { HostflowRecord } from '../records/types.js';

export interface BatchEncoder {
  /** Adds one record; cheap, the encoding work happens off this call where it can. */
  add(record: HostflowRecord): void;
  /** The most bytes the object can have if the batch were finished now. */
  readonly boundBytes: number;
  /** Encodes what is left and hands every byte to the spool file. */
  finish(): Promise<void>;
}
