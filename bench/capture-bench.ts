/**
 * Blocklist and capture figures:
 *
 * - per-packet cost of flow_xdp with the blocklist and the capture modes,
 *   BPF_PROG_TEST_RUN on one IPv4 TCP frame, next to xdp_pass and to
 *   flow_xdp as it runs without them;
 * - capture rate: a UDP flood (trafgen) through a veth pair into a
 *   namespace, captured to a pcap file by hostflow (XDP -> ring buffer ->
 *   pcap writer) and, separately, by tcpdump (AF_PACKET) and xdpdump (its
 *   own XDP program, perf ring) on the same interface, at rising offered
 *   rates: frames written and lost for each.
 *
 * Needs root; the rate part also needs trafgen (Debian netsniff-ng) and
 * tcpdump, xdpdump (xdp-tools) when present, and says what is missing.
 */
import { readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCaptureSpec } from '../src/capture/filter.js';
import { Blocklist } from '../src/kernel/blocklist.js';
import { CaptureMode } from '../src/kernel/layout.js';
import { loadNative } from '../src/kernel/native.js';
import type { BpfObject } from '../src/kernel/native-api.js';
import { packageRoot } from '../src/package-root.js';
import { Topology } from '../test/helpers/netns.js';
import { readPcap, readPcapng } from '../test/helpers/pcap.js';
import { findCommand, ManagedProcess, run } from '../test/helpers/process.js';
import { startHostflow } from '../test/helpers/hostflow.js';
import { ipv4TcpFrame } from './packets.js';

const REPEAT = 1_000_000;
/** Copies fill the ring; stay under its size so that every run copies. */
const CAPTURE_REPEAT = 50_000;

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

interface XdpConfig {
  blocklist?: boolean;
  capture?: string;
}

function loadFlowXdp(config: XdpConfig): BpfObject {
  const object = new (loadNative().BpfObject)();
  for (const program of object.programs()) object.setAutoload(program, program === 'flow_xdp');
  object.setConst('blocklist', Buffer.from([config.blocklist ? 1 : 0]));
  if (config.capture) {
    const spec = parseCaptureSpec(config.capture);
    object.setConst('capture_mode', u32(CaptureMode[spec.mode]));
    if (spec.filter) object.setConst('capture_filter', spec.filter);
  }
  object.setMaxEntries('packets', 16 << 20);
  object.load();
  return object;
}

/** ns/packet of flow_xdp in several configurations, each next to xdp_pass and plain flow_xdp measured right before it. */
export function benchBlocklistCapture(): Record<string, unknown>[] {
  const native = loadNative();
  const frame = ipv4TcpFrame();
  const bare = new native.BpfObject({ object: readFileSync(join(packageRoot(), 'build/bpf/xdp_pass.bpf.o')), name: 'xdp_pass' });
  bare.load();
  const plain = loadFlowXdp({});
  const cases: Array<{ name: string; config: XdpConfig; setup?: (object: BpfObject) => void; repeat?: number }> = [
    { name: 'blocklist_empty', config: { blocklist: true } },
    {
      name: 'blocklist_1000_no_match',
      config: { blocklist: true },
      setup: (object) => {
        const list = new Blocklist(object, 4096, native.possibleCpus());
        for (let i = 0; i < 1000; i++) list.block(`198.${18 + (i >> 8)}.${i & 0xff}.0/24`);
      },
    },
    {
      name: 'blocklist_match_drop',
      config: { blocklist: true },
      setup: (object) => new Blocklist(object, 4096, native.possibleCpus()).block('10.0.0.0/8'),
    },
    { name: 'capture_filter_no_match', config: { capture: 'udp port 53 or host 192.0.2.1' } },
    { name: 'capture_dropped_no_drop', config: { blocklist: true, capture: 'dropped' } },
    { name: 'capture_all_copy', config: { capture: 'all' }, repeat: CAPTURE_REPEAT },
  ];
  const results: Record<string, unknown>[] = [];
  try {
    for (const { name, config, setup, repeat = REPEAT } of cases) {
      const object = loadFlowXdp(config);
      try {
        setup?.(object);
        const reference = bare.testRun('xdp_pass', frame, repeat).durationNs;
        const baseline = plain.testRun('flow_xdp', frame, repeat).durationNs;
        const measured = object.testRun('flow_xdp', frame, repeat).durationNs;
        results.push({
          name: `flow_xdp_${name}`,
          unit: 'ns/packet',
          value: measured,
          reference: { name: 'xdp_pass', value: reference },
          ratio: Number((measured / Math.max(reference, 1)).toFixed(2)),
          baseline: { name: 'flow_xdp without blocklist and capture', value: baseline, ratio: Number((measured / Math.max(baseline, 1)).toFixed(2)) },
          repeat,
        });
      } finally {
        object.close();
      }
    }
  } finally {
    plain.close();
    bare.close();
  }
  return results;
}

/** A UDP frame to a port nothing listens on, to a MAC that is not the receiver's (the stack drops it early). */
const FLOOD_CONFIG = `{
  0xee, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
  c16(0x0800),
  0x45, 0x00, c16(46), drnd(2), c16(0x4000), 64, 17, csumip(14, 33),
  10, 255, 0, 1,   10, 255, 0, 2,
  c16(4000), c16(5000), c16(26), 0x00, 0x00,
  fill(0x61, 18)
}
`;

interface RateResult {
  offered_pps: number | 'max';
  sent: number;
  /** Achieved send rate. */
  sent_pps: number;
  written: number;
  lost: number;
}

