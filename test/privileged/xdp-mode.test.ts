/**
 * XDP where the driver refuses native mode. A veth whose peer's MTU is
 * larger than a page refuses native XDP (the kernel answers ERANGE, "Peer
 * MTU is too large to set XDP"), as virtio_net refuses it while the host
 * implements GRO_HW/CSUM (the kernel matrix's virtio line covers that NIC):
 * hostflow must fall back to generic mode, say why at start, in ctl stats,
 * in doctor and in the summary, and count flows there; a forced native mode
 * is one line and exit 1. A veth that takes native mode gets it; loopback
 * has no native XDP at all.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS], features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const SERVER_BYTES = 200_000;
const PORT = 8090;
/** Larger than a page: veth cannot run native XDP for such a peer without multi-buffer support. */
const JUMBO_MTU = 9000;
/** Where the kernel tells why it refused an XDP link (6.5+); older kernels give only the errno. */
const KERNEL_MESSAGES = existsSync('/sys/kernel/tracing/events/xdp/bpf_xdp_link_attach_failed');
const VETH_REFUSAL = KERNEL_MESSAGES
  ? /native refused by veth: Peer MTU is too large to set XDP; ERANGE/
  : /native refused by veth: Numerical result out of range; ERANGE/;

const flows = (lines: JsonLine[], iface: string, direction: string) => lines.filter((l) => l.type === 'flow' && l.iface === iface && l.direction === direction);

describe('XDP modes on a device that refuses native XDP', privilegedSuite(requirements), () => {
  let topo: Topology;
  let controlDir: string;

  before(async () => {
    topo = await Topology.create({ dns: false });
    // The client's veth: its peer (the server's end) gets a jumbo MTU.
    await topo.exec(topo.server, 'ip', ['link', 'set', 'dev', topo.server.iface, 'mtu', String(JUMBO_MTU)]);
    controlDir = mkdtempSync(join(tmpdir(), 'hostflow-xdp-mode-'));
  });

  after(async () => {
    await topo?.destroy();
    if (controlDir) rmSync(controlDir, { recursive: true, force: true });
  });

  test("auto falls back to generic mode with the kernel's reason, and flows are counted there", async () => {
    const server = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, port: PORT, bytes: SERVER_BYTES });
    const socket = join(controlDir, 'control.sock');
    let stats = '';
    let result: Awaited<ReturnType<Awaited<ReturnType<typeof startHostflow>>['stop']>>;
    let fetched: Awaited<ReturnType<typeof tcpFetch>>;
    try {
      const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1', '--control', socket], { ns: topo.client.ns });
      try {
        fetched = await tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: PORT, send: 1000 });
        stats = (await run(process.execPath, [CLI, 'ctl', '--socket', socket, 'stats'])).stdout;
      } finally {
        result = await hostflow.stop('SIGINT');
      }
    } finally {
      await server.stop();
    }
    assert.equal(result.code, 0, result.stderr);
    const start = new RegExp(`xdp on ${topo.client.iface}: generic \\(${VETH_REFUSAL.source}\\)`);
    assert.match(result.stderr, start, 'the start line says generic and why');
    assert.match(stats, new RegExp(`^xdp_${topo.client.iface} generic \\(${VETH_REFUSAL.source}\\)$`, 'm'), stats);
    assert.match(stats, /^health ok$/m, stats);
    assert.match(result.stderr, new RegExp(`summary: note xdp: ${topo.client.iface}: generic \\(${VETH_REFUSAL.source}\\)`));
    assert.match(result.stderr, /summary: healthy: nothing lost, nothing failed/);

    assert.equal(fetched.bytesReceived, SERVER_BYTES);
    const matches = (l: JsonLine, saddr: string, sport: number, daddr: string, dport: number) =>
      l.proto === 'tcp' && l.saddr === saddr && l.sport === sport && l.daddr === daddr && l.dport === dport;
    const ingress = flows(result.lines, topo.client.iface, 'ingress').filter((l) => matches(l, topo.server.ipv4, PORT, topo.client.ipv4, fetched.localPort));
    const egress = flows(result.lines, topo.client.iface, 'egress').filter((l) => matches(l, topo.client.ipv4, fetched.localPort, topo.server.ipv4, PORT));
    const bytes = (records: JsonLine[]) => records.reduce((sum, l) => sum + Number(l.bytes), 0);
    assert.ok(bytes(ingress) > SERVER_BYTES, `generic XDP counted the server's ${SERVER_BYTES} bytes on ingress: ${JSON.stringify(ingress)}`);
    assert.ok(bytes(egress) > 1000, `TC counted the request on egress: ${JSON.stringify(egress)}`);
  });

  test('a forced native mode the driver refuses is one line and exit 1', async () => {
    const result = await run(process.execPath, [CLI, '--headless', '--no-control', '--duration', '5', '-i', topo.client.iface, '--xdp-mode', 'native'], {
      ns: topo.client.ns,
      check: false,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? '',
      new RegExp(`^hostflow: --xdp-mode native: ${topo.client.iface} refuses native XDP \\(veth: .*; ERANGE\\); --xdp-mode auto falls back to generic mode$`),
    );
  });

  test('doctor makes the same start and shows the mode and the reason', async () => {
    const result = await run(process.execPath, [CLI, '-i', topo.client.iface, '--no-control', 'doctor'], {
      ns: topo.client.ns,
      check: false,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`^ok +xdp +${topo.client.iface}: generic \\(${VETH_REFUSAL.source}\\), TC egress attached$`, 'm'));
    assert.match(result.stdout, /^ok +start +everything attached and was taken down again/m);
  });

  test('loopback has no native XDP: auto says so and takes generic mode', async () => {
    const hostflow = await startHostflow(['-i', 'lo', '--no-control'], { ns: topo.client.ns });
    const result = await hostflow.stop('SIGINT');
    assert.equal(result.code, 0, result.stderr);
    const reason = KERNEL_MESSAGES ? 'Underlying driver does not support XDP in native mode' : 'Operation not supported';
    assert.ok(result.stderr.includes(`xdp on lo: generic (native refused by the kernel: ${reason}; EOPNOTSUPP)`), result.stderr);
  });

  test('a veth that takes native mode gets it; --xdp-mode generic is obeyed', async () => {
    await topo.exec(topo.server, 'ip', ['link', 'set', 'dev', topo.server.iface, 'mtu', '1500']);
    try {
      const native = await startHostflow(['-i', topo.client.iface, '--no-control'], { ns: topo.client.ns });
      const nativeResult = await native.stop('SIGINT');
      assert.equal(nativeResult.code, 0, nativeResult.stderr);
      assert.match(nativeResult.stderr, new RegExp(`xdp on ${topo.client.iface}: native\\n`));
      assert.match(nativeResult.stderr, new RegExp(`summary: ok xdp: ${topo.client.iface}: native`));

      const generic = await startHostflow(['-i', topo.client.iface, '--no-control', '--xdp-mode', 'generic'], { ns: topo.client.ns });
      const genericResult = await generic.stop('SIGINT');
      assert.equal(genericResult.code, 0, genericResult.stderr);
      assert.match(genericResult.stderr, new RegExp(`xdp on ${topo.client.iface}: generic \\(as asked\\)`));
    } finally {
      await topo.exec(topo.server, 'ip', ['link', 'set', 'dev', topo.server.iface, 'mtu', String(JUMBO_MTU)]);
    }
  });
});
