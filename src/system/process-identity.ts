/**
 * The parent, executable and (when asked) command line of the process an
 * event came from, read from /proc so that a reused pid never lends
 * another process's identity.
 *
 * A process is its pid and its start time. The kernel gives both with each
 * event (`startNs`, CLOCK_BOOTTIME ns), and /proc/<pid>/stat's `starttime`
 * counts the same instant in clock ticks: /proc is believed only when they
 * agree. The kernel knows the start of processes forked after hostflow
 * started; for older ones `startNs` is 0, and the start time remembered by
 * `snapshot()` stands in for it (a pid with `startNs` 0 that was not
 * running at the snapshot cannot be told apart from a reused one: unknown).
 *
 * A start time that agrees is not enough after exec: the same process then
 * runs another program. Exec renames the process (comm), so the event's
 * comm must also be the process's comm, or the comm of the event's thread
 * (a thread can name itself, and the kernel's comm is the thread's); exec
 * ends every other thread, so /proc/<pid>/task/<tid> of an event from
 * before an exec is gone.
 *
 * The order of reads closes the race with exit and reuse: stat (start and
 * comm agree), then exe and cmdline, then the same open stat file again.
 * If the second read still agrees, the process lived through the reads, so
 * its pid could not be reused in between, and nothing read belongs to
 * another process (an open /proc/<pid>/stat belongs to its process: once
 * that has exited it reads ESRCH, whoever has the pid since).
 *
 * Answers are cached by pid, with the start and comm they are for: one
 * process's answer, which a later process (or the same one after exec)
 * cannot share. One entry per pid and start, with the answer per comm (a
 * thread may name itself): a flood's events look it up several times
 * each, and a key string built per lookup cost more than the rest of it.
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { BoundedMap } from '../correlate/bounded-map.js';
import { formatCmdline } from './cmdline.js';
import { parseProcStat, type ProcStat } from './proc-stat.js';
import { CLOCK_TICKS_PER_SECOND, startNsToTicks } from './start-ticks.js';

export interface ProcessIdentitiesOptions {
  /** Where proc is mounted (tests). @default '/proc' */
  procRoot?: string;
  /** Read command lines (they can hold secrets: passwords, tokens in URLs). @default false */
  cmdline?: boolean;
  /** Longest command line kept, in bytes of UTF-8. @default 256 */
  cmdlineMax?: number;
  /** USER_HZ, the unit of /proc/<pid>/stat's times (`getconf CLK_TCK`). @default 100 */
  clockTicksPerSecond?: number;
  /** Processes whose answer is cached (pid, start, comm). @default 4096 */
  maxEntries?: number;
}

/** What an event says about its process: hostflow's `Task` has these. */
export interface TaskIdentity {
  pid: number;
  /** The comm of the thread that caused the event. */
  comm: string;
  /** 0 when unknown. */
  ppid: number;
  /** CLOCK_BOOTTIME ns; 0 when unknown. */
  startNs: number;
  /** The thread, when known: its own comm is accepted as well as the process's. */
  tid?: number;
}

export interface ProcessIdentity {
  /** The kernel's when it knew it, else /proc's for this very process; null when neither. */
  ppid: number | null;
  /** /proc/<pid>/exe (` (deleted)` appended when the file was replaced); null when unreadable (kernel thread, permission) or not this process. */
  exe: string | null;
  /** Bounded command line; null unless the `cmdline` option, when empty, or not this process. */
  cmdline: string | null;
}

export interface ProcessIdentityStats {
  /** Answers from the cache (identified or not). */
  cached: number;
  /** Processes identified by reading /proc. */
  read: number;
  /** Refused: /proc's process at that pid started at another time, or runs another program (comm). */
  refused: number;
  /** The process had exited before it could be read (or its stat could not be read or parsed). */
  gone: number;
  /** No start time to check against: `startNs` 0 for a pid not running at the snapshot, or no pid. */
  unknown: number;
  /** Processes whose executable hostflow may not read (another user's, without CAP_SYS_PTRACE): exe null. */
  exeDenied: number;
}

/** What the cache holds for one (pid, start, comm): /proc's parent, the rest as answered. */
interface Entry {
  ppid: number | null;
  exe: string | null;
  cmdline: string | null;
}

interface Cached {
  startNs: number;
  /** The answer for each comm the process's threads were seen with. */
  byComm: Map<string, Entry>;
}

/** Thread names remembered per process; past it, a new one is read from /proc each time (still right, only slower). */
const COMMS_PER_PROCESS = 64;

