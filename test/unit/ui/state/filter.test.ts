import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesFilter, parseFilter, type SearchFields } from '../../../../src/ui/state/filter.js';

const row: SearchFields = {
  hosts: ['api.example.com', null],
  processes: ['curl'],
  addresses: ['10.0.0.2', '93.184.216.34'],
  ports: [50000, 443],
  pids: [4242],
  protos: ['udp'],
  statuses: ['NXDOMAIN', 'failed', null],
};
const matches = (text: string) => matchesFilter(row, parseFilter(text));

test('a bare word matches a name, a process or an address in part, a port or pid exactly', () => {
  assert.ok(matches('API'));
  assert.ok(matches('cur'));
  assert.ok(matches('93.184'));
  assert.ok(matches('443'));
  assert.ok(matches('4242'));
  assert.ok(!matches('44'));
  assert.ok(!matches('nginx'));
  assert.ok(matches(''));
});

test('every word must match, fields narrow the search, and ! negates', () => {
  assert.ok(matches('api curl'));
  assert.ok(!matches('api nginx'));
  assert.ok(matches('port:443 proc:curl host:example addr:10.0. pid:4242'));
  assert.ok(!matches('host:curl'));
  assert.ok(!matches('port:4'));
  assert.ok(matches('!nginx'));
  assert.ok(!matches('!curl'));
  assert.deepEqual(parseFilter('  Port:443   !proc:x weird:thing '), [
    { field: 'port', value: '443', negate: false },
    { field: 'process', value: 'x', negate: true },
    { field: 'any', value: 'weird:thing', negate: false },
  ]);
});

test('proto: matches the protocol exactly, status: a status in part; bare words find both', () => {
  assert.ok(matches('proto:udp'));
  assert.ok(matches('proto:UDP'));
  assert.ok(!matches('proto:tcp'));
  assert.ok(!matches('proto:ud'));
  assert.ok(matches('status:nxdomain'));
  assert.ok(matches('status:failed curl'));
  assert.ok(matches('status:nx'));
  assert.ok(!matches('status:timeout'));
  assert.ok(matches('udp'));
  assert.ok(matches('nxdomain'));
  assert.ok(matches('!proto:tcp'));
});
