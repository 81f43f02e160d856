import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { parseDnsQuery } from '../../../src/dns/query.js';
import { parseDnsResponse } from '../../../src/dns/wire.js';

const query = (name: string, type: dnsPacket.RecordType = 'A', id = 0x4d2): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });

test('a query gives its id, name (lower case, no trailing dot) and type', () => {
  assert.deepEqual(parseDnsQuery(query('Alpha.Example.', 'AAAA', 7)), { ok: true, query: { id: 7, host: 'alpha.example', qtype: 'AAAA' } });
  assert.deepEqual(parseDnsQuery(query('svc.test', 'MX')), { ok: true, query: { id: 0x4d2, host: 'svc.test', qtype: 'MX' } });
});

test("a query's name reads exactly as its response's, odd bytes included", () => {
  const name = 'we\u0007ird.TEST';
  const asked = parseDnsQuery(query(name));
  const answered = parseDnsResponse(
    dnsPacket.encode({ type: 'response', id: 0x4d2, questions: [{ type: 'A', name }], answers: [] }),
    dnsPacket.encodingLength({ type: 'response', id: 0x4d2, questions: [{ type: 'A', name }], answers: [] }),
  );
  assert.ok(asked.ok && answered.ok);
  assert.equal(asked.query.host, answered.answer.host);
});

test('responses, other opcodes, empty questions and short captures are skipped by reason', () => {
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'a.test' }] });
  assert.deepEqual(parseDnsQuery(response), { ok: false, reason: 'not_query' });
  const notify = Buffer.from(query('a.test'));
  notify[2] = notify[2]! | (4 << 3);
  assert.deepEqual(parseDnsQuery(notify), { ok: false, reason: 'not_query' });
  assert.deepEqual(parseDnsQuery(dnsPacket.encode({ type: 'query', id: 1, questions: [] })), { ok: false, reason: 'no_question' });
  assert.deepEqual(parseDnsQuery(query('a.test').subarray(0, 11)), { ok: false, reason: 'malformed' });
  assert.deepEqual(parseDnsQuery(query('abc.test').subarray(0, 16)), { ok: false, reason: 'malformed' });
});

test('hostile bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const result = parseDnsQuery(bytes);
      assert.equal(typeof result.ok, 'boolean');
    }),
    { numRuns: 3000 },
  );
});