const UNIDENTIFIED: Entry = Object.freeze({ ppid: null, exe: null, cmdline: null });

/** A stat line is about 300 bytes; 52 fields of 20 digits and a 64-byte comm still fit. */
const STAT_BYTES = 2048;
/** /proc/<pid>/task/<tid>/comm: 15 bytes and a newline. */
const COMM_BYTES = 64;

export class ProcessIdentities {
  readonly stats: ProcessIdentityStats = { cached: 0, read: 0, refused: 0, gone: 0, unknown: 0, exeDenied: 0 };
  private readonly procRoot: string;
  private readonly readCmdline: boolean;
  private readonly cmdlineMax: number;
  private readonly clockTicksPerSecond: number;
  private readonly cache: BoundedMap<number, Cached>;
  /** pid -> start ticks of the processes running at the snapshot; a pid leaves once its process is seen dead. */
  private readonly startedBefore = new Map<number, number>();
  /** One buffer for every read: identify() is synchronous and never re-entered. */
  private readonly buffer: Buffer;

  constructor(options: ProcessIdentitiesOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.readCmdline = options.cmdline ?? false;
    this.cmdlineMax = options.cmdlineMax ?? 256;
    this.clockTicksPerSecond = options.clockTicksPerSecond ?? CLOCK_TICKS_PER_SECOND;
    // Fail now, not on the record path, when the tick rate cannot convert.
    startNsToTicks(0, this.clockTicksPerSecond);
    if (!Number.isSafeInteger(this.cmdlineMax) || this.cmdlineMax < 0) throw new RangeError(`cmdlineMax must be a byte count, got ${this.cmdlineMax}`);
    this.cache = new BoundedMap<number, Cached>(options.maxEntries ?? 4096);
    this.buffer = Buffer.alloc(Math.max(STAT_BYTES, this.cmdlineMax));
  }

