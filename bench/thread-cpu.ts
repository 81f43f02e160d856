/**
 * CPU time of a process, thread by thread, from /proc/<pid>/task/<tid>/stat:
 * so a figure says which thread spent it (hostflow's JavaScript thread, its
 * ring poll thread, V8's and libuv's helpers).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime and stime. */
const TICKS_PER_SECOND = 100;

export interface ThreadTimes {
  /** tid -> its comm and CPU seconds (user + system) so far. */
  threads: Map<number, { comm: string; seconds: number }>;
}

/** Pure: comm and utime + stime in seconds of one stat line. */
export function parseThreadStat(line: string): { comm: string; seconds: number } | null {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = line.slice(close + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { comm: line.slice(open + 1, close), seconds: (utime + stime) / TICKS_PER_SECOND };
}

export function threadTimes(pid: number): ThreadTimes {
  const threads = new Map<number, { comm: string; seconds: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Gone: no threads.
  }
  for (const tid of tids) {
    try {
      const parsed = parseThreadStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (parsed) threads.set(Number(tid), parsed);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { threads };
}

/** hostflow's threads, named for what they do. */
export interface ThreadCpu {
  /** All threads together, CPUs used per second (1 = one whole CPU). */
  total: number;
  /** The JavaScript thread: decode, correlate, records, sinks. */
  main: number;
  /** The addon's ring poll thread (hostflow-poll). */
  poll: number;
  /** V8's garbage collector and compiler helpers. */
  v8: number;
  /** libuv's worker pool (file writes, DNS) and the rest. */
  other: number;
}

/**
 * CPUs used per second of `seconds`, by kind of thread, between two
 * samples of process `pid`. A thread that ended in between is not counted
 * (hostflow's threads live as long as it does).
 */
export function threadCpu(pid: number, before: ThreadTimes, after: ThreadTimes, seconds: number): ThreadCpu {
  const cpu: ThreadCpu = { total: 0, main: 0, poll: 0, v8: 0, other: 0 };
  for (const [tid, { comm, seconds: spent }] of after.threads) {
    const used = (spent - (before.threads.get(tid)?.seconds ?? 0)) / seconds;
    const kind = tid === pid ? 'main' : comm === 'hostflow-poll' ? 'poll' : comm.startsWith('V8 ') ? 'v8' : 'other';
    cpu[kind] += used;
    cpu.total += used;
  }
  for (const key of Object.keys(cpu) as Array<keyof ThreadCpu>) cpu[key] = Number(cpu[key].toFixed(3));
  return cpu;
}
