/**
 * Objects for the query tests, written by the real storage sink (the same
 * encoders and layout a run uses) into a folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostflowRecord } from '../../../src/records/types.js';
import { StorageSink } from '../../../src/storage/index.js';
import type { StorageFormat } from '../../../src/storage/layout.js';

export function tempDir(t: { after(fn: () => void): void }, name = 'hostflow-query-'): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the records as `hostname`'s objects under `directory` (prefix `hostflow`), and waits until they are all there. */
export async function writeStored(directory: string, records: readonly HostflowRecord[], format: StorageFormat, hostname: string): Promise<void> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'hostflow-query-spool-'));
  try {
    const sink = await StorageSink.open({ directory, spoolDir, format, hostname });
    for (const record of records) if (!sink.write(record)) throw new Error(`the sink refused a ${record.type} record`);
    const result = await sink.close({ deadlineMs: 10_000 });
    if (result.uploadedRecords !== records.length) throw new Error(`stored ${result.uploadedRecords} of ${records.length} records`);
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
