/**
 * The blocklist on the real kernel: hostflow traces the client namespace of
 * a two-namespace topology, `hostflow ctl block-src` blocks the server's
 * addresses, and the client's connections fail until `unblock-src`. What
 * the blocklist says it dropped is checked against tcpdump counting, in
 * the server namespace, every packet the server sent meanwhile.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { frameTuple } from '../../src/capture/frame.js';
import { runCtl } from '../../src/control/client.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { startHostflow, type RunningHostflow } from '../helpers/hostflow.js';
import { startTcpServer, startUdpSink, tcpFetch, udpSend, type TcpServer } from '../helpers/servers.js';
import { startTcpdump } from '../helpers/tcpdump.js';

const requirements = { commands: ['ip', 'python3', 'tcpdump'], features: ['netns' as const, 'btf' as const] };

async function ctl(socket: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCtl(['--socket', socket, ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('blocklist in network namespaces', privilegedSuite(requirements), () => {
  let topo: Topology;
  let server: TcpServer;
  let hostflow: RunningHostflow;
  let dir: string;
  let socket: string;

  before(async () => {
    topo = await Topology.create({ dns: false });
    // One SYN-ACK per SYN the server gets, no timer-driven ones: once the
    // client stops trying, the server goes quiet and the counts settle.
    await topo.exec(topo.server, 'sysctl', ['-qw', 'net.ipv4.tcp_synack_retries=0']);
    server = await startTcpServer({ ns: topo.server, host: '::', port: 8080, bytes: 1000 });
    dir = mkdtempSync(join(tmpdir(), 'hostflow-block-'));
    socket = join(dir, 'control.sock');
    hostflow = await startHostflow(['-i', topo.client.iface, '--control', socket], { ns: topo.client.ns });
  });

  after(async () => {
    if (hostflow?.process.running) await hostflow.stop();
    await server?.stop();
    await topo?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Drops of an entry, once nothing new has arrived for `quietMs`. */
  async function settledDrops(prefix: string, quietMs = 1500): Promise<{ packets: number; bytes: number }> {
    let last = -1;
    let since = Date.now();
    for (;;) {
      const { stdout, code } = await ctl(socket, '--json', 'list-block-src');
      assert.equal(code, 0, stdout);
      const rows = (JSON.parse(stdout) as { result: Array<{ prefix: string; packets: number; bytes: number }> }).result;
      const row = rows.find((candidate) => candidate.prefix === prefix);
      assert.ok(row, `${prefix} in ${stdout}`);
      if (row.packets !== last) {
        last = row.packets;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return row;
      }
      await sleep(200);
    }
  }

  for (const family of [4, 6] as const) {
    test(`IPv${family}: block-src drops the server's packets, counted exactly as tcpdump saw them leave; unblock-src restores traffic`, async () => {
      const serverAddress = family === 4 ? topo.server.ipv4 : topo.server.ipv6;
      // IPv4: the address itself; IPv6: the topology's /64, ND included.
      const prefix = family === 4 ? `${serverAddress}/32` : `${serverAddress.replace(/::1$/, '::')}/64`;
      const blockArgument = family === 4 ? serverAddress : prefix;
      const before = await tcpFetch({ ns: topo.client, host: serverAddress, port: 8080, family });
      assert.equal(before.bytesReceived, 1000);

      const witness = await startTcpdump({
        ns: topo.server.ns,
        iface: topo.server.iface,
        file: join(dir, `server-${family}.pcap`),
        filter: family === 4 ? `ip src host ${serverAddress}` : `ip6 src net ${prefix}`,
        direction: 'out',
      });
      const blocked = await ctl(socket, 'block-src', blockArgument);
      assert.deepEqual(blocked, { code: 0, stdout: `blocked ${prefix}\n`, stderr: '' });
      const listed = await ctl(socket, 'list-block-src');
      assert.match(listed.stdout, new RegExp(`^${prefix.replace(/[.]/g, '\\.')} packets 0 bytes 0 since \\S+Z$`, 'm'));

      // Connections fail: the server's SYN-ACKs never reach the client.
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(tcpFetch({ ns: topo.client, host: serverAddress, port: 8080, family, timeoutMs: 1200 }), /timed out|RESULT|exited/);
      }
      // And datagrams from the server never arrive.
      const sink = await startUdpSink({ ns: topo.client, host: family === 4 ? topo.client.ipv4 : topo.client.ipv6, port: 9999 });
      await udpSend({ ns: topo.server, host: family === 4 ? topo.client.ipv4 : topo.client.ipv6, port: 9999, count: 25, size: 100, family });
      const drops = await settledDrops(prefix);
      const seen = await witness.stop();
      assert.equal((await sink.stop()).datagrams, 0, 'no datagram got through');
      assert.ok(seen.length >= 25 + 2, `tcpdump saw ${seen.length} packets`);
      const described = seen.map((frame) => {
        const tuple = frameTuple(frame);
        return tuple ? `${tuple.proto}:${tuple.sport ?? frame[14 + (family === 4 ? 20 : 40)]}>${tuple.dport ?? ''}` : 'other';
      });
      assert.equal(drops.packets, seen.length, `every packet the server sent was dropped and counted, no more: ${described.join(' ')}`);
      const headers = seen.reduce((sum, frame) => sum + frame.length - 14, 0);
      assert.equal(drops.bytes, headers, 'bytes are L3 bytes');

      // The flow table saw them too, marked as dropped.
      const sources = JSON.parse((await ctl(socket, '--json', 'list-src')).stdout) as {
        result: Array<{ addr: string; dropped_packets: number; packets: number }>;
      };
      const flow = sources.result.find((row) => row.addr === serverAddress);
      assert.ok(flow && flow.dropped_packets >= 27 && flow.packets >= flow.dropped_packets, JSON.stringify(sources.result));

      const unblocked = await ctl(socket, 'unblock-src', prefix);
      assert.equal(unblocked.code, 0);
      assert.equal(unblocked.stdout, `unblocked ${prefix} packets ${drops.packets} bytes ${drops.bytes}\n`);
      assert.equal((await ctl(socket, 'list-block-src')).stdout, '');
      const after = await tcpFetch({ ns: topo.client, host: serverAddress, port: 8080, family, timeoutMs: 5000 });
      assert.equal(after.bytesReceived, 1000);
    });
  }

  test('bad prefixes are refused with a reason, and the tracer keeps running', async () => {
    const cases: Array<[string, RegExp]> = [
      ['10.1.2.3/8', /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/],
      ['example.com', /is not an IP address or prefix/],
      ['fd00::/200', /prefix length must be 0\.\.128/],
    ];
    for (const [argument, message] of cases) {
      const result = await ctl(socket, 'block-src', argument);
      assert.equal(result.code, 1);
      assert.match(result.stderr, message);
    }
    assert.equal((await ctl(socket, 'unblock-src', '192.0.2.1')).code, 1);
    assert.ok(hostflow.process.running);
    const { code, summary, stderr } = await hostflow.stop();
    assert.equal(code, 0, stderr);
    assert.equal(summary?.verdict, 'healthy', JSON.stringify(summary?.lines));
    assert.ok((summary?.control?.requests ?? 0) > 10, JSON.stringify(summary?.control));
    assert.ok((summary?.control?.errors ?? 0) >= cases.length + 1, 'the refused commands were counted as errors');
    assert.deepEqual(summary?.session.blocked, [], 'both prefixes were unblocked');
  });
});
