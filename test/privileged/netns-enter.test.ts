/**
 * hostflow entered into a network namespace with `nsenter --net`, as in a
 * container or a pod that mounts the host's /sys: its network is the
 * namespace's, but /sys/class/net still shows the host's interfaces.
 * Interfaces must be found in the kernel's view of the process's own
 * namespace: the namespace's veth is traced, and an unknown name lists the
 * namespace's interfaces. (`ip netns exec`, which the other tests use,
 * mounts a fresh sysfs and so cannot show this.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CLI, startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'nsenter'], features: ['netns' as const, 'btf' as const] };

const PORT = 8091;
const SERVER_BYTES = 50_000;

describe('hostflow in a network namespace entered with nsenter --net', privilegedSuite(requirements), () => {
  let topo: Topology;
  let enter: string[];

  before(async () => {
    topo = await Topology.create({ dns: false });
    enter = ['nsenter', `--net=/run/netns/${topo.client.ns}`];
  });

  after(async () => {
    await topo?.destroy();
  });

  test("the namespace's interface is traced, though /sys shows the host's", async () => {
    assert.equal(existsSync(`/sys/class/net/${topo.client.iface}`), false, 'this sysfs belongs to another namespace than the traced interface');
    const server = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, port: PORT, bytes: SERVER_BYTES });
    let result: Awaited<ReturnType<Awaited<ReturnType<typeof startHostflow>>['stop']>>;
    let fetched: Awaited<ReturnType<typeof tcpFetch>>;
    try {
      const hostflow = await startHostflow(['-i', topo.client.iface, '--no-control', '--flow-interval', '1'], { launcher: enter });
      try {
        fetched = await tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: PORT });
      } finally {
        result = await hostflow.stop('SIGINT');
      }
    } finally {
      await server.stop();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`xdp on ${topo.client.iface}: native`));
    const ours = (l: JsonLine) => l.iface === topo.client.iface && (l.sport === fetched.localPort || l.dport === fetched.localPort);
    const directions = new Set(result.lines.filter((l) => l.type === 'flow' && ours(l)).map((l) => l.direction));
    assert.deepEqual([...directions].sort(), ['egress', 'ingress'], JSON.stringify(result.lines.filter((l) => l.type === 'flow')));
    const conn = result.lines.find((l) => l.type === 'conn' && l.event === 'close' && l.sport === fetched.localPort);
    assert.ok(conn, JSON.stringify(result.lines.filter((l) => l.type === 'conn')));
    assert.equal(conn.bytes_received, SERVER_BYTES);
  });

  test("an unknown interface lists the namespace's interfaces, not the host's", async () => {
    const result = await run(
      enter[0] ?? 'nsenter',
      [...enter.slice(1), process.execPath, CLI, '--headless', '--no-control', '--duration', '1', '-i', 'nope0'],
      { check: false, timeoutMs: 60_000 },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim(), `hostflow: unknown interface 'nope0' (known: lo, ${topo.client.iface})`);
  });

  test("doctor, entered the same way, picks and attaches the namespace's interface", async () => {
    const result = await run(enter[0] ?? 'nsenter', [...enter.slice(1), process.execPath, CLI, '-i', topo.client.iface, '--no-control', 'doctor'], {
      check: false,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`^ok +xdp +${topo.client.iface}: native, TC egress attached$`, 'm'));
  });
});
