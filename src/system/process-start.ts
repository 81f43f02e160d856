/**
 * Whether a process was already running when tracing began: such a process
 * may have resolved its names before hostflow could see it
 * (`process_before_start`). The pids in /proc when the probes were attached
 * are kept; a pid among them is checked against its /proc/<pid>/stat
 * `starttime` (clock ticks since boot) and /proc/uptime read at that time,
 * since pids are reused, and one that has exited since counts as the
 * process that ran then. Any other pid (started later, or tracing not
 * started) reads as false. Cached per pid for a short while.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every architecture Linux builds for today. */
const CLOCK_TICKS_PER_SECOND = 100;
/** `starttime` is field 22 of /proc/<pid>/stat; after the `(comm)` field (2) the fields start at 3. */
const STARTTIME_AFTER_COMM = 22 - 3;

/** Pure: the start time in clock ticks since boot from a /proc/<pid>/stat line, null when malformed. */
export function parseStartTicks(stat: string): number | null {
  // comm may hold spaces and parentheses: the fields resume after the last ')'.
  const end = stat.lastIndexOf(')');
  if (end < 0) return null;
  const field = stat.slice(end + 2).split(' ')[STARTTIME_AFTER_COMM];
  const ticks = Number(field);
  return field !== undefined && field !== '' && Number.isSafeInteger(ticks) ? ticks : null;
}

/** Pure: seconds since boot from /proc/uptime, as clock ticks; null when malformed. */
export function parseUptimeTicks(uptime: string): number | null {
  const seconds = Number(uptime.split(' ')[0]);
  return uptime.trim() !== '' && Number.isFinite(seconds) ? Math.round(seconds * CLOCK_TICKS_PER_SECOND) : null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function listPids(procRoot: string): number[] {
  try {
    return readdirSync(procRoot)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

export class ProcessStarts {
  private readonly cache = new LRUCache<number, boolean>({ max: 8192, ttl: 30_000 });
  private traceStartTicks: number | null = null;
  private runningAtStart = new Set<number>();

  /** @param procRoot where proc is mounted (tests) */
  constructor(private readonly procRoot = '/proc') {}

  /** Tracing begins now: later processes cannot have resolved unseen. */
  markTraceStart(): void {
    const uptime = readOrNull(`${this.procRoot}/uptime`);
    this.traceStartTicks = uptime === null ? null : parseUptimeTicks(uptime);
    this.runningAtStart = new Set(listPids(this.procRoot));
    this.cache.clear();
  }

  startedBeforeTrace(pid: number): boolean {
    if (!this.runningAtStart.has(pid)) return false;
    const cached = this.cache.get(pid);
    if (cached !== undefined) return cached;
    const stat = readOrNull(`${this.procRoot}/${pid}/stat`);
    const ticks = stat === null ? null : parseStartTicks(stat);
    // Gone (or unreadable): it ran at the start, and a pid is rarely reused so soon.
    const before = ticks === null || this.traceStartTicks === null || ticks < this.traceStartTicks;
    this.cache.set(pid, before);
    return before;
  }
}
