/**
 * Connections per second on loopback, in a namespace of their own, without
 * a tracer, with hostflow (the real CLI) and with libbpf-tools `tcplife`
 * tracing them: the share of connections each recorded (hostflow: conn
 * close records of the connector's pid, direction out; tcplife: its rows of
 * the connector's pid) and the CPU each used, hostflow's thread by thread.
 * The connector is bench/c/connflood.c: paced at 20k connections/s, then as
 * fast as it goes; its listener accepts and closes, so both ends of every
 * connection are traced.
 *
 * Needs root and the bench build (make -C bench).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCommand, ManagedProcess, run } from '../test/helpers/process.js';
import { startHostflow } from '../test/helpers/hostflow.js';
import { findTcplife, parseTcplifeRow } from '../test/helpers/tcplife.js';
import type { RunSummary } from '../src/run.js';
import { benchDir } from './ring-bench.js';
import { threadCpu, threadTimes, type ThreadCpu, type ThreadTimes } from './thread-cpu.js';

const TARGET_RATE = 20_000;
const SECONDS = 4;
/**
 * The CPU figures leave out the flood's first second: a Node process
 * compiles its hot paths and grows its heap then, which a long-running
 * tracer pays once (the whole flood's figure is reported beside them).
 */
const WARMUP_SECONDS = 1;
const PORT = 5001;

interface FloodResult {
  pid: number;
  made: number;
  errors: number;
  accepted: number;
  seconds: number;
  /** Connections made before, and the time of, the end of the warm-up. */
  warm_made: number;
  warm_seconds: number;
}

interface ConnRun {
  offered: number | 'max';
  made: number;
  errors: number;
  /** Connections made per second. */
  achieved: number;
  recorded?: number;
  /** CPUs the tracer used per second of the flood (1 = one whole CPU of the two). */
  cpu?: number;
  /** The tracer's CPU time per connection made after the warm-up, in microseconds. */
  cpu_us_per_connection?: number;
  /** The same over the whole flood, the warm-up included. */
  cpu_us_per_connection_whole?: number;
  /** hostflow's CPU by thread, per second of the flood. */
  threads?: ThreadCpu;
  /** When hostflow missed connections: its own counters, so the miss explains itself. */
  hostflow_summary?: Record<string, unknown>;
}

