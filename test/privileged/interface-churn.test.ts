/**
 * A traced interface that goes away and comes back under the same name, as
 * a container's veth does when the container restarts: hostflow keeps
 * tracing what does not depend on it (connections on loopback here), says
 * the interface went away, attaches XDP and TC again once a device of that
 * name exists, counts its flows again, and the summary tells the story.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHostflow, summaryOf, type JsonLine } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS], features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const VETH_PORT = 8091;
const LOOPBACK_PORT = 8092;
const BYTES = 50_000;

const flowsTo = (lines: JsonLine[], iface: string, port: number) =>
  lines.filter((l) => l.type === 'flow' && l.iface === iface && (l.dport === port || l.sport === port));

/** Rebuilds the pair as Topology made it: same names, same addresses, new devices. */
async function recreateVeth(topo: Topology): Promise<void> {
  const { client, server } = topo;
  await run('ip', ['link', 'add', client.iface, 'netns', client.ns, 'type', 'veth', 'peer', 'name', server.iface, 'netns', server.ns]);
  for (const end of [client, server]) {
    await run('ip', ['-n', end.ns, 'addr', 'add', `${end.ipv4}/${end.ipv4PrefixLength}`, 'dev', end.iface]);
    await run('ip', ['-n', end.ns, 'link', 'set', end.iface, 'up']);
  }
}

describe('a traced interface that goes away and comes back', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    topo = await Topology.create({ dns: false });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('is reported gone, the rest keeps being traced, and it is traced again once back', async () => {
    const { client, server } = topo;
    const hostflow = await startHostflow(['-i', client.iface, '-i', 'lo', '--flow-interval', '1', '--no-control', '--no-wire-dns'], { ns: client.ns });
    let result: Awaited<ReturnType<typeof hostflow.stop>>;
    let before: Awaited<ReturnType<typeof tcpFetch>>;
    let during: Awaited<ReturnType<typeof tcpFetch>>;
    let afterBack: Awaited<ReturnType<typeof tcpFetch>>;
    try {
      const remote = await startTcpServer({ ns: server, host: server.ipv4, port: VETH_PORT, bytes: BYTES });
      before = await tcpFetch({ ns: client, host: server.ipv4, port: VETH_PORT });
      await remote.stop();

      // Deleting one end takes the pair (and the server's listener's address) with it.
      await run('ip', ['-n', client.ns, 'link', 'del', client.iface]);
      await hostflow.process.waitForLine(new RegExp(`interface ${client.iface} went away \\(ifindex \\d+\\)`), { stream: 'stderr', timeoutMs: 10_000 });
      const local = await startTcpServer({ ns: client, host: '127.0.0.1', port: LOOPBACK_PORT, bytes: BYTES });
      during = await tcpFetch({ ns: client, host: '127.0.0.1', port: LOOPBACK_PORT });
      await local.stop();

      await recreateVeth(topo);
      await hostflow.process.waitForLine(new RegExp(`interface ${client.iface} is back \\(ifindex \\d+\\): XDP \\w+ and TC attached again`), {
        stream: 'stderr',
        timeoutMs: 10_000,
      });
      const again = await startTcpServer({ ns: server, host: server.ipv4, port: VETH_PORT, bytes: BYTES });
      afterBack = await tcpFetch({ ns: client, host: server.ipv4, port: VETH_PORT });
      await again.stop();
      // The last flow interval closes with the run.
    } finally {
      result = await hostflow.stop();
    }
    assert.equal(result.code, 0, result.stderr);

    const closes = result.lines.filter((l) => l.type === 'conn' && l.event === 'close' && l.direction === 'out');
    for (const [fetch, what] of [
      [before, 'before the interface went away'],
      [during, 'on loopback while it was gone'],
      [afterBack, 'after it came back'],
    ] as const) {
      assert.equal(fetch.bytesReceived, BYTES, what);
      assert.ok(
        closes.some((l) => l.sport === fetch.localPort && l.bytes_received === BYTES),
        `the connection ${what} has its close record: ${JSON.stringify(closes.map((l) => [l.sport, l.bytes_received]))}`,
      );
    }
    const flowPorts = new Set(flowsTo(result.lines, client.iface, VETH_PORT).map((l) => (l.dport === VETH_PORT ? l.sport : l.dport)));
    assert.ok(flowPorts.has(before.localPort), 'flows counted on the first device');
    assert.ok(flowPorts.has(afterBack.localPort), 'flows counted on the device that came back, under the same name');

    const summary = summaryOf(result.stderr);
    assert.match(summary, new RegExp(`note interfaces: ${client.iface} went away 1 time, came back 1 time; at the end traced again`));
    assert.equal(result.summary?.session.interfaceChanges?.map((change) => change.change).join(','), 'gone,back');
    assert.match(summary, /healthy/);
  });
});
