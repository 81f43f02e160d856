/**
 * Keeps getaddrinfo traced in every libc that processes map: the files
 * given at start, every distinct libc the running processes map (read from
 * /proc/<pid>/maps, a container's through /proc/<pid>/root), and the ones
 * new processes bring. New processes are found by listing /proc on a timer
 * and reading the maps of pids not seen before, at most `maxScansPerTick`
 * per tick, each twice (when first seen and one tick later, so a process
 * caught between fork and exec is read again with its own libraries).
 *
 * The race this leaves: a process that starts with a libc no other process
 * maps and resolves before the next tick reads its maps is not traced for
 * that lookup (its wire DNS still is). Such files are counted: `untracedMs`
 * says how long their process ran before the probes attached. A process
 * that exec()s a binary with a new libc more than a tick after it started
 * keeps its pid and is not read again; the libc is attached once any other
 * new process maps it. Attaching the same file twice (overlay file systems
 * show one file at two identities) costs a second probe hit, not a second
 * record: the return probe consumes the call's state once.
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { firstLine } from '../errors.js';
import { parseContainer } from './container.js';
import { libcMappings, openPathCandidates, pidsOf, startTicks, statKey, type LibcMapping } from './libc-maps.js';
import { LibcRegistry, type LibcFile, type LibcScanStats } from './libc-registry.js';

export interface LibcTrackerOptions {
  /** Attaches the getaddrinfo probes to one file; throws with a one-line reason when it cannot. */
  attach: (openPath: string) => void;
  /** One line per file that could not be attached. @default ignore (still counted) */
  warn?: (line: string) => void;
  /** Milliseconds between scans for new processes. @default 300 */
  intervalMs?: number;
  /** maps files read per tick at most; later pids wait for the next tick. @default 256 */
  maxScansPerTick?: number;
}

/** The kernel's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux ABI. */
const TICKS_PER_SECOND = 100;

/** Unreadable processes named in the summary; the rest are counted. */
const UNREADABLE_SAMPLE = 3;

export class LibcTracker {
  readonly registry = new LibcRegistry();
  readonly stats: LibcScanStats = { scans: 0, vanished: 0, unreadable: 0, unreadableSample: [], backlog: 0 };
  private readonly attach: (openPath: string) => void;
  private readonly warn: (line: string) => void;
  private readonly intervalMs: number;
  private readonly maxScansPerTick: number;
  /** Pids listed at the last tick. */
  private listed = new Set<number>();
  /** New pids waiting for their first read (over the per-tick bound). */
  private waiting: number[] = [];
  /** Pids read once at the last tick, read again at this one. */
  private rereads: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** After the first full scan, a newly found file means its process ran untraced for a while. */
  private scannedOnce = false;
  private root: { dev: number; ino: number } | null = null;
  private mountNamespace: string | null = null;

  constructor(options: LibcTrackerOptions) {
    this.attach = options.attach;
    this.warn = options.warn ?? (() => {});
    this.intervalMs = options.intervalMs ?? 300;
    this.maxScansPerTick = options.maxScansPerTick ?? 256;
  }

  /** A file named by path (--libc, the system's): attached once, a failure is a warning. */
  addFile(path: string, origin: 'system' | 'option' = 'option'): void {
    let key: string;
    try {
      key = statKey(statSync(path));
    } catch (error) {
      this.warn(`libc ${path}: ${firstLine(error)}`);
      return;
    }
    const file = { key, path, openPath: path, origin, deleted: false, firstPid: null, firstComm: null, container: null, foreignRoot: false };
    if (this.registry.add({ ...file, attached: false, error: null, untracedMs: null })) this.attachFile(file);
  }

  /** Reads the maps of every process now; synchronous so that lookups right after start are traced. */
  scanAll(): void {
    const pids = this.listPids();
    this.listed = new Set(pids);
    for (const pid of pids) this.scanPid(pid);
    this.scannedOnce = true;
  }

