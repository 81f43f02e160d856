import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FOLDED, LabelBound, TrafficLabels, UNKNOWN } from '../../../src/metrics/label-bound.js';

test('a label keeps its first values up to the limit and folds the later ones, counting each fold', () => {
  const bound = new LabelBound(2);
  assert.equal(bound.value('a'), 'a');
  assert.equal(bound.value('b'), 'b');
  assert.equal(bound.value('c'), FOLDED);
  assert.equal(bound.value('a'), 'a', 'a kept value stays itself');
  assert.equal(bound.value('c'), FOLDED);
  assert.equal(bound.size, 2);
  assert.equal(bound.folded, 2);
});

test('a missing value is UNKNOWN and takes no room; a raw value spelling the fold marker is folded', () => {
  const bound = new LabelBound(1);
  assert.equal(bound.value(null), UNKNOWN);
  assert.equal(bound.value(''), UNKNOWN);
  assert.equal(bound.value(FOLDED), FOLDED);
  assert.equal(bound.size, 0);
  assert.equal(bound.value('x'), 'x');
});

test('hostnames are bounded per process name, process names and answer codes on their own; the stats say the bounds and the folds', () => {
  const labels = new TrafficLabels({ processes: 2, hostnamesPerProcess: 2 });
  const curl = labels.comm('curl');
  const wget = labels.comm('wget');
  assert.equal(labels.comm('python3'), FOLDED);
  assert.deepEqual(
    ['a', 'b', 'c'].map((host) => labels.host(curl, host)),
    ['a', 'b', FOLDED],
  );
  assert.deepEqual(
    ['c', 'd', 'e', null].map((host) => labels.host(wget, host)),
    ['c', 'd', FOLDED, UNKNOWN],
  );
  assert.equal(labels.host(FOLDED, 'z'), 'z', 'the folded process name has its own hostnames');
  assert.equal(labels.status('NXDOMAIN'), 'NXDOMAIN');
  assert.deepEqual(labels.stats(), [
    { label: 'comm', limit: 2, values: 2, folded: 1 },
    { label: 'host', limit: 2, values: 5, folded: 2 },
    { label: 'status', limit: 32, values: 1, folded: 0 },
  ]);
});
