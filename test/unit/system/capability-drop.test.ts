import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDrop, threadCapabilities, threadsHoldingMore, type DropReport } from '../../../src/system/capability-drop.js';
import { capabilityBit } from '../../../src/system/capability-needs.js';

const keep = capabilityBit('CAP_BPF') | capabilityBit('CAP_NET_ADMIN');
const thread = (tid: number, effective: bigint, ambient = 0n) => ({ tid, effective, permitted: effective, inheritable: 0n, ambient });

test("each thread's sets are read from its own status file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-task-'));
  try {
    mkdirSync(join(dir, '41'));
    writeFileSync(
      join(dir, '41', 'status'),
      'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t0000008000001000\nCapEff:\t0000008000001000\nCapAmb:\t0000000000000000\n',
    );
    mkdirSync(join(dir, '42'));
    assert.deepEqual(threadCapabilities(dir), [thread(41, keep)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a thread holding anything outside the kept set, in any set, is named', () => {
  const threads = [thread(1, keep), thread(2, keep | capabilityBit('CAP_SYS_ADMIN')), thread(3, capabilityBit('CAP_BPF'), capabilityBit('CAP_PERFMON'))];
  assert.deepEqual(
    threadsHoldingMore(threads, keep).map((entry) => entry.tid),
    [2, 3],
  );
});

test('the start line says what was kept, and where the drop did not reach', () => {
  const done: DropReport = { keep, drop: { signalled: 11, answered: 11, failed: 0, timedOut: false }, error: null, threads: 12, holding: [] };
  assert.equal(describeDrop(done), 'capabilities: kept CAP_NET_ADMIN, CAP_BPF, dropped the rest in all 12 threads');
  const partial: DropReport = { ...done, drop: { signalled: 11, answered: 10, failed: 0, timedOut: true }, holding: [thread(7, keep | 1n)] };
  assert.equal(describeDrop(partial), 'capabilities: kept CAP_NET_ADMIN, CAP_BPF; 1 of 12 threads still hold more (tids 7, did not answer)');
  assert.equal(
    describeDrop({ ...done, drop: null, error: 'dropCapabilities(capset): Operation not permitted (EPERM)' }),
    'capabilities: not dropped: dropCapabilities(capset): Operation not permitted (EPERM)',
  );
});
