import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CONNECT_PROGRAMS, CONNECT_PROGRAMS, connectProbeCandidates } from '../../../src/kernel/probe-plan.js';

test('auto tries kprobe, then fentry, then the tracepoint', () => {
  assert.deepEqual(
    connectProbeCandidates('auto', { kprobes: true }).map((c) => c.mode),
    ['kprobe', 'fentry', 'tracepoint'],
  );
});

test('without kprobes, auto marks the kprobe mode as skipped with the reason', () => {
  const [kprobe, ...rest] = connectProbeCandidates('auto', { kprobes: false });
  assert.equal(kprobe?.mode, 'kprobe');
  assert.match(kprobe?.skipReason ?? '', /no kprobes/);
  assert.ok(rest.every((c) => c.skipReason === undefined));
});

test('a forced mode is the only candidate, even when known to be missing', () => {
  assert.deepEqual(connectProbeCandidates('fentry', { kprobes: false }), [{ mode: 'fentry' }]);
  const [forced] = connectProbeCandidates('kprobe', { kprobes: false });
  assert.match(forced?.skipReason ?? '', /CONFIG_KPROBES/);
});

test('each mode names its own programs and no program belongs to two modes', () => {
  assert.equal(CONNECT_PROGRAMS.kprobe.length, 4);
  assert.equal(CONNECT_PROGRAMS.fentry.length, 2);
  assert.equal(CONNECT_PROGRAMS.tracepoint.length, 0);
  assert.equal(new Set(ALL_CONNECT_PROGRAMS).size, ALL_CONNECT_PROGRAMS.length);
});
