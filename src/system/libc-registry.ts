/**
 * The libc files hostflow knows of (pure bookkeeping): each file once by
 * its identity (device and inode, whatever path a process sees it at), the
 * processes mapping it now, and whether its getaddrinfo probes attached.
 * The /proc reading and the attaching are libc-tracker.ts's.
 */

import { note, ok, plural, problem, type SummaryLine } from '../format/health.js';

/** The system libc hostflow itself maps, a --libc file, or one found in a process's maps. */
export type LibcOrigin = 'system' | 'option' | 'discovered';

export interface LibcFile {
  /** `major:minor:inode` (see libc-maps.ts). */
  key: string;
  /** The path as the process that brought it sees it (or as given with --libc). */
  path: string;
  /** The path hostflow attached through (/proc/<pid>/root/... for a container's file). */
  openPath: string;
  origin: LibcOrigin;
  /** The file was deleted after it was mapped; attached through /proc/<pid>/map_files. */
  deleted: boolean;
  /** The process it was first found in, null for --libc files. */
  firstPid: number | null;
  firstComm: string | null;
  /** 'docker:0123456789ab' when the first process runs in a container. */
  container: string | null;
  /** The first process has another root than hostflow (a container or chroot). */
  foreignRoot: boolean;
  /** Processes mapping it at the last scan (0 before any scan). */
  pids: number;
  attached: boolean;
  /** Why the probes did not attach. */
  error: string | null;
  /**
   * Found after the start in a process that was already running: the
   * process ran this long before the probes attached, and lookups it made
   * in that time were not traced. Null otherwise.
   */
  untracedMs: number | null;
}

/** What scanning cost and what it could not read. */
export interface LibcScanStats {
  /** maps files read. */
  scans: number;
  /** Processes that exited before their maps could be read. */
  vanished: number;
  /** maps files that could not be read for another reason (a read that fails again counts again). */
  unreadable: number;
  /** A few of those processes, 'pid 1 systemd: EACCES', for the summary. */
  unreadableSample: string[];
  /** New processes waiting for a scan (the per-tick bound was reached). */
  backlog: number;
}

export class LibcRegistry {
  private readonly files = new Map<string, LibcFile>();
  private readonly pidFiles = new Map<number, string[]>();

  has(key: string): boolean {
    return this.files.has(key);
  }

  /** Registers a file once; returns false when its key is known already. */
  add(file: Omit<LibcFile, 'pids'>): boolean {
    if (this.files.has(file.key)) return false;
    this.files.set(file.key, { ...file, pids: 0 });
    return true;
  }

  /** Records the attach outcome of a file added before. */
  settle(key: string, error: string | null): void {
    const file = this.files.get(key);
    if (!file) return;
    file.attached = error === null;
    file.error = error;
  }

  /** The files a process maps now (replacing what it mapped at its last scan). */
  setPidFiles(pid: number, keys: readonly string[]): void {
    this.forgetPid(pid);
    const known = keys.filter((key) => this.files.has(key));
    if (known.length === 0) return;
    this.pidFiles.set(pid, known);
    for (const key of known) (this.files.get(key) as LibcFile).pids++;
  }

  /** A process exited. */
  forgetPid(pid: number): void {
    for (const key of this.pidFiles.get(pid) ?? []) {
      const file = this.files.get(key);
      if (file) file.pids--;
    }
    this.pidFiles.delete(pid);
  }

  /** Pids with a libc mapped, as of their last scan. */
  trackedPids(): IterableIterator<number> {
    return this.pidFiles.keys();
  }

  /** Every file, in the order found. */
  list(): LibcFile[] {
    return [...this.files.values()].map((file) => ({ ...file }));
  }
}

/** One file, one line: '/usr/lib/x86_64-linux-gnu/libc.so.6 (57 pids)'. */
export function describeLibc(file: LibcFile): string {
  const details: string[] = [];
  if (file.origin !== 'discovered') details.push(file.origin === 'option' ? '--libc' : 'system');
  if (file.origin === 'discovered' || file.pids > 0) details.push(`${file.pids} pid${file.pids === 1 ? '' : 's'}`);
  if (file.firstPid !== null && (file.foreignRoot || file.container || file.deleted)) {
    details.push(`from pid ${file.firstPid}${file.firstComm ? ` ${file.firstComm}` : ''}`);
  }
  if (file.container) details.push(`container ${file.container}`);
  else if (file.foreignRoot) details.push('other root');
  if (file.deleted) details.push('deleted');
  if (file.untracedMs !== null) details.push(`attached ${Math.round(file.untracedMs)} ms after its process started`);
  if (file.error) details.push(`not attached: ${file.error}`);
  return `${file.path}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

/**
 * The summary's libc lines: the files traced (ok), the files that could not
 * be (a problem: lookups there are not seen), files found late (their
 * first lookups were missed) and processes whose maps could not be read (a
 * libc only they map is not traced).
 */
export function libcSummaryLines(files: readonly LibcFile[], stats?: LibcScanStats): SummaryLine[] {
  const attached = files.filter((file) => file.attached);
  const failed = files.filter((file) => !file.attached);
  const lines: SummaryLine[] = [];
  if (attached.length > 0) lines.push(ok('libc', `getaddrinfo traced in ${plural(attached.length, 'file')}: ${attached.map(describeLibc).join('; ')}`));
  if (failed.length > 0)
    lines.push(
      problem('libc', `getaddrinfo NOT traced in ${plural(failed.length, 'file')}, their lookups are not seen: ${failed.map(describeLibc).join('; ')}`),
    );
  const late = files.filter((file) => file.untracedMs !== null).length;
  if (late > 0) {
    lines.push(
      note(
        'libc',
        `${late === 1 ? '1 file was' : `${late} files were`} found after a process that maps it started: its lookups before the attach (see above) were not traced`,
      ),
    );
  }
  if (stats && stats.unreadable > 0) {
    const more = stats.unreadable - stats.unreadableSample.length;
    const sample = `${stats.unreadableSample.join('; ')}${more > 0 ? ` and ${more} more` : ''}`;
    lines.push(note('libc', `could not read the memory maps of ${sample}: a libc that only such a process maps is not traced`));
  }
  return lines;
}
