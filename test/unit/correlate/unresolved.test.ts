/**
 * The rule that turns evidence into one `unresolved` reason: each reason
 * is the first that applies, in the order UNRESOLVED_REASONS lists, and
 * the README's table documents each of them once, in that same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnresolvedEvidence, type ReasonInput } from '../../../src/correlate/unresolved.js';
import { packageRoot } from '../../../src/package-root.js';
import { UNRESOLVED_REASONS, type UnresolvedReason } from '../../../src/records/types.js';

const PID = 42;
const ADDR = '192.0.2.10';
const TS_NS = 5e9;

/** The reason of one outgoing connection when exactly `causes` hold. */
function reasonWhen(causes: ReadonlySet<UnresolvedReason>): UnresolvedReason {
  const evidence = new UnresolvedEvidence((pid) => pid === PID && causes.has('process_before_start'));
  if (causes.has('cache_expired')) evidence.named([ADDR]);
  if (causes.has('address_literal')) evidence.literal(PID, ADDR);
  if (causes.has('encrypted_dns')) evidence.encryptedDns(PID, TS_NS);
  const input: ReasonInput = {
    direction: causes.has('inbound') ? 'in' : 'out',
    pid: PID,
    addr: ADDR,
    tsNs: TS_NS,
    openedBeforeTrace: causes.has('socket_before_start'),
    encryptedHello: causes.has('encrypted_client_hello'),
  };
  return evidence.reason(input);
}

test('each reason wins over every reason listed after it, and yields to every one before it', () => {
  UNRESOLVED_REASONS.forEach((reason, index) => {
    assert.equal(reasonWhen(new Set(UNRESOLVED_REASONS.slice(index))), reason, `${reason} and all after it hold`);
    assert.equal(reasonWhen(new Set([reason])), reason, `${reason} alone holds`);
  });
});

test('a socket older than the trace and a process older than the trace are told apart', () => {
  assert.equal(reasonWhen(new Set(['socket_before_start'])), 'socket_before_start');
  assert.equal(reasonWhen(new Set(['process_before_start'])), 'process_before_start');
  assert.ok(!(UNRESOLVED_REASONS as readonly string[]).includes('lookup_before_start'), 'the old value that meant either is gone');
});

test("the README's table lists every reason once, in the order the rules apply", () => {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('**Why a name is missing (`unresolved`).**');
  assert.ok(start >= 0, 'the README has the section');
  const table = readme
    .slice(start)
    .split('\n\n')
    .find((block) => block.startsWith('| reason |'));
  assert.ok(table, 'the section has a table');
  const documented = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1]);
  assert.deepEqual(documented, [...UNRESOLVED_REASONS]);
});
