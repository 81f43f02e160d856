import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slope } from '../../../bench/soak.js';
import { parseThreadStat, threadCpu } from '../../../bench/thread-cpu.js';

test("a thread's stat line: its comm (spaces and parentheses included) and utime + stime in seconds", () => {
  const line = '4242 (V8 Worker) (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 7 0 12345 0 0';
  assert.deepEqual(parseThreadStat(line), { comm: 'V8 Worker) (x)', seconds: 1.75 });
  assert.equal(parseThreadStat('garbage'), null);
});

test('CPU per second by kind of thread: main is the pid, hostflow-poll the poll thread, V8 threads apart', () => {
  const before = {
    threads: new Map([
      [10, { comm: 'node', seconds: 1 }],
      [11, { comm: 'hostflow-poll', seconds: 0.5 }],
      [12, { comm: 'V8 DefaultWorke', seconds: 0 }],
    ]),
  };
  const after = {
    threads: new Map([
      [10, { comm: 'node', seconds: 2 }],
      [11, { comm: 'hostflow-poll', seconds: 0.9 }],
      [12, { comm: 'V8 DefaultWorke', seconds: 0.2 }],
      [13, { comm: 'libuv-worker', seconds: 0.1 }],
    ]),
  };
  assert.deepEqual(threadCpu(10, before, after, 2), { total: 0.85, main: 0.5, poll: 0.2, v8: 0.1, other: 0.05 });
});

test('the slope of a line, of noise around a flat line, and of too few points', () => {
  assert.equal(
    slope([
      [0, 1],
      [1, 3],
      [2, 5],
    ]),
    2,
  );
  assert.ok(
    Math.abs(
      slope([
        [0, 100],
        [1, 101],
        [2, 99],
        [3, 100],
      ]),
    ) < 0.5,
  );
  assert.equal(slope([[0, 1]]), 0);
});
