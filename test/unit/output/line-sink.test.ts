import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSink } from '../../../src/output/line-sink.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import { sampleRecords } from '../../helpers/storage/sample-records.js';

function tempFile(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-sink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'records.jsonl');
}

test('lines are appended to an existing file and all reach it on close', (t) => {
  const path = tempFile(t);
  writeFileSync(path, 'old\n');
  const sink = new LineSink({ path });
  for (let i = 0; i < 10_000; i++) sink.write(`{"n":${i}}`);
  sink.close();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 10_001);
  assert.equal(lines[0], 'old');
  assert.equal(lines[10_000], '{"n":9999}');
});

test('the file rotates before it passes the size, keeping the newest files, and no line is split or lost', (t) => {
  const path = tempFile(t);
  const sink = new LineSink({ path, rotateBytes: 10_000, keep: 3 });
  const line = 'x'.repeat(99);
  for (let i = 0; i < 500; i++) sink.write(`${line.slice(0, 94)}${String(i).padStart(5, '0')}`);
  sink.close();
  const files = [path, `${path}.1`, `${path}.2`, `${path}.3`];
  assert.ok(files.every((file) => existsSync(file)));
  assert.ok(!existsSync(`${path}.4`));
  const kept = files.reverse().flatMap((file) => readFileSync(file, 'utf8').trimEnd().split('\n'));
  for (const file of files) assert.ok(readFileSync(file).length <= 10_000);
  const numbers = kept.map((l) => Number(l.slice(-5)));
  assert.deepEqual(
    numbers,
    numbers.slice().sort((a, b) => a - b),
    'in order',
  );
  assert.equal(numbers[numbers.length - 1], 499);
  assert.equal(numbers.length, 400, 'four files of 100 lines each');
});

test('multi-byte text, lines longer than the buffer and many flushes reach the file byte for byte', (t) => {
  const path = tempFile(t);
  const sink = new LineSink({ path });
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const text = i % 500 === 7 ? `{"long":"${'é😀x'.repeat(60_000)}"}` : `{"n":${i},"host":"ünïcødé-${'€'.repeat(i % 40)}"}`;
    lines.push(text);
    sink.write(text);
  }
  sink.close();
  assert.equal(readFileSync(path, 'utf8'), `${lines.join('\n')}\n`);
});

test('records written as JSON lines rotate whole: every file holds whole records, in order, as JSON.stringify prints them', (t) => {
  const path = tempFile(t);
  const sink = new LineSink({ path, rotateBytes: 20_000, keep: 50 });
  const records = Array.from({ length: 300 }, (_, i) => sampleRecords(4)[i % 4] as HostflowRecord);
  for (const record of records) sink.writeJson(record);
  sink.close();
  const files = [path, ...Array.from({ length: 50 }, (_, i) => `${path}.${i + 1}`)].filter((file) => existsSync(file)).reverse();
  assert.ok(files.length > 3, 'rotated');
  for (const file of files) assert.ok(readFileSync(file).length <= 20_000, file);
  const lines = files.flatMap((file) => readFileSync(file, 'utf8').trimEnd().split('\n'));
  assert.deepEqual(
    lines,
    records.map((record) => JSON.stringify(record)),
  );
});

test('a device that is always full (/dev/full): lines are dropped and counted, said once, and nothing throws', () => {
  const logged: string[] = [];
  const sink = new LineSink({ path: '/dev/full', log: (line) => logged.push(line) });
  for (let i = 0; i < 2000; i++) sink.write(`{"n":${i},"pad":"${'x'.repeat(60)}"}`);
  sink.flush();
  sink.write('{"last":true}');
  sink.close();
  const stats = sink.stats;
  assert.equal(stats.linesDropped, 2001);
  assert.equal(stats.linesWritten, 0);
  assert.ok(stats.writeErrors >= 2);
  assert.equal(stats.failing, true);
  assert.match(stats.lastError ?? '', /^ENOSPC/);
  assert.deepEqual(logged, [
    'output: cannot write to /dev/full (ENOSPC: no space left on device, write): lines are DROPPED and counted until writing works again',
  ]);
});