  /**
   * Remembers the start time of every process running now: their events
   * may come with `startNs` 0. Take it before any probe is attached, so
   * that no event comes from a process older than the snapshot that the
   * snapshot missed: one that exited in between could have left its pid to
   * a process the snapshot holds, under the same comm. Forked after the
   * snapshot, a process is the kernel's to know, or unknown.
   *
   * Only start times are kept, not exe and cmdline: those are read when
   * asked, from the live process that the start time proves is the same
   * one (remembering them would hand a dead process's to a reuser of its
   * pid that the kernel did not track). Returns how many.
   */
  snapshot(): number {
    this.startedBefore.clear();
    this.cache.clear();
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return 0;
    }
    for (const name of names) {
      if (!/^[1-9]\d*$/.test(name)) continue;
      const stat = this.readStat(Number(name));
      if (stat) this.startedBefore.set(Number(name), stat.startTicks);
    }
    return this.startedBefore.size;
  }

  /** Processes whose answer is cached. */
  get size(): number {
    return this.cache.size;
  }

  get capacity(): number {
    return this.cache.max;
  }

  /** Synchronous and cheap when cached; never throws, never another process's data. */
  identify(task: TaskIdentity): ProcessIdentity {
    let cached = this.cache.peek(task.pid);
    let entry = cached?.startNs === task.startNs ? cached.byComm.get(task.comm) : undefined;
    if (entry) this.stats.cached++;
    else {
      entry = this.lookup(task);
      if (cached?.startNs !== task.startNs) this.cache.set(task.pid, (cached = { startNs: task.startNs, byComm: new Map() }));
      if (cached.byComm.size < COMMS_PER_PROCESS) cached.byComm.set(task.comm, entry);
    }
    // The entry itself when the kernel's parent is /proc's: one object per process, not per event.
    if (task.ppid <= 0 || task.ppid === entry.ppid) return entry;
    return { ppid: task.ppid, exe: entry.exe, cmdline: entry.cmdline };
  }

  private lookup(task: TaskIdentity): Entry {
    const { pid } = task;
    if (!Number.isSafeInteger(pid) || pid <= 0 || typeof task.comm !== 'string') return this.count('unknown');
    const fromSnapshot = !(task.startNs > 0);
    const startTicks = fromSnapshot ? this.startedBefore.get(pid) : startNsToTicks(task.startNs, this.clockTicksPerSecond);
    if (startTicks === undefined || !Number.isSafeInteger(startTicks)) return this.count('unknown');
    // Kept open for the second read: proc ties the file to the process, not
    // to its pid number, so once the process has exited it reads ESRCH,
    // never a later process's stat.
    const stat = this.open(`${this.procRoot}/${pid}/stat`);
    if (stat === null) return this.exited(pid, fromSnapshot, 'gone');
    try {
      return this.readProcess(task, stat, startTicks, fromSnapshot);
    } finally {
      closeQuietly(stat);
    }
  }

  private readProcess(task: TaskIdentity, stat: number, startTicks: number, fromSnapshot: boolean): Entry {
    const before = this.parseStatAt(stat);
    if (before === null) return this.exited(task.pid, fromSnapshot, 'gone');
    if (before.startTicks !== startTicks) return this.exited(task.pid, fromSnapshot, 'refused');
    if (!this.commMatches(task, before)) return this.count('refused');

    const exe = this.readExe(task.pid);
    const cmdline = this.readCmdline ? this.readCmdlineOf(task.pid) : null;

    // Still there, so the pid was not reused during the reads, and not exec'd (comm).
    const after = this.parseStatAt(stat);
    if (after === null) return this.count('gone');
    if (after.startTicks !== startTicks || after.comm !== before.comm) return this.count('refused');
    this.stats.read++;
    return { ppid: after.ppid > 0 ? after.ppid : null, exe, cmdline };
  }

  /** The process of this start time has exited: a snapshot's pid is forgotten. */
  private exited(pid: number, fromSnapshot: boolean, outcome: 'refused' | 'gone'): Entry {
    if (fromSnapshot) this.startedBefore.delete(pid);
    return this.count(outcome);
  }

  private count(outcome: 'refused' | 'gone' | 'unknown'): Entry {
    this.stats[outcome]++;
    return UNIDENTIFIED;
  }

  private commMatches(task: TaskIdentity, stat: ProcStat): boolean {
    if (task.comm === stat.comm) return true;
    const { tid } = task;
    if (tid === undefined || tid === task.pid || !Number.isSafeInteger(tid) || tid <= 0) return false;
    // /proc/<pid>/task/<tid> exists only for a thread of this process.
    const length = this.read(`${this.procRoot}/${task.pid}/task/${tid}/comm`, COMM_BYTES);
    if (length === null) return false;
    const end = length > 0 && this.buffer[length - 1] === 0x0a ? length - 1 : length;
    return this.buffer.toString('utf8', 0, end) === task.comm;
  }

  /** For the snapshot: open, read, close. */
  private readStat(pid: number): ProcStat | null {
    const length = this.read(`${this.procRoot}/${pid}/stat`, STAT_BYTES);
    return length === null ? null : parseProcStat(this.buffer.subarray(0, length));
  }

  /** The stat of an open /proc/<pid>/stat, read afresh from its start. */
  private parseStatAt(fd: number): ProcStat | null {
    const length = this.readAt(fd, STAT_BYTES, true);
    return length === null ? null : parseProcStat(this.buffer.subarray(0, length));
  }

  private readExe(pid: number): string | null {
    try {
      return readlinkSync(`${this.procRoot}/${pid}/exe`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') this.stats.exeDenied++;
      return null;
    }
  }

  private readCmdlineOf(pid: number): string | null {
    const length = this.read(`${this.procRoot}/${pid}/cmdline`, this.cmdlineMax);
    return length === null ? null : formatCmdline(this.buffer.subarray(0, length), this.cmdlineMax);
  }

  private open(path: string): number | null {
    try {
      return openSync(path, 'r');
    } catch {
      return null;
    }
  }

  /** Up to `max` bytes of a file into the buffer; null when it cannot be read. */
  private read(path: string, max: number): number | null {
    const fd = this.open(path);
    if (fd === null) return null;
    try {
      return this.readAt(fd, max, false);
    } finally {
      closeQuietly(fd);
    }
  }

  /**
   * Up to `max` bytes of an open file, from its start (`again`: pread, so
   * proc generates the text anew) or from where it is; null on an error. A
   * short read is the end (so it is for proc's files and regular ones),
   * which saves the read that would return 0: syscalls are most of the cost.
   */
  private readAt(fd: number, max: number, again: boolean): number | null {
    try {
      let length = 0;
      while (length < max) {
        const wanted = max - length;
        const got = readSync(fd, this.buffer, length, wanted, again ? length : null);
        length += got;
        if (got < wanted) break;
      }
      return length;
    } catch {
      return null;
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to do: it was ours and is gone either way.
  }
}
