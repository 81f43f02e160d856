/**
 * Throughput kept: a UDP flood (trafgen, one sender, as fast as it goes)
 * from one namespace across a veth pair into another, to the receiver's
 * MAC and address and a port nothing listens on, so every frame that
 * survives goes up the whole stack to UDP (counted in the namespace's
 * Udp NoPorts). The same flood with the real hostflow CLI attached to the
 * receiving veth (XDP ingress, TC egress: flows and wire DNS on), and
 * without; runs alternate and each side keeps its best. Kept = with /
 * without, in frames/s delivered to UDP. A third series attaches the bare
 * xdp_pass and tc_pass programs (build/bpf/xdp_pass.bpf.o, with ip and tc):
 * what any XDP program on a veth costs (the veth turns to NAPI and copies
 * frames without XDP headroom), apart from hostflow's own work. A fourth
 * runs hostflow with --xdp-mode generic: the mode a NIC that refuses native
 * XDP gets (virtio_net with host offloads), where flow_xdp runs on the
 * socket buffer the stack built, after GRO, and a veth stays out of NAPI.
 *
 * Needs root, trafgen (Debian netsniff-ng) and ip.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { Topology } from '../test/helpers/netns.js';
import { findCommand, run } from '../test/helpers/process.js';
import { startHostflow } from '../test/helpers/hostflow.js';

const FRAMES = 600_000;
const ROUNDS = 2;
const TARGET = 0.95;

/** A trafgen config: 60-byte UDP frames from the server's veth to the client's, port 5000. */
function floodConfig(dstMac: string, srcMac: string, srcIp: string, dstIp: string): string {
  const mac = (text: string) =>
    text
      .split(':')
      .map((byte) => `0x${byte}`)
      .join(', ');
  const ip = (text: string) => text.split('.').join(', ');
  return `{
  ${mac(dstMac)},
  ${mac(srcMac)},
  c16(0x0800),
  0x45, 0x00, c16(46), drnd(2), c16(0x4000), 64, 17, csumip(14, 33),
  ${ip(srcIp)},   ${ip(dstIp)},
  c16(4000), c16(5000), c16(26), 0x00, 0x00,
  fill(0x61, 18)
}
`;
}

async function macOf(ns: string, iface: string): Promise<string> {
  const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show', iface]);
  return (JSON.parse(stdout) as Array<{ address: string }>)[0]?.address ?? '';
}

/** Udp NoPorts of a namespace: datagrams that reached UDP and found no socket. */
async function udpNoPorts(ns: string): Promise<number> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']);
  const lines = stdout.split('\n').filter((line) => line.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('NoPorts')] ?? 0);
}

interface FloodRun {
  sent_pps: number;
  delivered: number;
  delivered_pps: number;
}

/** Attaches xdp_pass (ingress) and tc_pass (egress) to a namespace's interface with iproute2; returns the detach. */
async function attachBare(ns: string, iface: string): Promise<() => Promise<void>> {
  const object = join(packageRoot(), 'build/bpf/xdp_pass.bpf.o');
  await run('ip', ['-n', ns, 'link', 'set', 'dev', iface, 'xdp', 'obj', object, 'sec', 'xdp']);
  await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', iface, 'clsact']);
  await run('tc', ['-n', ns, 'filter', 'add', 'dev', iface, 'egress', 'bpf', 'da', 'obj', object, 'sec', 'tc']);
  return async () => {
    await run('ip', ['-n', ns, 'link', 'set', 'dev', iface, 'xdp', 'off']);
    await run('tc', ['-n', ns, 'qdisc', 'del', 'dev', iface, 'clsact']);
  };
}

async function flood(topo: Topology, configFile: string): Promise<FloodRun> {
  const before = await udpNoPorts(topo.client.ns);
  const started = process.hrtime.bigint();
  await run(findCommand('trafgen') ?? 'trafgen', ['-o', topo.server.iface, '-i', configFile, '-n', String(FRAMES), '--no-sock-mem', '-q', '-P', '1'], {
    ns: topo.server.ns,
    timeoutMs: 120_000,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const delivered = (await udpNoPorts(topo.client.ns)) - before;
  return { sent_pps: Math.round(FRAMES / seconds), delivered, delivered_pps: Math.round(delivered / seconds) };
}

export async function benchThroughput(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { name: 'veth_throughput_kept', error: 'needs root' };
  const missing = ['trafgen', 'ip', 'tc'].filter((command) => !findCommand(command));
  if (missing.length > 0) return { name: 'veth_throughput_kept', error: `missing ${missing.join(', ')} (apt-get install netsniff-ng iproute2)` };
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-throughput-bench-'));
  const topo = await Topology.create({ dns: false });
  const without: FloodRun[] = [];
  const withHostflow: FloodRun[] = [];
  const bare: FloodRun[] = [];
  const generic: FloodRun[] = [];
  try {
    const configFile = join(dir, 'flood.cfg');
    writeFileSync(
      configFile,
      floodConfig(await macOf(topo.client.ns, topo.client.iface), await macOf(topo.server.ns, topo.server.iface), topo.server.ipv4, topo.client.ipv4),
    );
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`bench: veth flood round ${round + 1} of ${ROUNDS}\n`);
      without.push(await flood(topo, configFile));
      const detach = await attachBare(topo.client.ns, topo.client.iface);
      try {
        bare.push(await flood(topo, configFile));
      } finally {
        await detach();
      }
      for (const [mode, runs] of [
        ['auto', withHostflow],
        ['generic', generic],
      ] as const) {
        const hostflow = await startHostflow(['-i', topo.client.iface, '--no-control', '--xdp-mode', mode], { ns: topo.client.ns });
        try {
          runs.push(await flood(topo, configFile));
        } finally {
          await hostflow.stop();
        }
      }
    }
  } finally {
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const best = (runs: FloodRun[]) => Math.max(0, ...runs.map((r) => r.delivered_pps));
  const value = best(withHostflow);
  const reference = best(without);
  const kept = value / Math.max(reference, 1);
  return {
    name: 'veth_throughput_kept',
    unit: 'frames/s delivered to UDP in the receiving namespace, hostflow on its veth (XDP + TC)',
    value,
    reference: { name: 'the same flood without hostflow', value: reference },
    ratio: Number(kept.toFixed(3)),
    reference_bare: {
      name: 'the same flood with xdp_pass and tc_pass attached',
      value: best(bare),
      ratio: Number((value / Math.max(best(bare), 1)).toFixed(3)),
    },
    generic: { name: 'hostflow with --xdp-mode generic', value: best(generic), ratio: Number((best(generic) / Math.max(reference, 1)).toFixed(3)) },
    target: `>= ${TARGET * 100}% kept`,
    met: kept >= TARGET,
    frames_per_run: FRAMES,
    frame_bytes: 60,
    without,
    with: withHostflow,
    bare,
    generic_runs: generic,
    note: "trafgen (one process, as fast as it goes) in the server namespace; the receiving veth runs in softirq on the sender's CPU, so the sender slows with it",
  };
}
