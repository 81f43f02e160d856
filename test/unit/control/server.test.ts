/**
 * The control socket under bad input and load, on a real Unix socket with a
 * scripted backend: garbage, a 1 MB line, a client that hangs up mid-line,
 * a client that never reads, 50 clients at once. Every well-formed command
 * must still get its answer.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlServer } from '../../../src/control/server.js';
import type { ControlBackend } from '../../../src/control/commands.js';
import type { FlowEntry } from '../../../src/kernel/flows.js';
import { openClient, type RawClient } from '../../helpers/control-client.js';
import { waitFor } from '../../helpers/fake-terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const flows: FlowEntry[] = [
  {
    ifindex: 2,
    direction: 'in',
    proto: 6,
    family: 4,
    saddr: '192.0.2.1',
    sport: 443,
    daddr: '10.0.0.2',
    dport: 5000,
    packets: 9,
    bytes: 900,
    droppedPackets: 0,
    droppedBytes: 0,
    firstSeenNs: 1,
    lastSeenNs: 2,
    tcpFlags: 0x12,
  },
];

function backend(): ControlBackend & { reads: number } {
  const blocked = new Set<string>();
  const state = {
    reads: 0,
    readFlows: () => {
      state.reads++;
      return flows;
    },
    nameOf: (address: string) => (address === '192.0.2.1' ? 'web.test' : null),
    blocklist: {
      block: (prefix: string) => {
        const added = !blocked.has(prefix);
        blocked.add(prefix);
        return { prefix, added };
      },
      unblock: (prefix: string) => (blocked.delete(prefix) ? { prefix, family: 4 as const, packets: 0, bytes: 0, addedMs: 0 } : null),
      list: () => [...blocked].map((prefix) => ({ prefix, family: 4 as const, packets: 0, bytes: 0, addedMs: 0 })),
    },
    stats: () => ({ events: 1 }),
  };
  return state;
}

/** The server's ends of its connections: ControlServer keeps them private; tests read their byte counts and state. */
function serverEnds(server: ControlServer): Socket[] {
  return [...(server as unknown as { sockets: Set<Socket> }).sockets];
}

/** A new client, with the server's end of its connection. */
async function openWithEnd(server: ControlServer): Promise<[RawClient, Socket]> {
  const before = new Set(serverEnds(server));
  const client = await openClient(server.path);
  let end: Socket | undefined;
  await waitFor(
    () => (end = serverEnds(server).find((socket) => !before.has(socket))) !== undefined,
    () => 'the server never accepted the client',
  );
  return [client, end as Socket];
}

