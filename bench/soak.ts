/**
 * `npm run bench -- --soak MINUTES`: hostflow with every default feature on
 * (flows on both interfaces, wire DNS, socket hooks, getaddrinfo probes)
 * for MINUTES under 5 k TCP connections/s and a steady trickle of lookups,
 * its resident memory sampled every 30 s. Holds when nothing was lost, the
 * memory stayed under 250 MB and, after the warm-up, grew less than 1 MB a
 * minute. The summary's table sizes at the end say what holds the memory.
 *
 * The flood is bench/c/connflood.c on the client namespace's loopback, the
 * lookups bench/c/gai.c against the topology's dnsmasq across the veth.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/hostflow.js';
import { Topology } from '../test/helpers/netns.js';
import { ManagedProcess, run } from '../test/helpers/process.js';
import type { RunSummary } from '../src/run.js';
import { benchDir } from './ring-bench.js';
import { threadCpu, threadTimes, type ThreadCpu } from './thread-cpu.js';

const RATE = 5_000;
const PORT = 5002;
const NAME = 'soak.hostflow.test';
const SAMPLE_MS = 30_000;
/** Lookups each second, in one process. */
const LOOKUPS_PER_SECOND = 20;
const RSS_TARGET_MB = 250;
const SLOPE_TARGET_MB_PER_MIN = 1;

interface Sample {
  minute: number;
  rss_mb: number;
  /** hostflow's CPU by thread over the last period. */
  cpu: ThreadCpu;
}

/** Resident set of a process in MB, from /proc/<pid>/status. */
function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number((Number(match[1]) / 1024).toFixed(1)) : 0;
}

/** Pure: least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function soak(minutes: number): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { name: 'soak', error: 'needs root' };
  const seconds = Math.round(minutes * 60);
  const topo = await Topology.create({ hosts: ({ server }) => [{ name: NAME, ipv4: server.ipv4 }] });
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-soak-'));
  const summaryFile = join(dir, 'summary.json');
  const hostflow = ManagedProcess.start(
    process.execPath,
    [CLI, '--headless', '-o', '/dev/null', '--summary-json', summaryFile, '-i', 'lo', '-i', topo.client.iface, '--no-control'],
    { ns: topo.client.ns },
  );
  const samples: Sample[] = [];
  let lookupTimer: NodeJS.Timeout | undefined;
  let lookupsRun = 0;
  try {
    await hostflow.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
    const pid = hostflow.pid ?? 0;
    process.stderr.write(`soak: ${minutes} min of ${RATE} connections/s and ${LOOKUPS_PER_SECOND} lookups/s, hostflow pid ${pid}\n`);
    const flood = run('ip', ['netns', 'exec', topo.client.ns, join(benchDir(), 'connflood'), String(RATE), String(seconds), String(PORT)], {
      timeoutMs: (seconds + 60) * 1000,
    });
    lookupTimer = setInterval(() => {
      lookupsRun++;
      void run('ip', ['netns', 'exec', topo.client.ns, join(benchDir(), 'gai'), NAME, String(LOOKUPS_PER_SECOND)], { check: false });
    }, 1000);
    const started = Date.now();
    let last = threadTimes(pid);
    samples.push({ minute: 0, rss_mb: rssMb(pid), cpu: threadCpu(pid, last, last, 1) });
    const sampler = setInterval(() => {
      const now = threadTimes(pid);
      const sample = { minute: Number(((Date.now() - started) / 60_000).toFixed(2)), rss_mb: rssMb(pid), cpu: threadCpu(pid, last, now, SAMPLE_MS / 1000) };
      last = now;
      samples.push(sample);
      process.stderr.write(
        `soak: ${sample.minute} min: ${sample.rss_mb} MB resident, ${sample.cpu.total} CPU (main ${sample.cpu.main}, poll ${sample.cpu.poll})\n`,
      );
    }, SAMPLE_MS);
    let made: { made: number; errors: number };
    try {
      made = JSON.parse((await flood).stdout) as { made: number; errors: number };
    } finally {
      clearInterval(sampler);
      clearInterval(lookupTimer);
    }
    // The last events travel through the reorder window and the last flow interval.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await hostflow.stop({ signal: 'SIGINT', timeoutMs: 30_000 });
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    const { lostTotal, lost, skippedTotal, late, records, tables } = summary.session;
    // Warm-up: the first third of the run (caches fill, V8 sizes its heap).
    const warm = samples.filter((s) => s.minute >= minutes / 3).map((s) => [s.minute, s.rss_mb] as const);
    const growth = Number(slope(warm).toFixed(2));
    const peak = Math.max(...samples.map((s) => s.rss_mb));
    return {
      name: 'soak',
      unit: `MB resident, peak over ${minutes} min of ${RATE} connections/s with every default feature on`,
      value: peak,
      target: `0 events lost, under ${RSS_TARGET_MB} MB, under ${SLOPE_TARGET_MB_PER_MIN} MB/min after the first third`,
      met: lostTotal === 0 && peak < RSS_TARGET_MB && growth < SLOPE_TARGET_MB_PER_MIN,
      lost_total: lostTotal,
      lost,
      skipped_total: skippedTotal,
      late,
      rss_growth_mb_per_min: growth,
      connections: made,
      lookups: lookupsRun * LOOKUPS_PER_SECOND,
      records,
      tables_at_end: tables,
      samples,
      problems: summary.problems,
    };
  } finally {
    if (lookupTimer) clearInterval(lookupTimer);
    if (hostflow.running) await hostflow.stop({ signal: 'SIGKILL' });
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
