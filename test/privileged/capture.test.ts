/**
 * Packet capture on the real kernel. The capture filter compiled into
 * flow_xdp picks the same frames as tcpdump's own filter (BPF_PROG_TEST_RUN
 * on hand-built frames); in network namespaces, `--capture dropped` writes
 * exactly the frames the blocklist dropped, byte for byte as tcpdump saw
 * them leave the other end; pcapng files carry process and hostname
 * comments that tshark reads; the snaplen cuts frames but keeps their
 * length; files are complete after SIGINT, SIGTERM and --duration; frames
 * the ring could not take are counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCaptureSpec } from '../../src/capture/filter.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { Blocklist } from '../../src/kernel/blocklist.js';
import { CaptureMode } from '../../src/kernel/layout.js';
import { loadNative } from '../../src/kernel/native.js';
import type { BpfObject } from '../../src/kernel/native-api.js';
import { decodePacketBatch, type CapturedPacket } from '../../src/kernel/packets.js';
import { frame, type FrameSpec } from '../helpers/frames.js';
import { Topology } from '../helpers/netns.js';
import { readPcap, readPcapng } from '../helpers/pcap.js';
import { findCommand, run } from '../helpers/process.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { runCtl } from '../../src/control/client.js';
import { startHostflow } from '../helpers/hostflow.js';
import { startTcpServer, tcpFetch, udpSend } from '../helpers/servers.js';
import { startTcpdump, tcpdumpRead } from '../helpers/tcpdump.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const XDP_DROP = 1;
const XDP_PASS = 2;

const dir = mkdtempSync(join(tmpdir(), 'hostflow-capture-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

/** flow_xdp alone, with a capture spec and the blocklist on. */
function loadFlowXdp(spec: string): BpfObject {
  const native = loadNative();
  const object = new native.BpfObject();
  for (const program of object.programs()) object.setAutoload(program, program === 'flow_xdp');
  const capture = parseCaptureSpec(spec);
  object.setConst('blocklist', Buffer.from([1]));
  object.setConst('capture_dns', Buffer.from([0]));
  object.setConst('capture_mode', u32(CaptureMode[capture.mode]));
  if (capture.filter) object.setConst('capture_filter', capture.filter);
  object.setMaxEntries('blocked_v4', 16);
  object.setMaxEntries('blocked_v6', 16);
  object.setMaxEntries('block_counters', 16);
  object.setMaxEntries('packets', 1 << 20);
  object.load();
  return object;
}

/** Runs every frame through flow_xdp once; the verdicts and the frames the capture ring got. */
async function runFrames(object: BpfObject, frames: readonly Buffer[]): Promise<{ verdicts: number[]; captured: CapturedPacket[] }> {
  const native = loadNative();
  const captured: CapturedPacket[] = [];
  const stats = { packets: 0, bytes: 0, malformed: 0 };
  const poller = new native.RingPoller(object, ['packets'], (batch) =>
    decodePacketBatch(batch, (p) => captured.push({ ...p, data: Buffer.from(p.data) }), stats),
  );
  const verdicts = frames.map((bytes) => object.testRun('flow_xdp', bytes, 1).retval);
  await poller.stop();
  assert.equal(stats.malformed, 0);
  return { verdicts, captured };
}

const FRAME_SPECS: FrameSpec[] = [];
for (const [saddr, daddr] of [
  ['10.0.0.1', '192.0.2.7'],
  ['192.0.2.7', '10.1.2.3'],
  ['10.1.2.3', '203.0.113.9'],
  ['fd00::1', '2001:db8::1'],
  ['2001:db8:5::9', 'fd00:1::5'],
] as const) {
  const v6 = saddr.includes(':');
  for (const [proto, sport, dport] of [
    [17, 40000, 53],
    [17, 53, 40000],
    [6, 51000, 443],
    [6, 80, 5353],
    [17, 5353, 5353],
    [v6 ? 58 : 1, 0, 0],
    [47, 0, 0],
  ] as const) {
    FRAME_SPECS.push({ saddr, daddr, proto, sport, dport });
  }
  if (!v6) FRAME_SPECS.push({ saddr, daddr, proto: 17, fragmentOffset: 100 });
}
// Unique lengths, so a frame is known by its bytes alone.
const FRAMES = FRAME_SPECS.map((spec, index) => frame({ ...spec, payload: 10 + index }));

