/**
 * A connect from an IPv6 socket to an IPv4-mapped address (::ffff:a.b.c.d),
 * as dual-stack clients make: the kernel runs tcp_v6_connect, which hands
 * the call to tcp_v4_connect on the same thread and socket. In kprobe mode
 * both returns fire; the connect probe must make one record of them and
 * count no lost entry. The kernel matrix runs this file in every connect
 * mode (HOSTFLOW_TEST_CONNECT_PROBE); here the mode is auto's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectProbeModes } from '../helpers/connect-probe.js';
import { startHostflow, type JsonLine, summaryOf } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { pythonClient, startReplyServer, type ClientResult } from '../helpers/workload.js';

const requirements = { commands: TOPOLOGY_COMMANDS, features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const SEND = 300;
const REPLY = 4000;
const unmapped = (address: unknown) => String(address).replace(/^::ffff:/, '');

describe('an IPv4-mapped connect from an IPv6 socket', privilegedSuite(requirements), () => {
  let topo: Topology;
  let client: ClientResult;
  let lines: JsonLine[] = [];
  let stderr = '';
  let code: number | null = null;

  before(async () => {
    topo = await Topology.create({ dns: false });
    const server = await startReplyServer({ ns: topo.server, host: '::' });
    try {
      const hostflow = await startHostflow(['--no-flows', '--no-wire-dns', '--no-control'], { ns: topo.client.ns });
      try {
        client = await pythonClient({ ns: topo.client, host: `::ffff:${topo.server.ipv4}`, family: 6, port: server.port, send: SEND, reply: REPLY });
      } finally {
        ({ lines, stderr, code } = await hostflow.stop('SIGINT'));
      }
    } finally {
      await server.stop();
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  test('is one connection, opened and closed once, in the connect mode in use, and loses nothing', (t) => {
    t.diagnostic(summaryOf(stderr));
    assert.equal(code, 0, stderr);
    const mine = lines.filter((l) => l.type === 'conn' && l.sport === client.localPort && unmapped(l.daddr) === topo.server.ipv4);
    const opens = mine.filter((l) => l.event === 'open');
    const closes = mine.filter((l) => l.event === 'close');
    assert.equal(opens.length, 1, JSON.stringify(mine));
    assert.equal(closes.length, 1, JSON.stringify(mine));
    for (const record of [...opens, ...closes]) {
      assert.equal(record.pid, client.pid);
      assert.equal(record.direction, 'out');
      assert.match(String(record.probe), new RegExp(`^(${connectProbeModes()})$`));
    }
    assert.equal(closes[0]?.bytes_sent, SEND);
    assert.equal(closes[0]?.bytes_received, REPLY);
    assert.doesNotMatch(stderr, /connecting_full|PROBLEM tables/);
  });
});
