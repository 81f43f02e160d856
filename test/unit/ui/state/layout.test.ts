import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COLUMN_GAP, fitCell, fitColumns, type ColumnShape } from '../../../../src/ui/state/layout.js';
import { VIEWS, VIEW_IDS } from '../../../../src/ui/state/views.js';

const used = (widths: number[]) => {
  const kept = widths.filter((w) => w > 0);
  return kept.reduce((sum, w) => sum + w, 0) + COLUMN_GAP * (kept.length - 1);
};

test('columns never overflow the width, from 40 to 300 columns, in every view', () => {
  for (const id of VIEW_IDS) {
    for (let width = 40; width <= 300; width++) {
      const widths = fitColumns(VIEWS[id].columns, width);
      assert.ok(used(widths) <= width, `${id} at ${width}: ${widths}`);
    }
  }
});

test('the least important columns go first, and the spare width goes to the flexible ones', () => {
  const columns: ColumnShape[] = [
    { min: 10, flex: 1, priority: 0 },
    { min: 5, priority: 2 },
    { min: 5, priority: 1 },
    { min: 8, flex: 1, max: 12, priority: 0 },
  ];
  assert.deepEqual(fitColumns(columns, 31), [10, 5, 5, 8]);
  assert.deepEqual(fitColumns(columns, 25), [10, 0, 5, 8]);
  assert.deepEqual(fitColumns(columns, 19), [10, 0, 0, 8]);
  const wide = fitColumns(columns, 60);
  assert.equal(wide[3], 12, 'capped at max');
  assert.equal(used(wide), 60, 'the rest goes to the uncapped flexible column');
});

test('at 80 columns every view keeps its essential columns', () => {
  const kept = (id: (typeof VIEW_IDS)[number]) => {
    const widths = fitColumns(VIEWS[id].columns, 80);
    return VIEWS[id].columns.filter((_, i) => (widths[i] ?? 0) > 0).map((c) => c.id);
  };
  assert.deepEqual(kept('hosts'), ['host', 'processes', 'open', 'connections', 'lookups', 'in', 'out', 'rate', 'seen']);
  for (const id of ['process', 'proto', 'remote', 'host', 'state', 'sent', 'received']) assert.ok(kept('connections').includes(id), id);
  for (const id of ['remote', 'host', 'process', 'packets', 'bytes']) assert.ok(kept('flows').includes(id), id);
  for (const id of ['time', 'process', 'fails', 'name', 'answer', 'latency', 'source']) assert.ok(kept('dns').includes(id), id);
});

test('cells are padded or cut with an ellipsis to their exact width', () => {
  assert.equal(fitCell('abc', 5), 'abc  ');
  assert.equal(fitCell('abc', 5, 'right'), '  abc');
  assert.equal(fitCell('abcdefgh', 5), 'abcd…');
  assert.equal(fitCell('abc', 1), '…');
  assert.equal(fitCell('abc', 0), '');
});