  /** Scans for new processes every `intervalMs` until stop(). */
  start(): void {
    if (!this.scannedOnce) this.scanAll();
    this.timer ??= setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        // A scan that fails is counted and retried at the next tick; tracing goes on.
        this.stats.unreadable++;
        this.warn(`libc discovery: ${firstLine(error)}`);
      }
    }, this.intervalMs);
    // The timer alone never keeps hostflow running.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  files(): LibcFile[] {
    return this.registry.list();
  }

  /** One scan: forget exited processes, read new ones (bounded), read last tick's new ones again. */
  tick(): void {
    const pids = this.listPids();
    const current = new Set(pids);
    for (const pid of [...this.registry.trackedPids()]) {
      if (!current.has(pid)) this.registry.forgetPid(pid);
    }
    const fresh = pids.filter((pid) => !this.listed.has(pid));
    this.listed = current;
    const rereads = this.rereads.filter((pid) => current.has(pid));
    const queue = [...this.waiting.filter((pid) => current.has(pid)), ...fresh];
    const firstReads = queue.slice(0, Math.max(0, this.maxScansPerTick - rereads.length));
    this.waiting = queue.slice(firstReads.length);
    this.stats.backlog = this.waiting.length;
    for (const pid of [...rereads, ...firstReads]) this.scanPid(pid);
    this.rereads = firstReads;
  }

  private listPids(): number[] {
    try {
      return pidsOf(readdirSync('/proc'));
    } catch {
      return [];
    }
  }

  private scanPid(pid: number): void {
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') {
        this.stats.vanished++;
      } else {
        this.stats.unreadable++;
        const comm = readText(`/proc/${pid}/comm`)?.trim();
        const sample = `pid ${pid}${comm ? ` ${comm}` : ''}: ${code ?? firstLine(error)}`;
        if (this.stats.unreadableSample.length < UNREADABLE_SAMPLE && !this.stats.unreadableSample.includes(sample)) this.stats.unreadableSample.push(sample);
      }
      return;
    }
    this.stats.scans++;
    const mappings = libcMappings(maps);
    for (const mapping of mappings) {
      if (!this.registry.has(mapping.key)) this.discover(pid, mapping);
    }
    this.registry.setPidFiles(
      pid,
      mappings.map((mapping) => mapping.key),
    );
  }

  private discover(pid: number, mapping: LibcMapping): void {
    const foreignRoot = !this.sharesRoot(pid);
    const file = {
      key: mapping.key,
      path: mapping.path,
      openPath: this.openPath(pid, mapping),
      origin: 'discovered' as const,
      deleted: mapping.deleted,
      firstPid: pid,
      firstComm: readText(`/proc/${pid}/comm`)?.trim() ?? null,
      container: containerOf(pid),
      foreignRoot,
    };
    const untracedMs = this.scannedOnce ? processAgeMs(pid) : null;
    this.registry.add({ ...file, attached: false, error: null, untracedMs });
    this.attachFile(file);
  }

  private attachFile(file: Pick<LibcFile, 'key' | 'path' | 'openPath' | 'firstPid'>): void {
    try {
      this.attach(file.openPath);
      this.registry.settle(file.key, null);
    } catch (error) {
      const reason = firstLine(error);
      this.registry.settle(file.key, reason);
      this.warn(`libc ${file.path}${file.firstPid !== null ? ` (pid ${file.firstPid})` : ''}: getaddrinfo not traced: ${reason}`);
    }
  }

  /** The candidate path that opens the very file of the maps line (same device and inode), else the first that exists. */
  private openPath(pid: number, mapping: LibcMapping): string {
    this.mountNamespace ??= readLink('/proc/self/ns/mnt');
    const candidates = openPathCandidates(pid, mapping, readLink(`/proc/${pid}/ns/mnt`) === this.mountNamespace);
    let existing: string | null = null;
    for (const path of candidates) {
      try {
        // Overlay file systems may show another identity than the maps line: then the first path that exists.
        if (statKey(statSync(path)) === mapping.key) return path;
        existing ??= path;
      } catch {
        // Not reachable this way.
      }
    }
    return existing ?? (candidates[0] as string);
  }

  private sharesRoot(pid: number): boolean {
    try {
      this.root ??= statSync('/');
      const root = statSync(`/proc/${pid}/root/`);
      return root.dev === this.root.dev && root.ino === this.root.ino;
    } catch {
      // Gone, or a root we may not see: open through /proc/<pid>/root, which fails visibly if it must.
      return false;
    }
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function containerOf(pid: number): string | null {
  const text = readText(`/proc/${pid}/cgroup`);
  const container = text === null ? null : parseContainer(text);
  return container ? `${container.runtime}:${container.id.slice(0, 12)}` : null;
}

/** How long a process has run, from its start time in /proc/<pid>/stat; null when it is gone. */
function processAgeMs(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  const uptime = readText('/proc/uptime');
  const ticks = stat === null ? null : startTicks(stat);
  if (ticks === null || uptime === null) return null;
  return Math.max(0, Number.parseFloat(uptime) * 1000 - (ticks * 1000) / TICKS_PER_SECOND);
}