describe('capture filter in the kernel against tcpdump', privilegedSuite({ commands: ['tcpdump'], features: ['btf'] }), () => {
  const file = join(dir, 'frames.pcap');

  before(() => {
    const writer = PcapWriter.open({ path: file, clock: { wallMs: () => Date.UTC(2026, 0, 1) } });
    FRAMES.forEach((data) => writer.write({ tsNs: 0, cpu: 0, ifindex: 1, direction: 'in', wireLength: data.length, dropped: false, gso: false, data }));
    writer.close();
  });

  for (const expression of [
    'port 53',
    'udp and dst port 53',
    'tcp port 443 or icmp',
    'src net 10.0.0.0/8 and port 80',
    'host fd00::1',
    'net 2001:db8::/32 or ip and proto 47',
    'icmp6 or src host 192.0.2.7 and dst port 5353',
    'ip6 and udp',
    'src port 53 and dst net 10.1.0.0/16',
    'dst 192.0.2.7 or dst 2001:db8::1',
    'udp',
  ]) {
    test(`'${expression}' selects the frames tcpdump selects`, async () => {
      const object = loadFlowXdp(expression);
      try {
        const { verdicts, captured } = await runFrames(object, FRAMES);
        assert.ok(verdicts.every((verdict) => verdict === XDP_PASS));
        const selected = readPcap(readFileSync(await tcpdumpWrite(file, expression))).packets.map((p) => hex(p.data));
        assert.ok(selected.length > 0, 'the expression selects something');
        assert.deepEqual(
          captured.map((p) => hex(p.data)),
          selected,
        );
        assert.ok(captured.every((p) => p.direction === 'in' && !p.dropped && p.wireLength === p.data.length));
      } finally {
        object.close();
      }
    });
  }

  test('blocked sources are dropped (XDP_DROP), counted by their longest prefix, and captured as dropped', async () => {
    const object = loadFlowXdp('dropped and udp');
    try {
      const blocklist = new Blocklist(object, 16, loadNative().possibleCpus());
      blocklist.block('10.0.0.0/8');
      blocklist.block('10.1.2.3');
      blocklist.block('2001:db8::/32');
      const { verdicts, captured } = await runFrames(object, FRAMES);
      const blockedSource = (spec: FrameSpec) => spec.saddr.startsWith('10.') || spec.saddr.startsWith('2001:db8');
      assert.deepEqual(
        verdicts,
        FRAME_SPECS.map((spec) => (blockedSource(spec) ? XDP_DROP : XDP_PASS)),
      );
      const expected = FRAMES.filter((_, index) => blockedSource(FRAME_SPECS[index]!) && FRAME_SPECS[index]!.proto === 17);
      assert.deepEqual(
        captured.map((p) => hex(p.data)),
        expected.map(hex),
      );
      assert.ok(captured.every((p) => p.dropped));
      const counts = Object.fromEntries(blocklist.list().map((entry) => [entry.prefix, entry.packets]));
      const from = (prefix: string) => FRAME_SPECS.filter((spec) => spec.saddr.startsWith(prefix)).length;
      assert.deepEqual(counts, { '10.0.0.0/8': from('10.0.0.1'), '10.1.2.3/32': from('10.1.2.3'), '2001:db8::/32': from('2001:db8') });
    } finally {
      object.close();
    }
  });

  test('the snaplen is a load-time constant: frames are cut, their length kept', async () => {
    const native = loadNative();
    const object = new native.BpfObject();
    for (const program of object.programs()) object.setAutoload(program, program === 'flow_xdp');
    object.setConst('capture_mode', u32(CaptureMode.all));
    object.setConst('capture_snaplen', u32(64));
    object.setMaxEntries('packets', 1 << 20);
    object.load();
    try {
      const big = frame({ saddr: '10.0.0.1', daddr: '10.0.0.2', payload: 1400 });
      const { captured } = await runFrames(object, [big, FRAMES[0]!]);
      const small = FRAMES[0]!;
      assert.ok(small.length < 64);
      assert.deepEqual(
        captured.map((p) => [p.data.length, p.wireLength]),
        [
          [64, big.length],
          [small.length, small.length],
        ],
      );
      assert.equal(hex(captured[0]?.data ?? Buffer.alloc(0)), hex(big.subarray(0, 64)));
    } finally {
      object.close();
    }
  });
});

async function tcpdumpWrite(file: string, expression: string): Promise<string> {
  const out = join(dir, `selected-${Math.random().toString(16).slice(2)}.pcap`);
  await run(findCommand('tcpdump') ?? 'tcpdump', ['-r', file, '-w', out, expression]);
  return out;
}

/** `hostflow ctl --json COMMAND`'s result. */
async function ctlJson<T>(socket: string, command: string): Promise<T> {
  let stdout = '';
  await runCtl(['--socket', socket, '--json', command], { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } });
  return (JSON.parse(stdout) as { result: T }).result;
}

