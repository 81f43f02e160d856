import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameIndex, type NameMatch } from '../../../src/correlate/names.js';

/** The match without the entry's expiry. */
const matchOf = (match: NameMatch | null) => match && { host: match.host, source: match.source };

const SECOND = 1e9;

test("a process's own lookup names its connections before the global index does", () => {
  const names = new NameIndex();
  names.learnFromProcess(100, 'a.test', ['192.0.2.1'], null);
  names.learnFromProcess(200, 'b.test', ['192.0.2.1'], null);
  assert.deepEqual(matchOf(names.resolve(100, '192.0.2.1')), { host: 'a.test', source: 'process' });
  assert.deepEqual(matchOf(names.resolve(200, '192.0.2.1')), { host: 'b.test', source: 'process' });
  assert.deepEqual(matchOf(names.resolve(300, '192.0.2.1')), { host: 'b.test', source: 'global' }, 'others get the most recent name');
  assert.equal(names.resolve(100, '192.0.2.9'), null);
});

test('wire answers only feed the global index', () => {
  const names = new NameIndex();
  names.learnFromWire('w.test', [['198.51.100.7', 60]]);
  assert.deepEqual(matchOf(names.resolve(100, '198.51.100.7')), { host: 'w.test', source: 'global' });
  assert.equal(names.nameOf('198.51.100.7'), 'w.test');
});

test('entries expire after the DNS TTL, but never before the floor', () => {
  const names = new NameIndex({ minTtlSeconds: 5 });
  names.advanceTo(1000 * SECOND);
  names.learnFromWire('short.test', [['192.0.2.10', 1]]);
  names.learnFromWire('long.test', [['192.0.2.20', 30]]);
  names.learnFromProcess(1, 'gai.test', ['192.0.2.30'], null);
  names.advanceTo(1004 * SECOND);
  assert.equal(names.nameOf('192.0.2.10'), 'short.test', 'the floor keeps a 1 s TTL alive for 5 s');
  names.advanceTo(1006 * SECOND);
  assert.equal(names.nameOf('192.0.2.10'), null);
  assert.equal(names.nameOf('192.0.2.30'), null, 'a lookup without TTL lives for the floor');
  assert.equal(names.nameOf('192.0.2.20'), 'long.test');
  names.advanceTo(1031 * SECOND);
  assert.equal(names.nameOf('192.0.2.20'), null);
});

test('the clock never goes back, so a late event cannot revive an expired name', () => {
  const names = new NameIndex({ minTtlSeconds: 1 });
  names.advanceTo(10 * SECOND);
  names.learnFromWire('x.test', [['192.0.2.1', 1]]);
  names.advanceTo(20 * SECOND);
  names.advanceTo(10.5 * SECOND);
  assert.equal(names.nameOf('192.0.2.1'), null);
});

test('the indexes are bounded and drop the least recently used names', () => {
  const names = new NameIndex({ processEntries: 2, globalEntries: 2 });
  names.learnFromProcess(1, 'one.test', ['192.0.2.1'], null);
  names.learnFromProcess(1, 'two.test', ['192.0.2.2'], null);
  names.learnFromProcess(1, 'three.test', ['192.0.2.3'], null);
  assert.deepEqual(names.sizes, { process: 2, global: 2 });
  assert.equal(names.resolve(1, '192.0.2.1'), null);
  assert.equal(names.resolve(1, '192.0.2.3')?.host, 'three.test');
});

test("a process's own names are found again after others pushed them out, expired or were learned anew", () => {
  const names = new NameIndex({ processEntries: 2, globalEntries: 1, minTtlSeconds: 1 });
  names.learnFromProcess(1, 'one.test', ['192.0.2.1'], null);
  names.learnFromProcess(1, 'one.test', ['192.0.2.1'], null);
  names.learnFromProcess(2, 'two.test', ['192.0.2.2', '192.0.2.3'], null);
  assert.equal(names.resolve(1, '192.0.2.1'), null, "pid 1's only entry was pushed out (learning it twice counted it once)");
  names.learnFromProcess(1, 'again.test', ['192.0.2.1'], null);
  assert.deepEqual(matchOf(names.resolve(1, '192.0.2.1')), { host: 'again.test', source: 'process' });
  names.advanceTo(2 * SECOND);
  assert.equal(names.resolve(1, '192.0.2.1'), null, 'expired');
  names.learnFromProcess(1, 'third.test', ['192.0.2.1'], null);
  assert.deepEqual(matchOf(names.resolve(1, '192.0.2.1')), { host: 'third.test', source: 'process' });
});