/** One flood; `onWarm` runs when its warm-up ends (where the steady CPU sample starts). */
async function flood(ns: string, rate: number, onWarm?: () => void): Promise<FloodResult> {
  const args = [String(rate), String(SECONDS), String(PORT), String(WARMUP_SECONDS)];
  const child = ManagedProcess.start(join(benchDir(), 'connflood'), args, { ns });
  try {
    await child.waitForLine(/^warm$/, { stream: 'stderr', timeoutMs: 30_000 });
    onWarm?.();
    const [line] = await child.waitForLine(/^\{"pid".*$/, { stream: 'stdout', timeoutMs: 60_000 });
    return JSON.parse(line) as FloodResult;
  } finally {
    if (child.running) await child.stop({ signal: 'SIGKILL' });
  }
}

const toRun = (rate: number, result: FloodResult): ConnRun => ({
  offered: rate === 0 ? 'max' : rate,
  made: result.made,
  errors: result.errors,
  achieved: Math.round(result.made / result.seconds),
});

/** CPU samples of the tracer: at the flood's start, at the end of its warm-up, at its end. */
interface CpuSamples {
  start: ThreadTimes;
  warm: ThreadTimes;
  end: ThreadTimes;
}

/** Samples `pid`'s threads around one flood. */
async function sampledFlood(ns: string, rate: number, pid: number): Promise<{ result: FloodResult; samples: CpuSamples }> {
  const start = threadTimes(pid);
  let warm = start;
  const result = await flood(ns, rate, () => (warm = threadTimes(pid)));
  return { result, samples: { start, warm, end: threadTimes(pid) } };
}

/** The CPU figures of one traced flood: after the warm-up, thread by thread, and over the whole flood. */
function cpuFigures(
  pid: number,
  result: FloodResult,
  samples: CpuSamples,
): Pick<ConnRun, 'cpu' | 'cpu_us_per_connection' | 'cpu_us_per_connection_whole' | 'threads'> {
  const steadySeconds = result.seconds - result.warm_seconds;
  const steady = threadCpu(pid, samples.warm, samples.end, steadySeconds);
  const whole = threadCpu(pid, samples.start, samples.end, result.seconds);
  const perConnection = (cpu: ThreadCpu, seconds: number, made: number) => Number(((cpu.total * seconds * 1e6) / Math.max(made, 1)).toFixed(1));
  return {
    cpu: steady.total,
    cpu_us_per_connection: perConnection(steady, steadySeconds, result.made - result.warm_made),
    cpu_us_per_connection_whole: perConnection(whole, result.seconds, result.made),
    threads: steady,
  };
}

/** What hostflow counted about its own losses, for a figure that missed. */
function lossCounters(summary: RunSummary | null): Record<string, unknown> {
  if (!summary) return { error: 'hostflow wrote no summary' };
  const { lost, lostTotal, skipped, skippedTotal, closesRecovered, late, malformed, events, naming } = summary.session;
  return {
    events,
    // Sockets the kernel freed and reused with no probe run for their end (see bench/README.md).
    closes_unseen: naming?.closesUnseen ?? 0,
    lost_total: lostTotal,
    lost,
    skipped_total: skippedTotal,
    skipped,
    closes_recovered: closesRecovered,
    late,
    malformed,
    problems: summary.problems,
  };
}

/** hostflow tracing one flood: connection tracing only (flows and wire DNS on lo are not what this measures). */
async function withHostflow(ns: string, rate: number): Promise<ConnRun> {
  const hostflow = await startHostflow(['-i', 'lo', '--no-flows', '--no-wire-dns', '--no-control', '--comm', 'connflood', '--type', 'conn'], { ns });
  // `ip netns exec` execs node: the pid is hostflow's.
  const pid = hostflow.process.pid ?? 0;
  let result: FloodResult;
  let samples: CpuSamples;
  try {
    ({ result, samples } = await sampledFlood(ns, rate, pid));
    // The last closes travel through the ring and the correlator before SIGINT.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } catch (error) {
    await hostflow.stop();
    throw error;
  }
  const stopped = await hostflow.stop();
  const recorded = stopped.lines.filter((line) => line.type === 'conn' && line.event === 'close' && line.pid === result.pid && line.direction === 'out').length;
  const figures: ConnRun = { ...toRun(rate, result), recorded, ...cpuFigures(pid, result, samples) };
  if (recorded < result.made) figures.hostflow_summary = lossCounters(stopped.summary);
  return figures;
}

/**
 * libbpf-tools tcplife on the same flood, its rows written to a file (line
 * buffered, so its header says when it is attached). It traces every
 * namespace from the root one.
 */
async function withTcplife(ns: string, rate: number, tcplife: string): Promise<ConnRun> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-bench-tcplife-'));
  const out = join(dir, 'rows');
  const stdbuf = findCommand('stdbuf') ?? 'stdbuf';
  const child = ManagedProcess.start('sh', ['-c', 'exec "$0" -oL "$1" -w > "$2"', stdbuf, tcplife, out]);
  try {
    const deadline = Date.now() + 20_000;
    while (!readText(out).startsWith('PID')) {
      if (!child.running || Date.now() > deadline) throw child.failure('tcplife printed no header (not attached)');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pid = child.pid ?? 0;
    const { result, samples } = await sampledFlood(ns, rate, pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await child.stop({ signal: 'SIGINT', timeoutMs: 5000 });
    // The connector's ends: their remote port is the listener's (nothing else in the namespace uses it).
    let recorded = 0;
    for (const line of readText(out).split('\n')) if (parseTcplifeRow(line)?.remotePort === PORT) recorded++;
    return { ...toRun(rate, result), recorded, ...cpuFigures(pid, result, samples) };
  } finally {
    if (child.running) await child.stop({ signal: 'SIGKILL' });
    rmSync(dir, { recursive: true, force: true });
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function benchConnections(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { name: 'connections_per_s', error: 'needs root' };
  if (!existsSync(join(benchDir(), 'connflood'))) return { name: 'connections_per_s', error: 'build/bench/connflood missing: make -C bench' };
  const ns = `hfb-conn-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // 2 s at 20k/s leaves 40k sockets in TIME_WAIT: give the connector every port.
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
    // The first connections in a new namespace are slower (route and port tables warming): not measured.
    await run('ip', ['netns', 'exec', ns, join(benchDir(), 'connflood'), '0', '0.5', String(PORT)], { timeoutMs: 60_000 });
    const tcplife = findTcplife();
    const without: ConnRun[] = [];
    const traced: ConnRun[] = [];
    const reference: ConnRun[] = [];
    for (const rate of [TARGET_RATE, 0]) {
      process.stderr.write(`bench: connections at ${rate || 'max'}/s without a tracer, with hostflow, with tcplife\n`);
      without.push(toRun(rate, await flood(ns, rate)));
      traced.push(await withHostflow(ns, rate));
      if (tcplife) reference.push(await withTcplife(ns, rate, tcplife));
    }
    const at = (runs: ConnRun[], offered: number | 'max') => runs.find((r) => r.offered === offered);
    const share = (r: ConnRun | undefined) => Number(((r?.recorded ?? 0) / Math.max(r?.made ?? 0, 1)).toFixed(4));
    const paced = at(traced, TARGET_RATE) as ConnRun;
    const maxWith = at(traced, 'max') as ConnRun;
    const maxWithout = at(without, 'max') as ConnRun;
    const pacedTcplife = at(reference, TARGET_RATE);
    const perConnection = paced.cpu_us_per_connection ?? 0;
    const referencePerConnection = pacedTcplife?.cpu_us_per_connection;
    return {
      name: 'connections_per_s',
      unit: 'connections/s made on loopback with hostflow tracing (as fast as the connector goes)',
      value: maxWith.achieved,
      reference: { name: 'the same connector without a tracer', value: maxWithout.achieved },
      ratio: Number((maxWith.achieved / Math.max(maxWithout.achieved, 1)).toFixed(3)),
      recorded_share: share(paced),
      recorded_share_max: share(maxWith),
      paced_achieved: { without: at(without, TARGET_RATE)?.achieved, with: paced.achieved },
      target: `100% of connections recorded at ${TARGET_RATE} connections/s and at the maximum`,
      met: share(paced) === 1 && share(maxWith) === 1 && paced.achieved >= TARGET_RATE * 0.95,
      cpu_per_connection: {
        unit: `CPU microseconds per connection at ${TARGET_RATE}/s paced, both ends traced, after the flood's first ${WARMUP_SECONDS} s`,
        value: perConnection,
        whole_flood: { value: paced.cpu_us_per_connection_whole, tcplife: pacedTcplife?.cpu_us_per_connection_whole },
        threads: paced.threads,
        reference:
          referencePerConnection === undefined
            ? { name: 'libbpf-tools tcplife', error: 'tcplife not found' }
            : { name: 'libbpf-tools tcplife', value: referencePerConnection, recorded_share: share(pacedTcplife) },
        ratio: referencePerConnection ? Number((perConnection / referencePerConnection).toFixed(2)) : null,
        target: "at most 2x tcplife's",
        met: referencePerConnection !== undefined && perConnection <= 2 * referencePerConnection,
      },
      without,
      with: traced,
      tcplife: reference,
      seconds: SECONDS,
    };
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