/** Polls the tracer's stats until `done` holds; fails loudly after the deadline. */
async function statsUntil(socket: string, done: (stats: Record<string, number>) => boolean, timeoutMs = 10_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await ctlJson<Record<string, number>>(socket, 'stats');
    if (done(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`stats never got there: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the blocklist entry's drops stop growing for `quietMs` (the frames in flight have arrived). */
async function dropsSettled(socket: string, prefix: string, quietMs = 500, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  let last = -1;
  let since = Date.now();
  for (;;) {
    const row = (await ctlJson<Array<{ prefix: string; packets: number }>>(socket, 'list-block-src')).find((entry) => entry.prefix === prefix);
    const packets = row?.packets ?? 0;
    if (packets !== last) {
      last = packets;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return packets;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`the drops of ${prefix} never settled (last ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe(
  'capture in network namespaces',
  privilegedSuite({ commands: ['ip', 'python3', 'dnsmasq', 'dig', 'tcpdump', 'tshark'], features: ['netns', 'btf'] }),
  () => {
    let topo: Topology;

    before(async () => {
      topo = await Topology.create({ hosts: ({ server }) => [{ name: 'web.capture.test', ipv4: server.ipv4, ipv6: server.ipv6 }] });
      await topo.exec(topo.server, 'sysctl', ['-qw', 'net.ipv4.tcp_synack_retries=0']);
    });
    after(() => topo?.destroy());

    test('--capture dropped writes exactly the dropped frames, byte for byte as tcpdump saw them sent; SIGTERM leaves the file complete', async () => {
      const pcap = join(dir, 'dropped.pcap');
      const socket = join(dir, 'dropped.sock');
      const hostflow = await startHostflow(
        ['-i', topo.client.iface, '--block', topo.server.ipv4, '--capture', 'dropped', '--pcap', pcap, '--control', socket],
        { ns: topo.client.ns },
      );
      const witness = await startTcpdump({
        ns: topo.server.ns,
        iface: topo.server.iface,
        file: join(dir, 'sent.pcap'),
        filter: `ip src host ${topo.server.ipv4}`,
        direction: 'out',
      });
      const server = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, port: 8080, bytes: 10 });
      try {
        await assert.rejects(tcpFetch({ ns: topo.client, host: topo.server.ipv4, port: 8080, timeoutMs: 1200 }));
        for (const size of [1, 200, 1472]) await udpSend({ ns: topo.server, host: topo.client.ipv4, port: 9999, count: 5, size });
        // IPv6 passes: not captured.
        await udpSend({ ns: topo.server, host: topo.client.ipv6, port: 9999, count: 5, size: 100, family: 6 });
        // The server's retransmitted SYN-ACKs (none: synack_retries 0) and the datagrams: until the drops stop growing.
        await dropsSettled(socket, `${topo.server.ipv4}/32`);
      } finally {
        await server.stop();
      }
      const { code, summary, stderr } = await hostflow.stop('SIGTERM');
      await witness.stop();
      assert.equal(code, 0, stderr);
      const ours = await tcpdumpRead(pcap, '', ['-t', '-xx']);
      const theirs = await tcpdumpRead(join(dir, 'sent.pcap'), '', ['-t', '-xx']);
      assert.ok(theirs.length >= 17, `tcpdump saw ${theirs.length} frames`);
      assert.deepEqual(ours, theirs);
      assert.equal(summary?.pcap?.packets, theirs.length);
      assert.equal(summary?.session.capture?.lost, 0);
      assert.equal(summary?.session.blocked[0]?.packets, theirs.length);
      // Kernel timestamps: each frame within a few ms of when tcpdump saw it leave the other end.
      const ourTimes = readPcap(readFileSync(pcap)).packets.map((p) => p.seconds * 1e6 + p.fraction);
      const theirTimes = readPcap(readFileSync(join(dir, 'sent.pcap'))).packets.map((p) => p.seconds * 1e6 + p.fraction);
      ourTimes.forEach((micros, index) => assert.ok(Math.abs(micros - (theirTimes[index] ?? 0)) < 20_000, `frame ${index}: ${micros} vs ${theirTimes[index]}`));
    });

    test('pcapng names the process and the host of each frame; tshark reads the comments, interfaces and directions (SIGINT)', async () => {
      const pcap = join(dir, 'annotated.pcapng');
      const socket = join(dir, 'annotated.sock');
      const hostflow = await startHostflow(
        [
          '-i',
          topo.client.iface,
          '--control',
          socket,
          '--capture',
          `tcp port 8080 or dropped`,
          '--block',
          `${topo.server.ipv6}/128`,
          '--pcap',
          pcap,
          '--pcap-format',
          'pcapng',
        ],
        {
          ns: topo.client.ns,
        },
      );
      const server = await startTcpServer({ ns: topo.server, host: '::', port: 8080, bytes: 3000 });
      let fetched: Awaited<ReturnType<typeof tcpFetch>>;
      try {
        fetched = await tcpFetch({ ns: topo.client, host: 'web.capture.test', port: 8080, family: 4, send: 100 });
        await udpSend({ ns: topo.server, host: topo.client.ipv6, port: 9999, count: 3, size: 10, family: 6 });
        await dropsSettled(socket, `${topo.server.ipv6}/128`);
      } finally {
        await server.stop();
      }
      // Stopping drains the capture ring: every frame captured so far reaches the file.
      const { code, summary, stderr } = await hostflow.stop('SIGINT');
      assert.equal(code, 0, stderr);
      const file = readPcapng(readFileSync(pcap));
      assert.equal(file.packets.length, summary?.pcap?.packets);
      assert.deepEqual(
        file.interfaces.map((i) => i.name),
        [topo.client.iface],
      );

      const { stdout } = await run(findCommand('tshark') ?? 'tshark', [
        '-r',
        pcap,
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-e',
        'frame.interface_name',
        '-e',
        'frame.packet_flags_direction',
        '-e',
        'tcp.srcport',
        '-e',
        'tcp.dstport',
        '-e',
        'frame.comment',
      ]);
      const rows = stdout
        .trim()
        .split('\n')
        .map((line) => line.split('|'));
      assert.equal(rows.length, file.packets.length);
      const localPort = String(fetched.localPort);
      const ours = rows.filter(([, , sport, dport]) => sport === localPort || dport === localPort);
      assert.ok(ours.length >= 6, stdout);
      assert.ok(ours.every(([iface]) => iface === topo.client.iface));
      assert.ok(ours.some(([, direction]) => direction === '0x00000001') && ours.some(([, direction]) => direction === '0x00000002'), 'both directions');
      // Frames after the lookup and the handshake name both: the process (from the connection) and the host (from getaddrinfo).
      const named = ours.filter(([, , , , comment]) => /^process python3 pid \d+; (src|dst) host web\.capture\.test$/.test(comment ?? ''));
      assert.ok(named.length >= ours.length - 2, `comments: ${ours.map((row) => row[4]).join(' / ')}`);
      const dropped = rows.filter(([, , , , comment]) => comment?.startsWith('dropped by the hostflow blocklist'));
      assert.equal(dropped.length, 3, stdout);
    });

    test('the snaplen cuts frames and keeps their length; --duration ends with a complete file', async () => {
      const pcap = join(dir, 'snap.pcap');
      const hostflow = await startHostflow(
        ['-i', topo.client.iface, '--no-control', '--capture', 'udp port 9999', '--snaplen', '60', '--pcap', pcap, '--duration', '3'],
        { ns: topo.client.ns },
      );
      await udpSend({ ns: topo.server, host: topo.client.ipv4, port: 9999, count: 4, size: 1000 });
      await udpSend({ ns: topo.client, host: topo.server.ipv4, port: 9999, count: 2, size: 10 });
      await hostflow.process.exited;
      const { code, summary, stderr } = await hostflow.stop();
      assert.equal(code, 0, stderr);
      const file = readPcap(readFileSync(pcap));
      assert.equal(file.snaplen, 60);
      assert.deepEqual(
        file.packets.map((p) => [p.capturedLength, p.originalLength]),
        [...Array.from({ length: 4 }, () => [60, 14 + 20 + 8 + 1000]), [52, 52], [52, 52]],
      );
      assert.equal(summary?.pcap?.packets, 6);
      const printed = await tcpdumpRead(pcap);
      assert.equal(printed.length, 6);
    });

    test('frames the ring cannot take are counted as lost: written + lost = sent', async () => {
      const pcap = join(dir, 'lossy.pcap');
      const socket = join(dir, 'lossy.sock');
      const hostflow = await startHostflow(
        ['-i', topo.client.iface, '--control', socket, '--capture', 'udp dst port 9999', '--capture-ring-size', '4096', '--pcap', pcap],
        { ns: topo.client.ns },
      );
      await udpSend({ ns: topo.server, host: topo.client.ipv4, port: 9999, count: 300, size: 1200 });
      // Every datagram has met flow_xdp: captured (read or waiting in the ring) or lost.
      await statsUntil(socket, (stats) => (stats.capture_packets ?? 0) + (stats.capture_lost ?? 0) >= 300);
      const { summary, stderr } = await hostflow.stop();
      const capture = summary?.session.capture;
      assert.ok(capture && capture.lost > 0, JSON.stringify(capture));
      assert.equal(capture.packets + capture.lost, 300);
      assert.equal(readPcap(readFileSync(pcap)).packets.length, capture.packets);
      assert.equal(summary?.session.counters?.capture_lost_xdp, capture.lost);
      assert.match(stderr, /summary: PROBLEM capture: \d+ frames lost \(capture ring full; raise --capture-ring-size or narrow --capture\)/);
      assert.equal(summary?.verdict, 'problems');
    });
  },
);
