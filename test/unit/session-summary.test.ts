import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSummary, type SessionSummary } from '../../src/session.js';

const quiet: SessionSummary = {
  records: { dns: 1, conn: 2, flow: 3 },
  lost: {},
  lostTotal: 0,
  skipped: {},
  skippedTotal: 0,
  closesRecovered: 0,
  malformed: 0,
  wireSkipped: 0,
  late: 0,
  capture: null,
  blocked: [],
};

test('a quiet run says nothing of skipped runs or late events', () => {
  const line = formatSummary(quiet);
  assert.match(line, /^summary: records dns 1, conn 2, flow 3; events lost 0; malformed 0; wire DNS skipped 0$/);
});

test('runs the kernel skipped, closes recovered and late events are each shown', () => {
  const line = formatSummary({ ...quiet, skipped: { sock_state: 868 }, skippedTotal: 868, closesRecovered: 434, late: 7 });
  assert.match(line, /kernel skipped 868 probe runs \(sock_state 868\), 434 closes recovered at socket destroy/);
  assert.match(line, /7 events arrived after the reorder window/);
});
