import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countByAddress, runCommand, type ControlBackend } from '../../../src/control/commands.js';
import { parseRequest, type Request } from '../../../src/control/protocol.js';
import type { FlowEntry } from '../../../src/kernel/flows.js';

function flow(saddr: string, daddr: string, packets: number, droppedPackets = 0): FlowEntry {
  return {
    ifindex: 2, direction: 'in', proto: 17, family: saddr.includes(':') ? 6 : 4, saddr, sport: 1, daddr, dport: 2,
    packets, bytes: packets * 100, droppedPackets, droppedBytes: droppedPackets * 100, firstSeenNs: 1, lastSeenNs: 2, tcpFlags: 0,
  };
}

function request(line: string): Request {
  const parsed = parseRequest(line);
  if (parsed.kind !== 'request') throw new Error(`not a request: ${line}`);
  return parsed.request;
}

const flows = [flow('10.0.0.1', '10.0.0.9', 5, 5), flow('10.0.0.2', '10.0.0.9', 7), flow('10.0.0.1', '10.0.0.8', 3)];

test('packets are counted by source or destination address, most first, with hostnames', () => {
  const nameOf = (address: string) => (address === '10.0.0.1' ? 'one.test' : null);
  assert.deepEqual(countByAddress(flows, 'src', nameOf), [
    { addr: '10.0.0.1', packets: 8, bytes: 800, dropped_packets: 5, host: 'one.test' },
    { addr: '10.0.0.2', packets: 7, bytes: 700, dropped_packets: 0, host: null },
  ]);
  assert.deepEqual(countByAddress(flows, 'dst').map((row) => [row.addr, row.packets]), [['10.0.0.9', 12], ['10.0.0.8', 3]]);
  // The flow table's bucket of non-IP frames has no address to list.
  const other = { ...flow('::', '::', 40), proto: 0 };
  assert.deepEqual(countByAddress([other], 'src'), []);
});

test('list-src answers labelled text lines and JSON rows, and takes a limit', () => {
  const backend: ControlBackend = { readFlows: () => flows, nameOf: () => null };
  const answer = runCommand(request('list-src 1'), { backend, flows: () => flows });
  assert.deepEqual(answer, {
    ok: true,
    command: 'list-src',
    result: [{ addr: '10.0.0.1', packets: 8, bytes: 800, dropped_packets: 5, host: null }],
    lines: ['10.0.0.1 packets 8 bytes 800 dropped 5 host -'],
  });
  const bad = runCommand(request('list-dst zero'), { backend, flows: () => flows });
  assert.deepEqual(bad, { ok: false, command: 'list-dst', error: 'usage: list-dst [LIMIT] (LIMIT a positive number)' });
});

test('blocklist commands report what changed, and errors of the blocklist become error answers', () => {
  const blocked = new Map<string, number>();
  const backend: ControlBackend = {
    blocklist: {
      block: (prefix) => {
        if (prefix === 'bad') throw new Error(`'bad' is not an IP address or prefix`);
        const added = !blocked.has(prefix);
        blocked.set(prefix, 0);
        return { prefix: `${prefix}/32`, added };
      },
      unblock: (prefix) => (blocked.delete(prefix) ? { prefix: `${prefix}/32`, family: 4, packets: 3, bytes: 252, addedMs: 0 } : null),
      list: () => [...blocked.keys()].map((prefix) => ({ prefix: `${prefix}/32`, family: 4, packets: 1, bytes: 84, addedMs: Date.UTC(2026, 0, 1) })),
    },
  };
  const run = (line: string) => runCommand(request(line), { backend, flows: () => [] });
  assert.deepEqual(run('block-src 192.0.2.1').ok && run('block-src 192.0.2.1'), {
    ok: true,
    command: 'block-src',
    result: { prefix: '192.0.2.1/32', added: false },
    lines: ['already blocked 192.0.2.1/32'],
  });
  assert.deepEqual(run('list-block-src'), {
    ok: true,
    command: 'list-block-src',
    result: [{ prefix: '192.0.2.1/32', packets: 1, bytes: 84, added: '2026-01-01T00:00:00.000000Z' }],
    lines: ['192.0.2.1/32 packets 1 bytes 84 since 2026-01-01T00:00:00.000000Z'],
  });
  assert.deepEqual(run('block-src bad'), { ok: false, command: 'block-src', error: `'bad' is not an IP address or prefix` });
  assert.deepEqual((run('unblock-src 192.0.2.1') as { lines: string[] }).lines, ['unblocked 192.0.2.1/32 packets 3 bytes 252']);
  assert.deepEqual(run('unblock-src 192.0.2.1'), { ok: false, command: 'unblock-src', error: '192.0.2.1 is not blocked (list-block-src lists what is)' });
});

test('a missing hook is an error answer that says why', () => {
  const run = (line: string) => runCommand(request(line), { backend: {}, flows: () => [] });
  assert.match((run('block-src 10.0.0.1') as { error: string }).error, /without a blocklist/);
  assert.match((run('list-src') as { error: string }).error, /flows are not counted/);
  assert.match((run('list-hosts') as { error: string }).error, /not available/);
  assert.match((run('stats') as { error: string }).error, /not available/);
});

test('stats and list-hosts print what their hooks return', () => {
  const backend: ControlBackend = { stats: () => ({ events: 3, capture_lost: 0, mode: null }), listHosts: () => [{ addr: '10.0.0.1', host: 'one.test' }] };
  const run = (line: string) => runCommand(request(line), { backend, flows: () => [] });
  assert.deepEqual((run('stats') as { lines: string[] }).lines, ['events 3', 'capture_lost 0', 'mode -']);
  assert.deepEqual((run('list-hosts') as { lines: string[] }).lines, ['10.0.0.1 one.test']);
});
