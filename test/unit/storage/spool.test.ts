import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../src/storage/spool.js';

function tempSpool(t: { after(fn: () => void): void }): Spool {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-spool-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return new Spool(root);
}

const FOLDER = 'hostflow/dns/dt=2026-11-23/hour=18/hostname=h';

test('a batch file is hidden while written and appears whole under its key', async (t) => {
  const spool = tempSpool(t);
  const file = spool.create(FOLDER, 'seq1');
  file.write(Buffer.from('hello '));
  file.write(Buffer.from('world'));
  assert.equal(file.bytes, 11);
  const path = await file.commit(Spool.fileName('a-b-seq1.ndjson.gz', 2));
  assert.equal(path, join(spool.root, FOLDER, 'a-b-seq1.ndjson.gz#2'));
  assert.equal(readFileSync(path, 'utf8'), 'hello world');
  assert.deepEqual(readdirSync(join(spool.root, FOLDER)), ['a-b-seq1.ndjson.gz#2']);
  assert.deepEqual(spool.entry(path, 11), { key: `${FOLDER}/a-b-seq1.ndjson.gz`, path, bytes: 11, records: 2 });
});

test('at start, finished batches are found oldest key first and half-written ones removed', async (t) => {
  const spool = tempSpool(t);
  for (const [seq, hour] of [
    ['2', '19'],
    ['1', '18'],
  ] as const) {
    const file = spool.create(`hostflow/conn/dt=2026-11-23/hour=${hour}/hostname=h`, seq);
    file.write(Buffer.from(seq));
    await file.commit(Spool.fileName(`x-y-${seq}.parquet`, Number(seq) * 10));
  }
  // What a batch being written when the process died leaves.
  mkdirSync(join(spool.root, FOLDER), { recursive: true });
  writeFileSync(join(spool.root, FOLDER, '.seq9.tmp'), 'half');
  mkdirSync(join(spool.root, 'hostflow/flow/dt=2026-11-23/hour=01/hostname=h'), { recursive: true });
  writeFileSync(join(spool.root, 'hostflow/manual.ndjson.gz'), 'x');
  const { entries, partials } = await spool.recover();
  assert.equal(partials, 1);
  assert.deepEqual(
    entries.map((e) => [e.key, e.records, e.bytes]),
    [
      ['hostflow/conn/dt=2026-11-23/hour=18/hostname=h/x-y-1.parquet', 10, 1],
      ['hostflow/conn/dt=2026-11-23/hour=19/hostname=h/x-y-2.parquet', 20, 1],
      ['hostflow/manual.ndjson.gz', null, 1],
    ],
  );
  assert.ok(!existsSync(join(spool.root, 'hostflow/flow')), 'empty folders are removed');
  assert.ok(!existsSync(join(spool.root, FOLDER)), 'the partial file and its folder are gone');
});

test('removing an uploaded batch removes the folders it leaves empty, not the root', async (t) => {
  const spool = tempSpool(t);
  const file = spool.create(FOLDER, 's');
  file.write(Buffer.from('x'));
  const entry = spool.entry(await file.commit(Spool.fileName('n.ndjson.gz', 1)), 1);
  await spool.remove(entry);
  await spool.remove(entry);
  assert.deepEqual(readdirSync(spool.root), []);
});

test('a batch can be written while an upload empties and removes its folder', async (t) => {
  const spool = tempSpool(t);
  const first = spool.create(FOLDER, 'a');
  first.write(Buffer.from('a'));
  const entry = spool.entry(await first.commit(Spool.fileName('a.ndjson.gz', 1)), 1);
  const second = spool.create(FOLDER, 'b');
  await spool.remove(entry);
  second.write(Buffer.from('b'));
  const path = await second.commit(Spool.fileName('b.ndjson.gz', 1));
  assert.equal(readFileSync(path, 'utf8'), 'b');
});

test('the spool root must be writable', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'hostflow-spool-')), 'plain-file');
  writeFileSync(file, '');
  await assert.rejects(new Spool(join(file, 'spool')).prepare(), /ENOTDIR/);
});
