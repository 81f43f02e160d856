/**
 * Per-packet cost of the socket hooks' cgroup_skb programs on real traffic
 * over loopback, from the kernel's own accounting (kernel.bpf_stats_enabled:
 * run_time_ns / run_cnt per program), next to cgroup_pass, a program that
 * only allows, attached to the same cgroup egress hook in the same run. Two
 * loads: a flood of small UDP datagrams (every one counted into udp_convs)
 * and a TCP bulk transfer (the early return for TCP not on port 53).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfObject, ProgramStats } from '../src/kernel/native-api.js';
import { loadNative } from '../src/kernel/native.js';
import { packageRoot } from '../src/package-root.js';
import { SOCKET_PROGRAMS, attachSocketHooks } from '../src/kernel/socket-hooks.js';

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
const UDP_DATAGRAMS = 200_000;
const TCP_BYTES = 512 << 20;

/** argv: mode (udp | tcp), count. Sends on loopback to a receiver in the same process. */
const TRAFFIC = String.raw`
import socket, sys, threading
mode, count = sys.argv[1], int(sys.argv[2])
if mode == 'udp':
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    rx.bind(('127.0.0.1', 0))
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.connect(rx.getsockname())
    data = b'u' * 64
    for i in range(count):
        tx.send(data)
        try:
            while True: rx.recv(2048)
        except BlockingIOError:
            pass
else:
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    def drain():
        c, _ = ls.accept()
        while c.recv(1 << 20): pass
    t = threading.Thread(target=drain)
    t.start()
    tx = socket.create_connection(ls.getsockname())
    chunk = b't' * (1 << 16)
    for _ in range(count // len(chunk)):
        tx.sendall(chunk)
    tx.close()
    t.join()
`;

function stats(object: BpfObject, names: readonly string[]): Map<string, ProgramStats> {
  return new Map(
    object
      .programStats()
      .filter((program) => names.includes(program.name))
      .map((program) => [program.name, program]),
  );
}

/** ns per run of each program over one load, from the kernel's counters. */
function measure(
  objects: Array<{ object: BpfObject; programs: string[] }>,
  mode: 'udp' | 'tcp',
  count: number,
): Record<string, { nsPerRun: number; runs: number }> {
  const before = objects.map(({ object, programs }) => stats(object, programs));
  execFileSync('python3', ['-c', TRAFFIC, mode, String(count)], { stdio: 'inherit', timeout: 120_000 });
  const result: Record<string, { nsPerRun: number; runs: number }> = {};
  objects.forEach(({ object, programs }, index) => {
    for (const [name, after] of stats(object, programs)) {
      const earlier = before[index]?.get(name);
      const runs = after.runCount - (earlier?.runCount ?? 0);
      const time = after.runTimeNs - (earlier?.runTimeNs ?? 0);
      result[name] = { nsPerRun: runs > 0 ? Number((time / runs).toFixed(1)) : 0, runs };
    }
  });
  return result;
}

export function benchSocketHooks(): Record<string, unknown>[] {
  const native = loadNative();
  const hostflow = new native.BpfObject();
  const socketPrograms = new Set(SOCKET_PROGRAMS.map(({ program }) => program));
  for (const program of hostflow.programs()) hostflow.setAutoload(program, socketPrograms.has(program));
  const bare = new native.BpfObject({ object: readFileSync(join(packageRoot(), 'build/bpf/xdp_pass.bpf.o')), name: 'xdp_pass' });
  const previous = readFileSync(STATS_SYSCTL, 'utf8').trim();
  try {
    hostflow.load();
    bare.load();
    const report = attachSocketHooks(hostflow);
    if (!report.attached || !report.cgroup) throw new Error(`socket hooks: ${report.reason}`);
    bare.attachCgroup('cgroup_pass', report.cgroup);
    writeFileSync(STATS_SYSCTL, '1');
    const objects = [
      { object: hostflow, programs: ['socket_egress', 'socket_ingress'] },
      { object: bare, programs: ['cgroup_pass'] },
    ];
    const results: Record<string, unknown>[] = [];
    for (const [mode, count, load] of [
      ['udp', UDP_DATAGRAMS, `${UDP_DATAGRAMS} UDP datagrams of 64 bytes, one conversation, loopback`],
      ['tcp', TCP_BYTES, `${TCP_BYTES >> 20} MiB TCP bulk transfer, loopback`],
    ] as const) {
      const figures = measure(objects, mode, count);
      const reference = figures.cgroup_pass?.nsPerRun ?? 0;
      for (const program of ['socket_egress', 'socket_ingress']) {
        const figure = figures[program];
        results.push({
          name: `${program}_${mode}`,
          unit: 'ns/run',
          value: figure?.nsPerRun ?? null,
          runs: figure?.runs ?? 0,
          reference: { name: 'cgroup_pass (egress)', value: reference, runs: figures.cgroup_pass?.runs ?? 0 },
          load,
          source: 'kernel.bpf_stats_enabled run_time_ns/run_cnt',
        });
      }
    }
    return results;
  } finally {
    writeFileSync(STATS_SYSCTL, previous);
    hostflow.close();
    bare.close();
  }
}
