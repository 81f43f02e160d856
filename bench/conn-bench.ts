/**
 * Connections per second on loopback, in a namespace of their own, without
 * and with hostflow (the real CLI) tracing them, and the share of those
 * connections hostflow wrote a close record for (conn records of the
 * connector's pid, direction out). The connector is bench/c/connflood.c:
 * paced at 20k connections/s, then as fast as it goes; its listener
 * accepts and closes.
 *
 * Needs root and the bench build (make -C bench).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../test/helpers/process.js';
import { startHostflow } from '../test/helpers/hostflow.js';
import { benchDir } from './ring-bench.js';

const TARGET_RATE = 20_000;
const SECONDS = 2;
const PORT = 5001;

interface FloodResult {
  pid: number;
  made: number;
  errors: number;
  accepted: number;
  seconds: number;
}

interface ConnRun {
  offered: number | 'max';
  made: number;
  errors: number;
  /** Connections made per second. */
  achieved: number;
  recorded?: number;
  /** CPU seconds hostflow used per second of the flood (1 = one whole CPU of the two). */
  hostflow_cpu?: number;
}

/** utime + stime of a process, in seconds (USER_HZ 100). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function flood(ns: string, rate: number): Promise<FloodResult> {
  const result = await run('ip', ['netns', 'exec', ns, join(benchDir(), 'connflood'), String(rate), String(SECONDS), String(PORT)], { timeoutMs: 60_000 });
  return JSON.parse(result.stdout) as FloodResult;
}

const toRun = (rate: number, result: FloodResult): ConnRun => ({
  offered: rate === 0 ? 'max' : rate,
  made: result.made,
  errors: result.errors,
  achieved: Math.round(result.made / result.seconds),
});

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
    const without: ConnRun[] = [];
    const withHostflow: ConnRun[] = [];
    for (const rate of [TARGET_RATE, 0]) {
      process.stderr.write(`bench: connections at ${rate || 'max'}/s without and with hostflow\n`);
      without.push(toRun(rate, await flood(ns, rate)));
      // Connection tracing only: flows and wire DNS on lo are not what this measures.
      const hostflow = await startHostflow(['-i', 'lo', '--no-flows', '--no-wire-dns', '--no-control', '--comm', 'connflood', '--type', 'conn'], { ns });
      let result: FloodResult;
      let cpu = 0;
      try {
        // `ip netns exec` execs node: the pid is hostflow's.
        const cpuBefore = cpuSeconds(hostflow.process.pid);
        result = await flood(ns, rate);
        cpu = (cpuSeconds(hostflow.process.pid) - cpuBefore) / result.seconds;
        // The last closes travel through the ring and the correlator before SIGINT.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } catch (error) {
        await hostflow.stop();
        throw error;
      }
      const stopped = await hostflow.stop();
      const recorded = stopped.lines.filter(
        (line) => line.type === 'conn' && line.event === 'close' && line.pid === result.pid && line.direction === 'out',
      ).length;
      withHostflow.push({ ...toRun(rate, result), recorded, hostflow_cpu: Number(cpu.toFixed(2)) });
    }
    const at = (runs: ConnRun[], offered: number | 'max') => runs.find((r) => r.offered === offered) as ConnRun;
    const paced = at(withHostflow, TARGET_RATE);
    const share = paced.recorded !== undefined ? paced.recorded / Math.max(paced.made, 1) : 0;
    const maxWith = at(withHostflow, 'max');
    const maxWithout = at(without, 'max');
    return {
      name: 'connections_per_s',
      unit: 'connections/s made on loopback with hostflow tracing (as fast as the connector goes)',
      value: maxWith.achieved,
      reference: { name: 'the same connector without hostflow', value: maxWithout.achieved },
      ratio: Number((maxWith.achieved / Math.max(maxWithout.achieved, 1)).toFixed(3)),
      recorded_share: Number(share.toFixed(4)),
      recorded_share_max: Number(((maxWith.recorded ?? 0) / Math.max(maxWith.made, 1)).toFixed(4)),
      paced_achieved: { without: at(without, TARGET_RATE).achieved, with: paced.achieved },
      target: `100% of connections recorded at ${TARGET_RATE} connections/s`,
      met: share === 1 && paced.achieved >= TARGET_RATE * 0.95,
      without,
      with: withHostflow,
      seconds: SECONDS,
    };
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