describe('control socket', () => {
  let server: ControlServer;
  let path: string;
  let state: ReturnType<typeof backend>;

  before(async () => {
    path = join(dir, 'run', 'hostflow', 'control.sock');
    state = backend();
    server = await ControlServer.start({ path, backend: state, flowCacheMs: 0 });
  });
  after(() => server.close());

  test('the socket is 0600 in a directory created 0700', () => {
    assert.ok(lstatSync(path).isSocket());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'run', 'hostflow')).mode & 0o777, 0o700);
  });

  test("the seed's commands answer in text, and the same line prefixed with json answers one JSON line", async () => {
    const client = await openClient(path);
    client.socket.write('list-src\njson list-src\nblock-src 192.0.2.1/32\nlist-block-src\n');
    const answers = await client.answers(3);
    assert.deepEqual(answers[0], ['192.0.2.1 packets 9 bytes 900 dropped 0 host web.test', 'ok']);
    assert.deepEqual(JSON.parse(answers[1]?.[0] ?? ''), {
      ok: true,
      command: 'list-src',
      result: [{ addr: '192.0.2.1', packets: 9, bytes: 900, dropped_packets: 0, host: 'web.test' }],
    });
    assert.deepEqual(answers[2], ['blocked 192.0.2.1/32', 'ok']);
    const [listed] = (await client.answers(4)).slice(3);
    assert.match(listed?.[0] ?? '', /^192\.0\.2\.1\/32 packets 0 bytes 0 since /);
    client.close();
  });

  test('mode json switches the whole connection; quit answers and closes', async () => {
    const client = await openClient(path);
    client.socket.write('mode json\nstats\nnope\nquit\n');
    const answers = await client.answers(4, { json: true });
    assert.deepEqual(
      answers.map(([line]) => JSON.parse(line ?? '')),
      [
        { ok: true, command: 'mode', result: 'json' },
        { ok: true, command: 'stats', result: { health: 'ok', events: 1 } },
        { ok: false, command: null, error: `unknown command 'nope' (try: help)` },
        { ok: true, command: 'quit', result: null },
      ],
    );
    if (!client.socket.closed) await new Promise((resolve) => client.socket.once('close', resolve));
  });

  test('garbage, a 1 MB line and blank lines get error answers (or none) and the commands around them their answers', async () => {
    const client = await openClient(path);
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0d]);
    client.socket.write(Buffer.concat([Buffer.from('stats\n'), garbage, Buffer.from('\n\n   \n')]));
    client.socket.write(`block-src ${'9'.repeat(1 << 20)}`);
    client.socket.write('\nunblock-src\nstats\n');
    const answers = await client.answers(5);
    assert.deepEqual(answers[0], ['health ok', 'events 1', 'ok']);
    assert.match(answers[1]?.[0] ?? '', /^error: unknown command '\?+\[2j' \(try: help\)$/);
    assert.deepEqual(answers[2], ['error: line longer than 4096 bytes; skipped']);
    assert.deepEqual(answers[3], ['error: usage: unblock-src ADDRESS|PREFIX']);
    assert.deepEqual(answers[4], ['health ok', 'events 1', 'ok']);
    // Nothing more: the long line had exactly one answer. Answers come in
    // order, so a stray one would come before the answer to this help.
    client.socket.write('help\n');
    const [help] = (await client.answers(6)).slice(5);
    assert.match(help?.[0] ?? '', /^list-src \[LIMIT\]/);
    assert.equal(
      client
        .received()
        .split('\n')
        .filter((line) => line === 'ok' || line.startsWith('error: ')).length,
      6,
    );
    client.close();
  });

  test('a line split across writes is one command; a client that hangs up mid-line disturbs nobody', async () => {
    const [client, end] = await openWithEnd(server);
    client.socket.write('sta');
    // The server reads 'sta' on its own before the rest is sent.
    await waitFor(
      () => end.bytesRead === 3,
      () => `the server read ${end.bytesRead} bytes, not 3`,
    );
    client.socket.write('ts\nlist-');
    const [answer] = await client.answers(1);
    assert.deepEqual(answer, ['health ok', 'events 1', 'ok']);
    const quitter = await openClient(path);
    quitter.socket.end('block-src 203.0.113.');
    quitter.socket.destroy();
    client.socket.write('src\n');
    const answers = await client.answers(2);
    assert.equal(answers[1]?.at(-1), 'ok');
    const list = await openClient(path);
    list.socket.write('list-block-src\n');
    const [blocked] = await list.answers(1);
    assert.ok(!blocked?.some((line) => line.startsWith('203.0.113')), 'the half line was never run');
    list.close();
    client.close();
  });

  test('50 clients at once, each pipelining commands among garbage, all get every answer in order', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => openClient(path)));
    const readsBefore = state.reads;
    clients.forEach((client, index) => {
      const lines = [`block-src 198.51.100.${index}/32`, '\u0007garbage', 'list-src', 'stats', `unblock-src 198.51.100.${index}/32`];
      // Dribbled out in small pieces, so lines are split across reads.
      const text = `${lines.join('\n')}\n`;
      for (let at = 0; at < text.length; at += 7) client.socket.write(text.slice(at, at + 7));
    });
    const all = await Promise.all(clients.map((client) => client.answers(5)));
    all.forEach((answers, index) => {
      assert.deepEqual(answers[0], [`blocked 198.51.100.${index}/32`, 'ok']);
      assert.match(answers[1]?.[0] ?? '', /^error: unknown command/);
      assert.deepEqual(answers[2], ['192.0.2.1 packets 9 bytes 900 dropped 0 host web.test', 'ok']);
      assert.deepEqual(answers[3], ['health ok', 'events 1', 'ok']);
      assert.deepEqual(answers[4], [`unblocked 198.51.100.${index}/32 packets 0 bytes 0`, 'ok']);
    });
    assert.ok(state.reads - readsBefore <= 50, 'one flow-table read per list-src at most');
    for (const client of clients) client.close();
  });

  test('a client that never reads its answers is paused, and others are still answered at once', async () => {
    const [hog, end] = await openWithEnd(server);
    hog.socket.pause();
    hog.socket.write('help\n'.repeat(20_000));
    // The server stops answering the hog once its answers back up, and stops reading it.
    await waitFor(
      () => end.isPaused() && end.writableLength >= server.maxPendingAnswerBytes,
      () => `the hog's connection is ${end.isPaused() ? '' : 'not '}paused with ${end.writableLength} bytes of answers queued`,
    );
    const other = await openClient(path);
    const started = Date.now();
    other.socket.write('stats\n');
    assert.deepEqual((await other.answers(1))[0], ['health ok', 'events 1', 'ok']);
    assert.ok(Date.now() - started < 1000);
    hog.close();
    other.close();
  });
});

