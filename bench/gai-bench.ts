/**
 * getaddrinfo latency: p50 and p99 over LOOKUPS calls (bench/c/gai.c, one
 * after another) against dnsmasq in a namespace, with no tracer, with the
 * real hostflow CLI tracing (libc uprobes, and XDP/TC with wire DNS on the
 * client's veth) and with libbpf-tools gethostlatency (libc uprobes only).
 * Runs alternate, ROUNDS times; each configuration keeps its lowest p50
 * round. Overhead = p50 with the tracer minus p50 without.
 *
 * Needs root, dnsmasq and the bench build (make -C bench);
 * gethostlatency (Debian libbpf-tools) when present.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Topology } from '../test/helpers/netns.js';
import { findCommand, ManagedProcess, run } from '../test/helpers/process.js';
import { startHostflow } from '../test/helpers/hostflow.js';
import { benchDir } from './ring-bench.js';

const LOOKUPS = 3000;
const ROUNDS = 3;
/** The lookups and dnsmasq share this CPU; the tracers' user space gets the others. */
const LOOKUP_CPU = 0;
const NAME = 'api.bench.test';

interface Latency {
  count: number;
  errors: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

async function lookups(topo: Topology): Promise<Latency> {
  // On the CPU dnsmasq is pinned to: a lookup then never depends on where
  // the scheduler put the two (same CPU or not doubled the p50 between runs).
  const { stdout } = await run('taskset', ['-c', String(LOOKUP_CPU), join(benchDir(), 'gai'), NAME, String(LOOKUPS)], {
    ns: topo.client.ns,
    timeoutMs: 120_000,
  });
  return JSON.parse(stdout) as Latency;
}

/** gethostlatency on every process, line-buffered so its lines can be counted. */
async function withGethostlatency<T>(path: string, body: () => Promise<T>): Promise<{ result: T; traced: number }> {
  const libc = ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/aarch64-linux-gnu/libc.so.6'].find((candidate) =>
    existsSync(candidate),
  );
  const args = ['-oL', path, ...(libc ? ['-l', libc] : [])];
  const tracer = ManagedProcess.start(findCommand('stdbuf') ?? 'stdbuf', args);
  let traced = 0;
  tracer.onLine((line) => {
    if (line.includes(NAME)) traced++;
  });
  try {
    await tracer.waitForLine(/^TIME\s+PID/, { timeoutMs: 20_000 });
    const result = await body();
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { result, traced };
  } finally {
    await tracer.stop({ signal: 'SIGINT', timeoutMs: 10_000 });
  }
}

const byP50 = (runs: Latency[]) => runs.reduce((best, run) => (run.p50_us < best.p50_us ? run : best));

export async function benchGetaddrinfo(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { name: 'getaddrinfo_latency', error: 'needs root' };
  if (!existsSync(join(benchDir(), 'gai'))) return { name: 'getaddrinfo_latency', error: 'build/bench/gai missing: make -C bench' };
  if (!findCommand('dnsmasq')) return { name: 'getaddrinfo_latency', error: 'missing dnsmasq' };
  const gethostlatency = findCommand('gethostlatency');
  const topo = await Topology.create({ hosts: ({ server }) => [{ name: NAME, ipv4: server.ipv4 }] });
  const dnsmasqPid = topo.dnsmasq?.pid;
  if (dnsmasqPid !== undefined) await run('taskset', ['-pc', String(LOOKUP_CPU), String(dnsmasqPid)]);
  const none: Latency[] = [];
  const hostflow: Latency[] = [];
  const ghl: Latency[] = [];
  let hostflowRecorded = 0;
  let ghlTraced = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`bench: getaddrinfo round ${round + 1} of ${ROUNDS}\n`);
      none.push(await lookups(topo));
      const tracer = await startHostflow(['-i', topo.client.iface, '--no-control', '--type', 'dns'], { ns: topo.client.ns });
      try {
        hostflow.push(await lookups(topo));
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        const { lines } = await tracer.stop();
        hostflowRecorded = lines.filter((line) => line.comm === 'gai' && line.source === 'getaddrinfo').length;
      }
      if (gethostlatency) {
        const { result, traced } = await withGethostlatency(gethostlatency, () => lookups(topo));
        ghl.push(result);
        ghlTraced = traced;
      }
    }
  } finally {
    await topo.destroy();
  }
  const base = byP50(none);
  const mine = byP50(hostflow);
  const peer = ghl.length > 0 ? byP50(ghl) : null;
  const overhead = mine.p50_us - base.p50_us;
  const peerOverhead = peer ? peer.p50_us - base.p50_us : null;
  // "No worse than gethostlatency's plus 10%": of its overhead, with 1 us of slack for a peer whose overhead is near zero.
  const allowed = peerOverhead === null ? null : Math.max(peerOverhead * 1.1, peerOverhead + 1);
  return {
    name: 'getaddrinfo_latency',
    unit: 'us p50 per getaddrinfo() with hostflow tracing',
    value: mine.p50_us,
    p99_us: mine.p99_us,
    reference: { name: 'no tracer', value: base.p50_us, p99_us: base.p99_us },
    ratio: Number((mine.p50_us / Math.max(base.p50_us, 1)).toFixed(3)),
    overhead_us: Number(overhead.toFixed(1)),
    peer: peer
      ? {
          name: 'libbpf-tools gethostlatency',
          p50_us: peer.p50_us,
          p99_us: peer.p99_us,
          overhead_us: Number((peerOverhead ?? 0).toFixed(1)),
          traced: ghlTraced,
        }
      : 'gethostlatency missing (apt-get install libbpf-tools)',
    target: "overhead <= gethostlatency's overhead + 10%",
    met: allowed === null ? null : overhead <= allowed,
    hostflow_recorded: hostflowRecorded,
    lookups: LOOKUPS,
    rounds: { none, hostflow, gethostlatency: ghl },
  };
}
