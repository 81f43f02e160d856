import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countByAddress, runCommand, startCommand, type CommandContext, type ControlBackend } from '../../../src/control/commands.js';
import { blockHost } from '../../../src/control/block-host.js';
import { HostBlocks } from '../../../src/control/host-blocks.js';
import { formatAnswer, parseRequest, type Answer, type Request } from '../../../src/control/protocol.js';
import { Blocklist } from '../../../src/kernel/blocklist.js';
import type { FlowEntry } from '../../../src/kernel/flows.js';

function flow(saddr: string, daddr: string, packets: number, droppedPackets = 0): FlowEntry {
  return {
    ifindex: 2,
    direction: 'in',
    proto: 17,
    family: saddr.includes(':') ? 6 : 4,
    saddr,
    sport: 1,
    daddr,
    dport: 2,
    packets,
    bytes: packets * 100,
    droppedPackets,
    droppedBytes: droppedPackets * 100,
    firstSeenNs: 1,
    lastSeenNs: 2,
    tcpFlags: 0,
  };
}

/** runCommand's answer to a command that answers at once (all but block-host). */
function now(req: Request, context: CommandContext): Answer {
  const answer = runCommand(req, context);
  assert.ok(!(answer instanceof Promise), `${req.command.name} answers at once`);
  return answer;
}

function request(line: string): Request {
  const parsed = parseRequest(line);
  if (parsed.kind !== 'request') throw new Error(`not a request: ${line}`);
  return parsed.request;
}

/** The real Blocklist over in-memory maps. */
function blocklist(): Blocklist {
  const maps = new Map<string, Map<string, Buffer>>();
  const table = (name: string) => maps.get(name) ?? maps.set(name, new Map()).get(name)!;
  return new Blocklist(
    {
      update: (map, key, value) => void table(map).set(key.toString('hex'), Buffer.from(value)),
      delete: (map, key) => table(map).delete(key.toString('hex')),
      lookup: (map, key) => table(map).get(key.toString('hex')) ?? null,
    },
    16,
    1,
  );
}

const flows = [flow('10.0.0.1', '10.0.0.9', 5, 5), flow('10.0.0.2', '10.0.0.9', 7), flow('10.0.0.1', '10.0.0.8', 3)];

test('packets are counted by source or destination address, most first, with hostnames', () => {
  const nameOf = (address: string) => (address === '10.0.0.1' ? 'one.test' : null);
  assert.deepEqual(countByAddress(flows, 'src', nameOf), [
    { addr: '10.0.0.1', packets: 8, bytes: 800, dropped_packets: 5, host: 'one.test' },
    { addr: '10.0.0.2', packets: 7, bytes: 700, dropped_packets: 0, host: null },
  ]);
  assert.deepEqual(
    countByAddress(flows, 'dst').map((row) => [row.addr, row.packets]),
    [
      ['10.0.0.9', 12],
      ['10.0.0.8', 3],
    ],
  );
  // The flow table's bucket of non-IP frames has no address to list.
  const other = { ...flow('::', '::', 40), proto: 0 };
  assert.deepEqual(countByAddress([other], 'src'), []);
});

