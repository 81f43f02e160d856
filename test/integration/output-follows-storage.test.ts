/**
 * --output-follows-storage without a crash: the output file's lines wait
 * for their group, then the file and the stored objects hold the same
 * records, in the output's order; the spool keeps no marker behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lineOutput, storageOutput } from '../../src/output/sinks.js';
import { ndjsonLines } from '../helpers/storage/read-back.js';
import { numberedDns } from '../helpers/storage/sample-records.js';

test('lines are written with their group: the file and the objects hold the same records', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const objects = join(dir, 'objects');
  const output = join(dir, 'records.jsonl');
  const storage = await storageOutput(
    { directory: objects, spoolDir: join(dir, 'spool'), hostname: 'h', flushIntervalMs: 300, followOutput: true },
    () => undefined,
  );
  const lines = lineOutput({ path: output, flushMs: 10 }, 'json');
  storage.follow?.([lines, storage]);

  for (let id = 0; id < 50; id++) {
    lines.write(numberedDns(id));
    storage.write(numberedDns(id));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(readFileSync(output, 'utf8'), '', 'a line flush does not write held lines');
  // A few groups go by while records keep coming.
  for (let id = 50; id < 500; id++) {
    lines.write(numberedDns(id));
    storage.write(numberedDns(id));
    if (id % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 40));
  }
  await new Promise((resolve) => setTimeout(resolve, 700));
  const midway = readFileSync(output, 'utf8').trimEnd().split('\n').length;
  assert.ok(midway >= 50 && midway <= 500, `${midway} lines written by the groups so far`);

  await lines.close();
  await storage.close();
  const written = readFileSync(output, 'utf8').trimEnd().split('\n');
  assert.deepEqual(
    written.map((line) => (JSON.parse(line) as { pid: number }).pid),
    Array.from({ length: 500 }, (_, id) => id),
    'every record once, in order',
  );
  const stored = (readdirSync(objects, { recursive: true }) as string[])
    .filter((path) => path.endsWith('.ndjson.gz'))
    .flatMap((path) => ndjsonLines(readFileSync(join(objects, path))));
  assert.deepEqual(stored.slice().sort(), written.slice().sort());
  assert.ok(!existsSync(join(dir, 'spool', '.output-group.json')), 'no group marker left');
});
