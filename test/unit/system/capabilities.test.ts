import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, effectiveCapabilities, missingCapabilities, privilegeProblem } from '../../../src/system/capabilities.js';

const bit = (cap: number) => 1n << BigInt(cap);

test("root's full capability set lacks nothing", () => {
  const mask = effectiveCapabilities('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n');
  assert.deepEqual(missingCapabilities(mask), []);
  assert.equal(privilegeProblem(mask), null);
});

test('an unprivileged process is told exactly which capabilities it lacks', () => {
  const mask = effectiveCapabilities('CapEff:\t0000000000000000\n');
  assert.deepEqual(missingCapabilities(mask), ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
  assert.match(privilegeProblem(mask) ?? '', /needs root, or CAP_BPF \+ CAP_PERFMON \+ CAP_NET_ADMIN/);
});

test('CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN are enough without root', () => {
  assert.deepEqual(missingCapabilities(bit(CAP_BPF) | bit(CAP_PERFMON) | bit(CAP_NET_ADMIN)), []);
  assert.deepEqual(missingCapabilities(bit(CAP_BPF) | bit(CAP_PERFMON)), ['CAP_NET_ADMIN']);
});