describe('control socket commands', () => {
  /** Arguments that make each command that needs them succeed, in the order below. */
  const ARGS: Readonly<Record<string, string>> = {
    'list-src': '1',
    'list-dst': '1',
    'block-src': '192.0.2.9',
    'unblock-src': '192.0.2.9',
    'block-host': 'every.test',
    'unblock-host': 'every.test',
  };

  test('every command help lists is answered ok through the socket, mode and quit by the connection', async () => {
    const path = join(dir, 'every.sock');
    const hosts = new Map<string, string[]>();
    const server = await ControlServer.start({
      path,
      backend: {
        ...backend(),
        listHosts: () => [{ addr: '192.0.2.1', host: 'web.test' }],
        hostBlocks: {
          block: async (name) => {
            hosts.set(name, ['192.0.2.8']);
            return { name, added: true, addrs: ['192.0.2.8'], new_addrs: ['192.0.2.8'], lookup: { addrs: ['192.0.2.8'] }, refused: 0, failures: [] };
          },
          unblock: (name) => (hosts.delete(name) ? { name, released: ['192.0.2.8'], kept: [] } : null),
          list: () => [...hosts].map(([name, addrs]) => ({ name, addrs, refused: 0, addedMs: 0 })),
          sourceBlocked: () => {},
          sourceUnblocked: () => null,
        },
      },
    });
    try {
      const client = await openClient(path);
      client.socket.write('mode json\nhelp\n');
      const [, help] = await client.answers(2, { json: true });
      const listed = (JSON.parse(help?.[0] ?? '') as { result: Array<{ command: string; usage: string }> }).result;
      const names = listed.map(({ command }) => command);
      assert.ok(names.includes('mode') && names.includes('quit') && names.includes('block-host'), names.join(' '));
      // quit last: it closes the connection.
      const order = [...names.filter((name) => name !== 'quit'), 'quit'];
      client.socket.write(order.map((name) => `${name} ${name === 'mode' ? 'json' : (ARGS[name] ?? '')}\n`).join(''));
      const answers = (await client.answers(2 + order.length, { json: true })).slice(2);
      answers.forEach(([line], index) => {
        const answer = JSON.parse(line ?? '') as { ok: boolean; command: string; error?: string };
        assert.deepEqual([answer.command, answer.ok, answer.error], [order[index], true, undefined], line);
      });
      if (!client.socket.closed) await new Promise((resolve) => client.socket.once('close', resolve));
    } finally {
      await server.close();
    }
  });
});

describe('control socket file', () => {
  test('a stale socket file is replaced; a live socket or another file is not taken over', async () => {
    const path = join(dir, 'stale.sock');
    const first = await ControlServer.start({ path, backend: {} });
    await assert.rejects(ControlServer.start({ path, backend: {} }), /another process \(another hostflow\?\) listens on/);
    await first.close();
    // A hostflow killed with SIGKILL leaves its socket file behind, with nobody listening.
    const orphan = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((resolve) => orphan.stdout.once('data', resolve));
    orphan.kill('SIGKILL');
    await new Promise((resolve) => orphan.once('exit', resolve));
    assert.ok(lstatSync(path).isSocket(), 'the stale socket file is there');
    await new Promise<void>((resolve, reject) => {
      const probe = connect(path);
      probe.once('error', () => resolve());
      probe.once('connect', () => reject(new Error('still listening')));
    });
    const second = await ControlServer.start({ path, backend: { stats: () => ({ up: true }) } });
    const client = await openClient(path);
    client.socket.write('stats\n');
    assert.deepEqual((await client.answers(1))[0], ['health ok', 'up true', 'ok']);
    client.close();
    await second.close();
    const regular = join(dir, 'regular');
    writeFileSync(regular, 'x');
    await assert.rejects(ControlServer.start({ path: regular, backend: {} }), /exists and is not a socket/);
  });
});

describe('control socket with a slow command', () => {
  test("block-host waiting for its lookup keeps its connection's answers in order and delays no other client", async () => {
    const path = join(dir, 'slow.sock');
    let release: () => void = () => {};
    const lookupDone = new Promise<void>((resolve) => (release = resolve));
    const state = backend();
    const server = await ControlServer.start({
      path,
      backend: {
        ...state,
        hostBlocks: {
          block: async (name) => {
            await lookupDone;
            return { name, added: true, addrs: ['192.0.2.7'], new_addrs: ['192.0.2.7'], lookup: { addrs: ['192.0.2.7'] }, refused: 0, failures: [] };
          },
          unblock: () => null,
          list: () => [],
          sourceBlocked: () => {},
          sourceUnblocked: () => null,
        },
      },
    });
    try {
      const [slow, end] = await openWithEnd(server);
      const lines = 'block-host slow.test\nstats\n';
      slow.socket.write(lines);
      const other = await openClient(path);
      other.socket.write('stats\n');
      assert.deepEqual(await other.answers(1), [['health ok', 'events 1', 'ok']], 'another client is answered while the lookup runs');
      // The server stops reading the connection while block-host waits; by then an answer to stats out of turn would be written.
      await waitFor(
        () => end.isPaused(),
        () => `the server still reads the waiting connection (${end.bytesRead} of ${lines.length} bytes read)`,
      );
      assert.equal(end.bytesWritten, 0, 'nothing overtakes the waiting answer');
      assert.equal(server.stats.requests, 1, "only the other client's stats is answered");
      release();
      assert.deepEqual(await slow.answers(2), [
        ['blocked slow.test addrs 192.0.2.7 new 192.0.2.7', 'lookup 192.0.2.7', 'ok'],
        ['health ok', 'events 1', 'ok'],
      ]);
      slow.close();
      other.close();
    } finally {
      await server.close();
    }
  });
});
