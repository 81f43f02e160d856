import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settleGroup, writeMarker, type OutputMark } from '../../../src/storage/output-group.js';
import { LineSink } from '../../../src/output/line-sink.js';

/** A spool with one group's two batches under their hidden names, and an output file of `before` bytes. */
async function crashedGroup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'spool');
  const folder = join(root, 'hostflow/conn/dt=2026-12-05/hour=11/hostname=h');
  mkdirSync(folder, { recursive: true });
  const files = ['a', 'b'].map((seq) => ({ partial: join(folder, `.${seq}.tmp`), path: join(folder, `x-${seq}.ndjson.gz#2`) }));
  for (const file of files) writeFileSync(file.partial, 'batch');
  const output = join(dir, 'records.jsonl');
  writeFileSync(output, '{"old":1}\n');
  const before = statSync(output);
  const lines = '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n';
  const mark: OutputMark = { path: output, dev: before.dev, ino: before.ino, before: before.size, after: before.size + lines.length };
  await writeMarker(root, { output: mark, files });
  return { root, files, output, lines };
}

test('the lines reached the output: the batches are published, the marker is gone', async (t) => {
  const { root, files, output, lines } = await crashedGroup(t);
  writeFileSync(output, lines, { flag: 'a' });
  const settled = await settleGroup(root);
  assert.deepEqual(settled, { published: files.map((file) => file.path), removed: 0, cutBytes: 0 });
  for (const file of files) assert.ok(existsSync(file.path) && !existsSync(file.partial));
  assert.equal(await settleGroup(root), null, 'settled once');
});

test('no line reached the output: the batches are removed', async (t) => {
  const { root, files, output } = await crashedGroup(t);
  const settled = await settleGroup(root);
  assert.deepEqual(settled, { published: [], removed: 2, cutBytes: 0 });
  for (const file of files) assert.ok(!existsSync(file.path) && !existsSync(file.partial));
  assert.equal(readFileSync(output, 'utf8'), '{"old":1}\n');
});

test('lines written in part: they are cut off the output and the batches removed', async (t) => {
  const { root, output, lines } = await crashedGroup(t);
  writeFileSync(output, lines.slice(0, 13), { flag: 'a' });
  const settled = await settleGroup(root);
  assert.deepEqual(settled, { published: [], removed: 2, cutBytes: 13 });
  assert.equal(readFileSync(output, 'utf8'), '{"old":1}\n');
});

test('the output was rotated since (only a later group rotates): the batches are published', async (t) => {
  const { root, files, output } = await crashedGroup(t);
  renameSync(output, `${output}.1`);
  writeFileSync(output, '');
  assert.equal((await settleGroup(root))?.published.length, files.length);
});

test('a batch published before the crash is left as it is; the others are published', async (t) => {
  const { root, files, output, lines } = await crashedGroup(t);
  writeFileSync(output, lines, { flag: 'a' });
  renameSync(files[0]!.partial, files[0]!.path);
  assert.deepEqual((await settleGroup(root))?.published, [files[1]!.path]);
  for (const file of files) assert.ok(existsSync(file.path));
});

test('a held line sink writes nothing until told, then exactly the bytes marked, and the rest on close', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-held-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'records.jsonl');
  const sink = new LineSink({ path, flushMs: 1 });
  sink.hold(async () => undefined);
  for (let i = 0; i < 3000; i++) sink.write(`{"n":${i}}`);
  sink.flush();
  assert.equal(readFileSync(path, 'utf8'), '', 'held: not even a full buffer or a flush writes');
  const first = Buffer.byteLength('{"n":0}\n{"n":1}\n');
  const mark = sink.markHeld(first);
  assert.deepEqual({ before: mark?.before, after: mark?.after, ino: mark?.ino }, { before: 0, after: first, ino: statSync(path).ino });
  sink.writeHeld(first);
  assert.equal(readFileSync(path, 'utf8'), '{"n":0}\n{"n":1}\n');
  assert.equal(sink.heldBytes, Buffer.byteLength(Array.from({ length: 2998 }, (_, i) => `{"n":${i + 2}}\n`).join('')));
  sink.close();
  assert.equal(readFileSync(path, 'utf8').split('\n').length - 1, 3000, 'lines still held are written at close, not lost');
});
