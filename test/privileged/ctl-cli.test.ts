/**
 * The blocklist, control socket and capture as a user runs them: hostflow
 * with --control and --pcap in the client namespace, `hostflow ctl` (the
 * real CLI) blocking and unblocking the server, and the capture file read
 * back by tcpdump.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, startHostflow, type RunningHostflow } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch, type TcpServer } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'tcpdump'], features: ['netns' as const, 'btf' as const] };

describe('hostflow ctl and --pcap from the command line', privilegedSuite(requirements), () => {
  let topo: Topology;
  let server: TcpServer;
  let hostflow: RunningHostflow;
  let dir: string;
  let socket: string;
  let pcap: string;

  const ctl = (...args: string[]) => run(process.execPath, [CLI, 'ctl', '--socket', socket, ...args], { check: false });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostflow-ctl-'));
    socket = join(dir, 'control.sock');
    pcap = join(dir, 'dropped.pcap');
    topo = await Topology.create({ hosts: ({ server: s }) => [{ name: 'blocked.ctl.test', ipv4: s.ipv4 }] });
    server = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, port: 8080, bytes: 1000 });
    hostflow = await startHostflow(['-i', topo.client.iface, '--control', socket, '--pcap', pcap, '--capture', 'dropped'], { ns: topo.client.ns });
  });

  after(async () => {
    if (hostflow?.process.running) await hostflow.stop();
    await server?.stop();
    await topo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('block-src stops the traffic, list-block-src shows it, unblock-src restores it; dropped packets are in the pcap', async () => {
    assert.equal((await tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: 8080 })).bytesReceived, 1000, 'reachable before');

    const blocked = await ctl('block-src', topo.server.ipv4);
    assert.equal(blocked.code, 0, blocked.stderr);
    const listed = await ctl('list-block-src');
    assert.match(listed.stdout, new RegExp(`${topo.server.ipv4.replaceAll('.', '\\.')}/32`));

    await assert.rejects(tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: 8080, timeoutMs: 1500 }), "blocked: the server's answers are dropped");

    const json = await ctl('--json', 'list-block-src');
    const entry = (JSON.parse(json.stdout) as { result: Array<{ prefix: string; packets: number }> }).result.find((e) => e.prefix === `${topo.server.ipv4}/32`);
    assert.ok(entry && entry.packets > 0, `drops counted: ${json.stdout}`);

    const unblocked = await ctl('--json', 'unblock-src', topo.server.ipv4);
    assert.equal(unblocked.code, 0, unblocked.stderr);
    const dropped = JSON.stringify(JSON.parse(unblocked.stdout));
    const droppedPackets = Number(/"packets":(\d+)/.exec(dropped)?.[1]);
    assert.ok(droppedPackets >= entry.packets, `unblock answers what was dropped: ${dropped}`);
    assert.equal((await tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: 8080 })).bytesReceived, 1000, 'reachable again');

    const { code, stderr } = await hostflow.stop();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /summary: ok capture: \d+ frames captured, none lost/);
    const read = await run('tcpdump', ['-nn', '-r', pcap, 'src', topo.server.ipv4]);
    const packets = read.stdout.trim().split('\n').filter(Boolean);
    assert.ok(packets.length > 0, 'the dropped packets are in the file');
    assert.equal(packets.length, droppedPackets, 'every dropped packet is in the file, and nothing else');
  });

  test('a malformed ctl command is one error line and a non-zero exit', async () => {
    const result = await run(process.execPath, [CLI, 'ctl', '--socket', join(dir, 'missing.sock'), 'stats'], { check: false });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr.trim(), /^hostflow ctl: .+/);
  });
});