async function flood(topo: Topology, configFile: string, count: number, rate: number | 'max'): Promise<{ seconds: number }> {
  const trafgen = findCommand('trafgen') ?? 'trafgen';
  const args = ['-o', topo.server.iface, '-i', configFile, '-n', String(count), '--no-sock-mem', '-q'];
  // One sender: with two, the veth's receive ring (XDP mode) overflows and
  // trafgen stops on EAGAIN.
  args.push('-P', '1');
  if (rate !== 'max') args.push('-b', `${rate}pps`);
  const started = process.hrtime.bigint();
  await run(trafgen, args, { ns: topo.server.ns, timeoutMs: 120_000 });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const RATES: Array<number | 'max'> = [100_000, 200_000, 'max'];
const SECONDS_PER_RATE = 2;

/** Frames/s written to pcap from a veth flood: hostflow next to tcpdump, same flood, same filter. */
export async function benchCaptureRate(): Promise<Record<string, unknown>> {
  const missing = ['trafgen', 'tcpdump', 'ip'].filter((command) => !findCommand(command));
  if (process.getuid?.() !== 0) return { name: 'capture_rate', error: 'needs root' };
  if (missing.length > 0) return { name: 'capture_rate', error: `missing ${missing.join(', ')} (apt-get install netsniff-ng tcpdump)` };
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-capture-bench-'));
  const configFile = join(dir, 'flood.cfg');
  writeFileSync(configFile, FLOOD_CONFIG);
  const topo = await Topology.create({ dns: false });
  const filter = 'udp dst port 5000';
  const hostflow: RateResult[] = [];
  const tcpdump: RateResult[] = [];
  const xdpdump: RateResult[] = [];
  const xdpdumpPath = findCommand('xdpdump');
  try {
    for (const rate of RATES) {
      const count = rate === 'max' ? 600_000 : rate * SECONDS_PER_RATE;
      // hostflow: XDP on the receiving end, the capture ring, the pcap writer.
      const pcap = join(dir, 'hostflow.pcap');
      // As the stand-in this bench ran before: no control socket, no wire DNS, no libc probes.
      const running = await startHostflow(
        ['-i', topo.client.iface, '--capture', filter, '--pcap', pcap, '--no-flows', '--no-control', '--no-wire-dns', '--no-default-libc'],
        { ns: topo.client.ns },
      );
      const sent = await flood(topo, configFile, count, rate);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { summary } = await running.stop();
      const written = readPcap(readFileSync(pcap)).packets.length;
      hostflow.push({
        offered_pps: rate,
        sent: count,
        sent_pps: Math.round(count / sent.seconds),
        written,
        lost: summary?.session.capture?.lost ?? Number.NaN,
      });
      rmSync(pcap, { force: true });

      // tcpdump: AF_PACKET (TPACKET_V3) on the same interface, a 16 MiB buffer.
      const file = join(dir, 'tcpdump.pcap');
      const child = ManagedProcess.start(findCommand('tcpdump') ?? 'tcpdump', ['-i', topo.client.iface, '-n', '-B', '16384', '-w', file, filter], {
        ns: topo.client.ns,
      });
      await child.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });
      const sentTcpdump = await flood(topo, configFile, count, rate);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await child.stop({ signal: 'SIGINT', timeoutMs: 10_000 });
      const dropped = Number(/(\d+) packets dropped by kernel/.exec(child.output(20))?.[1] ?? 0);
      const writtenTcpdump = readPcap(readFileSync(file)).packets.length;
      tcpdump.push({ offered_pps: rate, sent: count, sent_pps: Math.round(count / sentTcpdump.seconds), written: writtenTcpdump, lost: dropped });
      rmSync(file, { force: true });

      // xdpdump: its own XDP program and a perf ring; it has no filter, so the flood's frames are counted in its file.
      if (xdpdumpPath) {
        const out = join(dir, 'xdpdump.pcap');
        const dump = ManagedProcess.start(xdpdumpPath, ['-i', topo.client.iface, '--load-xdp-program', '-w', out], { ns: topo.client.ns });
        await dump.waitForLine(/listening on/, { timeoutMs: 10_000 });
        const sentXdpdump = await flood(topo, configFile, count, rate);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await dump.stop({ signal: 'SIGINT', timeoutMs: 10_000 });
        const perfDrops = Number(/(\d+) packets dropped by perf ring/.exec(dump.output(20))?.[1] ?? 0);
        // xdpdump writes pcapng.
        const frames = readPcapng(readFileSync(out)).packets.filter((p) => p.data.length >= 38 && p.data.readUInt16BE(36) === 5000).length;
        xdpdump.push({ offered_pps: rate, sent: count, sent_pps: Math.round(count / sentXdpdump.seconds), written: frames, lost: perfDrops });
        rmSync(out, { force: true });
      }
    }
  } finally {
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const lossless = (results: RateResult[]) => Math.max(0, ...results.filter((r) => r.written === r.sent).map((r) => r.sent_pps));
  return {
    name: 'capture_rate',
    unit: 'frames/s written to pcap without loss (highest rate tried)',
    value: lossless(hostflow),
    reference: { name: 'tcpdump -B 16384 on the same interface', value: lossless(tcpdump) },
    ratio: Number((lossless(hostflow) / Math.max(lossless(tcpdump), 1)).toFixed(3)),
    reference_xdpdump: xdpdumpPath ? { name: 'xdpdump --load-xdp-program', value: lossless(xdpdump) } : 'xdpdump missing (apt-get install xdp-tools)',
    frame_bytes: 60,
    filter,
    hostflow,
    tcpdump,
    xdpdump,
    note: "trafgen (one process) in one namespace floods a veth pair at a set rate, then as fast as it can (max); the receiving end runs in softirq on the sender's CPU, the consumer on the others",
  };
}
