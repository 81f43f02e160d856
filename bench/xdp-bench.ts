/**
 * Per-packet cost of the flow programs with BPF_PROG_TEST_RUN, next to
 * bare programs of the same type (xdp_pass, tc_pass) run on the same frames
 * in the same process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../src/kernel/native.js';
import { packageRoot } from '../src/package-root.js';
import { ipv4TcpFrame, ipv6UdpFrame, vlanUdpFrame } from './packets.js';

const REPEAT = 1_000_000;
/** Issue 8: flow_xdp at most 2.5x the bare program per packet. */
const XDP_TARGET_RATIO = 2.5;

export function benchXdp(): Record<string, unknown>[] {
  const native = loadNative();
  const hostflow = new native.BpfObject();
  const programs = hostflow.programs();
  for (const program of programs) hostflow.setAutoload(program, program === 'flow_xdp' || program === 'flow_tc');
  hostflow.load();
  const bare = new native.BpfObject({ object: readFileSync(join(packageRoot(), 'build/bpf/xdp_pass.bpf.o')), name: 'xdp_pass' });
  bare.load();
  const frames = { ipv4_tcp: ipv4TcpFrame(), ipv6_udp: ipv6UdpFrame(), vlan2_ipv4_udp: vlanUdpFrame() };
  const results: Record<string, unknown>[] = [];
  try {
    for (const [frameName, frame] of Object.entries(frames)) {
      for (const [program, baseline] of [
        ['flow_xdp', 'xdp_pass'],
        ['flow_tc', 'tc_pass'],
      ] as const) {
        const reference = bare.testRun(baseline, frame, REPEAT).durationNs;
        const measured = hostflow.testRun(program, frame, REPEAT).durationNs;
        const ratio = Number((measured / Math.max(reference, 1)).toFixed(2));
        results.push({
          name: `${program}_${frameName}`,
          unit: 'ns/packet',
          value: measured,
          reference: { name: baseline, value: reference },
          ratio,
          ...(program === 'flow_xdp' ? { target: `<= ${XDP_TARGET_RATIO}x ${baseline}`, met: ratio <= XDP_TARGET_RATIO } : {}),
          repeat: REPEAT,
        });
      }
    }
  } finally {
    hostflow.close();
    bare.close();
  }
  return results;
}
