import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseStartTicks, parseUptimeTicks, ProcessStarts } from '../../../src/system/process-start.js';

const stat = (comm: string, start: number) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 3133440 408 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

test('the start time is field 22 of /proc/<pid>/stat, even when comm holds spaces and parentheses', () => {
  assert.equal(parseStartTicks(stat('cat', 1013812)), 1013812);
  assert.equal(parseStartTicks(stat('a) b (c', 77)), 77);
  assert.equal(parseStartTicks('garbage'), null);
  assert.equal(parseStartTicks('1 (x) S 1'), null);
});

test('uptime seconds become clock ticks', () => {
  assert.equal(parseUptimeTicks('10138.13 14094.36\n'), 1013813);
  assert.equal(parseUptimeTicks(''), null);
  assert.equal(parseUptimeTicks('x y'), null);
});

test('a process is older than the trace when it ran at the start; a pid reused since is not', (t) => {
  const proc = mkdtempSync(join(tmpdir(), 'hostflow-proc-'));
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  writeFileSync(join(proc, 'uptime'), '100.00 50.00\n');
  mkdirSync(join(proc, 'self'));
  const write = (pid: number, start: number) => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'stat'), stat('p', start));
  };
  write(10, 9000);
  write(11, 9500);
  write(12, 9600);
  const starts = new ProcessStarts(proc);
  assert.equal(starts.startedBeforeTrace(10), false, 'before the trace starts nothing is known');
  starts.markTraceStart();
  // After the start: 11 exits, 12 exits and its pid is reused, 13 starts.
  rmSync(join(proc, '11'), { recursive: true });
  write(12, 10_050);
  write(13, 10_060);
  assert.deepEqual(
    [10, 11, 12, 13, 14].map((pid) => starts.startedBeforeTrace(pid)),
    [true, true, false, false, false],
  );
});