test('list-src answers labelled text lines and JSON rows, and takes a limit', () => {
  const backend: ControlBackend = { readFlows: () => flows, nameOf: () => null };
  const answer = now(request('list-src 1'), { backend, flows: () => flows });
  assert.deepEqual(answer, {
    ok: true,
    command: 'list-src',
    result: [{ addr: '10.0.0.1', packets: 8, bytes: 800, dropped_packets: 5, host: null }],
    lines: ['10.0.0.1 packets 8 bytes 800 dropped 5 host -'],
  });
  const bad = now(request('list-dst zero'), { backend, flows: () => flows });
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
  const run = (line: string) => now(request(line), { backend, flows: () => [] });
  assert.deepEqual(run('block-src 192.0.2.1'), {
    ok: true,
    command: 'block-src',
    result: { prefix: '192.0.2.1/32', added: true },
    lines: ['blocked 192.0.2.1/32'],
  });
  assert.deepEqual(run('block-src 192.0.2.1'), {
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
  const run = (line: string) => now(request(line), { backend: {}, flows: () => [] });
  assert.match((run('block-src 10.0.0.1') as { error: string }).error, /without a blocklist/);
  assert.match((run('list-src') as { error: string }).error, /flows are not counted/);
  assert.match((run('list-hosts') as { error: string }).error, /not available/);
  assert.match((run('stats') as { error: string }).error, /not available/);
});

test('stats and list-hosts print what their hooks return', () => {
  const backend: ControlBackend = { stats: () => ({ events: 3, capture_lost: 0, mode: null }), listHosts: () => [{ addr: '10.0.0.1', host: 'one.test' }] };
  const run = (line: string) => now(request(line), { backend, flows: () => [] });
  assert.deepEqual((run('stats') as { lines: string[] }).lines, ['health ok', 'events 3', 'capture_lost 0 ok', 'mode -']);
  assert.deepEqual((run('list-hosts') as { lines: string[] }).lines, ['10.0.0.1 one.test']);
});

test('stats say plainly which counters report a problem, and health names them', () => {
  const backend: ControlBackend = { stats: () => ({ events_decoded: 9, events_lost: 5, capture_lost: 0, probe_runs_skipped: 2, xdp_eth0: 'generic' }) };
  const answer = now(request('stats'), { backend, flows: () => [] }) as { lines: string[]; result: Record<string, unknown> };
  assert.deepEqual(answer.lines, [
    'health PROBLEM: events_lost, probe_runs_skipped',
    'events_decoded 9',
    'events_lost 5 PROBLEM',
    'capture_lost 0 ok',
    'probe_runs_skipped 2 PROBLEM',
    'xdp_eth0 generic',
  ]);
  assert.equal(answer.result.health, 'PROBLEM: events_lost, probe_runs_skipped');
});

test('block-host, list-block-host and unblock-host answer in text and JSON; block-src and unblock-src respect names', async () => {
  const list = blocklist();
  const blocks = new HostBlocks(() => list, { now: () => Date.UTC(2026, 0, 1) });
  const backend: ControlBackend = {
    blocklist: list,
    hostBlocks: {
      block: (name) => blockHost(blocks, name, { indexAddrs: () => ['192.0.2.1'], lookup: () => Promise.reject(new Error('getaddrinfo ENOTFOUND')) }),
      unblock: (name) => blocks.remove(name),
      list: () => blocks.list(),
      sourceBlocked: (prefix) => blocks.sourceBlocked(prefix),
      sourceUnblocked: (text) => blocks.sourceUnblocked(text),
    },
  };
  const context = { backend, flows: () => [] };
  const answer = await startCommand(request('block-host Web.Test'), context);
  assert.deepEqual(answer, {
    ok: true,
    command: 'block-host',
    result: {
      name: 'web.test',
      added: true,
      addrs: ['192.0.2.1'],
      new_addrs: ['192.0.2.1'],
      lookup: { error: 'getaddrinfo ENOTFOUND' },
      refused: 0,
      failures: [],
    },
    lines: ['blocked web.test addrs 192.0.2.1 new 192.0.2.1', 'lookup failed: getaddrinfo ENOTFOUND'],
  });
  assert.deepEqual(now(request('list-block-host'), context), {
    ok: true,
    command: 'list-block-host',
    result: [{ name: 'web.test', addrs: ['192.0.2.1'], refused: 0, since: '2026-01-01T00:00:00.000000Z' }],
    lines: ['web.test addrs 192.0.2.1 refused 0 since 2026-01-01T00:00:00.000000Z'],
  });
  // block-src of the same address, then unblock-host: the entry stays for block-src.
  now(request('block-src 192.0.2.1'), context);
  assert.deepEqual((now(request('unblock-host web.test'), context) as { lines: string[] }).lines, [
    'unblocked web.test released -',
    'kept 192.0.2.1 for block-src',
  ]);
  assert.deepEqual(
    list.list().map((entry) => entry.prefix),
    ['192.0.2.1/32'],
  );
  // A name holding an address: unblock-src leaves it blocked and says so.
  await startCommand(request('block-host web.test'), context);
  assert.deepEqual(now(request('unblock-src 192.0.2.1'), context), {
    ok: true,
    command: 'unblock-src',
    result: { prefix: '192.0.2.1/32', kept_for: ['web.test'] },
    lines: ['192.0.2.1/32 stays blocked for web.test (unblock-host removes it)'],
  });
  assert.deepEqual((now(request('unblock-host web.test'), context) as { lines: string[] }).lines, ['unblocked web.test released 192.0.2.1']);
  assert.deepEqual(list.list(), []);
  assert.deepEqual(now(request('unblock-host web.test'), context), {
    ok: false,
    command: 'unblock-host',
    error: 'web.test is not blocked (list-block-host lists what is)',
  });

  const wildcard = (await startCommand(request('block-host *.ads.test'), {
    backend: { ...backend, hostBlocks: { ...backend.hostBlocks!, block: (name) => blockHost(blocks, name, { indexAddrs: () => [], lookup: async () => [] }) } },
    flows: () => [],
  })) as { lines: string[] };
  assert.deepEqual(wildcard.lines, [
    'blocked *.ads.test addrs - new -',
    'lookup skipped (a wildcard: its names are blocked as they resolve)',
    'no addresses yet: each is blocked as soon as the name resolves',
  ]);
});

test('block-host refuses a name with escapes in one printable line, and answers an error without a blocklist', async () => {
  const blocks = new HostBlocks(() => blocklist());
  const backend: ControlBackend = {
    blocklist: blocklist(),
    hostBlocks: {
      block: (name) => blockHost(blocks, name, { indexAddrs: () => [], lookup: async () => [] }),
      unblock: (name) => blocks.remove(name),
      list: () => [],
      sourceBlocked: () => {},
      sourceUnblocked: () => null,
    },
  };
  const bad = (await startCommand(request('block-host \x1b]0;owned\x07.test'), { backend, flows: () => [] })) as { ok: boolean; error: string };
  assert.equal(bad.ok, false);
  assert.match(bad.error, /^'\?\]0;owned\?\.test' is not a host name/);
  const printed = formatAnswer(bad as Answer, false);
  assert.ok(
    [...printed.trimEnd()].every((char) => char >= ' ' && char <= '~'),
    `printable only: ${JSON.stringify(printed)}`,
  );
  const unblock = now(request('unblock-host \x1b[2J'), { backend, flows: () => [] }) as { error: string };
  assert.match(unblock.error, /^'\?\[2J' is not a host name/);
  for (const line of ['block-host a.test', 'unblock-host a.test', 'list-block-host']) {
    const answer = (await startCommand(request(line), { backend: {}, flows: () => [] })) as { error: string };
    assert.match(answer.error, /without a blocklist/);
  }
});
