import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crowdedTables, crowdedWarning, fillStats, type FillLevel } from '../../../src/format/fill-levels.js';
import { summaryText } from '../../../src/format/health.js';
import { sessionSummaryLines } from '../../../src/format/session-summary.js';
import type { SessionSummary } from '../../../src/session.js';
import { QUIET_SUMMARY } from '../../helpers/summary.js';

const level = (table: string, used: number, peak: number, capacity: number, option: string | null = null): FillLevel => ({
  table,
  used,
  peak,
  capacity,
  option,
});

test('a table is crowded once its peak reached 80% of its bound, fullest first, whatever it holds now', () => {
  const levels = [level('names_global', 10, 799, 1000), level('connections', 0, 800, 1000, '--socket-table-size'), level('kernel_flows', 950, 950, 1000)];
  assert.deepEqual(
    crowdedTables(levels).map((l) => l.table),
    ['kernel_flows', 'connections'],
  );
  assert.equal(
    crowdedWarning(levels),
    'kernel_flows 95% (of 1000), connections 80% (of 1000, --socket-table-size): over 80% full, the oldest entries go once one is full',
  );
  assert.equal(crowdedWarning([level('names_global', 10, 799, 1000)]), null);
  assert.deepEqual(crowdedTables([level('empty', 0, 0, 0)]), [], 'a table without a bound is never crowded');
});

test('ctl stats shows each table as used/capacity and its peak share', () => {
  assert.deepEqual(fillStats([level('dns_queries', 3, 12, 16384)]), { fill_dns_queries: '3/16384', fill_dns_queries_peak_pct: 0.1 });
});

test('the summary notes a crowded table without calling the run unhealthy', () => {
  const summary: SessionSummary = {
    ...QUIET_SUMMARY,
    fill: [level('names_by_process', 900, 900, 1000, '--process-cache-size')],
  };
  assert.deepEqual(summaryText(sessionSummaryLines(summary)).slice(2), [
    'summary: note tables: names_by_process 90% (of 1000, --process-cache-size): over 80% full, the oldest entries go once one is full',
    'summary: healthy: nothing lost, nothing failed (1 note above)',
  ]);
});
