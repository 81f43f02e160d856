import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommStrings } from '../../../src/kernel/comm-strings.js';

const comm = (text: string) => {
  const bytes = new Uint8Array(16);
  bytes.set(Buffer.from(text, 'utf8').subarray(0, 16));
  return bytes;
};

test('the same name read twice is the same string; names that differ stay apart, to the NUL or the 16th byte', () => {
  const comms = new CommStrings();
  const first = comms.read(comm('python3'), 0, 16);
  assert.equal(first, 'python3');
  assert.equal(comms.read(comm('python3'), 0, 16), first);
  assert.equal(comms.read(comm('python'), 0, 16), 'python');
  assert.equal(comms.read(comm('0123456789abcdefXYZ'), 0, 16), '0123456789abcdef');
  assert.equal(comms.read(comm('héllo'), 0, 16), 'héllo');
  // Bytes after the NUL do not count.
  const padded = comm('dig');
  padded.set([0x41, 0x42], 5);
  assert.equal(comms.read(padded, 0, 16), 'dig');
});

test('at an offset inside a larger buffer, and with more distinct names than are kept', () => {
  const comms = new CommStrings();
  const buffer = new Uint8Array(64);
  buffer.set(comm('worker'), 24);
  assert.equal(comms.read(buffer, 24, 16), 'worker');
  for (let i = 0; i < 10_000; i++) assert.equal(comms.read(comm(`proc-${i}`), 0, 16), `proc-${i}`);
  assert.equal(comms.read(buffer, 24, 16), 'worker');
});
