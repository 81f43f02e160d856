/**
 * One open batch: the records of one type and one hour partition, being
 * encoded into their spool file, with the earliest and latest record time
 * that name the object.
 */
import type { HostflowRecord, RecordType } from '../records/types.js';
import type { BatchEncoder } from './encoder.js';
import type { SpoolFile } from './spool.js';

export class OpenBatch {
  records = 0;
  first = '';
  last = '';

  constructor(
    /** type + YYYY-MM-DDTHH: the open batch of a partition. */
    readonly id: string,
    readonly type: RecordType,
    /** The key without the object's name. */
    readonly folderKey: string,
    readonly seq: string,
    readonly file: SpoolFile,
    readonly encoder: BatchEncoder,
    readonly openedAtMs: number,
  ) {}

  /** `time` is the record's normalized time. Throws when the encoder refuses the record. */
  add(record: HostflowRecord, time: string): void {
    this.encoder.add(record);
    if (this.records === 0 || time < this.first) this.first = time;
    if (this.records === 0 || time > this.last) this.last = time;
    this.records++;
  }
}
