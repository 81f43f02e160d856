import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseProcStat } from '../../../src/system/proc-stat.js';

const stat = (comm: string, ppid: number, start: number) =>
  Buffer.from(
    `4242 (${comm}) S ${ppid} 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 3133440 408 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`,
  );

test('comm, parent and start time (fields 2, 4 and 22) of a stat line', () => {
  assert.deepEqual(parseProcStat(stat('curl', 1, 1_013_812)), { comm: 'curl', ppid: 1, startTicks: 1_013_812 });
});

test('comm with spaces, parentheses and a newline: the fields resume after the last )', () => {
  assert.deepEqual(parseProcStat(stat('(a) b)', 7, 77)), { comm: '(a) b)', ppid: 7, startTicks: 77 });
  assert.deepEqual(parseProcStat(stat(') S 9 9 9', 8, 88)), { comm: ') S 9 9 9', ppid: 8, startTicks: 88 });
  assert.deepEqual(parseProcStat(stat('x\ny', 2, 3)), { comm: 'x\ny', ppid: 2, startTicks: 3 });
});

test('comm bytes decode as the kernel events decode them: invalid UTF-8 becomes U+FFFD', () => {
  const line = Buffer.concat([Buffer.from('1 ('), Buffer.from([0x66, 0xff, 0xe2, 0x82]), stat('', 1, 5).subarray('4242 ('.length)]);
  assert.deepEqual(parseProcStat(line), { comm: new TextDecoder().decode(Buffer.from([0x66, 0xff, 0xe2, 0x82])), ppid: 1, startTicks: 5 });
});

test('a malformed stat line is null, whatever its bytes', () => {
  for (const text of [
    '',
    'garbage',
    '1 (x)',
    '1 (x) S',
    '1 (x) S 1',
    '1 x) S 1 (',
    ') (',
    '1 (x)S 1 2 3',
    '1 (x) S -1 1 1 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 5',
  ]) {
    assert.equal(parseProcStat(Buffer.from(text)), null, JSON.stringify(text));
  }
  assert.equal(parseProcStat(stat('x', 1, 1e30)), null, 'start beyond 2^53');
  assert.equal(parseProcStat(stat('x', 1, 0.5)), null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      parseProcStat(bytes);
    }),
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (comm) => {
      assert.equal(parseProcStat(stat(comm, 3, 4))?.startTicks, 4);
    }),
  );
});
