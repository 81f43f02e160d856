/**
 * Reading /proc/<pid>/maps for the libc files a process has mapped (pure:
 * text in, mappings out). A libc is named by the file it maps, seen from
 * the process's own mount namespace, so a container's libc is opened from
 * the host through /proc/<pid>/root, and a libc deleted since it was mapped
 * (a package upgrade) through /proc/<pid>/map_files.
 */

/** One file-backed line of /proc/<pid>/maps. */
export interface Mapping {
  /** Range as the kernel prints it, e.g. '7f1e2c000000-7f1e2c028000': the name under map_files/. */
  range: string;
  perms: string;
  /** The mapped file's identity: device major:minor (hex, as printed) and inode. */
  device: string;
  inode: number;
  /** The path as the process sees it, without the ' (deleted)' mark. */
  path: string;
  /** The file was unlinked after it was mapped. */
  deleted: boolean;
}

/** A libc mapped by one process. */
export interface LibcMapping extends Mapping {
  /** `device:inode`: the same file mapped by many processes, whatever path each sees it at. */
  key: string;
}

const MAPS_LINE = /^([0-9a-f]+-[0-9a-f]+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(.*)$/;
const DELETED = ' (deleted)';

/**
 * The file names libc goes by: glibc's libc.so.6 (libc-2.x.so before 2.34),
 * musl's libc.so (Debian's musl package), its loader ld-musl-<arch>.so.1
 * (which is the libc, Alpine) and Alpine's libc.musl-<arch>.so.1 link.
 * glibc's own libc.so is a linker script that is never mapped.
 */
const LIBC_NAME = /^(libc\.so\.6|libc-[\d.]+\.so|libc\.so|ld-musl-[\w]+\.so\.1|libc\.musl-[\w]+\.so\.1)$/;

/** Whether a path names a libc by its file name. */
export function isLibcPath(path: string): boolean {
  return LIBC_NAME.test(path.slice(path.lastIndexOf('/') + 1));
}

/** One maps line, or null for anonymous, special ([heap], [vdso]) and malformed lines. */
export function parseMapsLine(line: string): Mapping | null {
  const match = MAPS_LINE.exec(line);
  if (!match) return null;
  const [, range, perms, device, inode, rawPath] = match as unknown as [string, string, string, string, string, string];
  if (!rawPath.startsWith('/')) return null;
  const deleted = rawPath.endsWith(DELETED);
  // The kernel escapes a newline in a path as \012 (seq_path's mangle set).
  const path = (deleted ? rawPath.slice(0, -DELETED.length) : rawPath).replace(/\\012/g, '\n');
  return { range, perms, device, inode: Number(inode), path, deleted };
}

/** The libc files of one maps text, each file once (by device and inode), in order of appearance. */
export function libcMappings(mapsText: string): LibcMapping[] {
  const found = new Map<string, LibcMapping>();
  for (const line of mapsText.split('\n')) {
    const mapping = parseMapsLine(line);
    if (!mapping || mapping.inode === 0 || !isLibcPath(mapping.path)) continue;
    const key = `${mapping.device}:${mapping.inode}`;
    if (!found.has(key)) found.set(key, { ...mapping, key });
  }
  return [...found.values()];
}

/**
 * The paths that may open a process's libc from hostflow, best guess
 * first. The kernel prints a maps path relative to the reader's root where
 * the file is reachable from it (a chroot's file, seen from the host, has
 * its full host path), and relative to the process's own mount namespace
 * where it is not (a container's file): so a process in hostflow's mount
 * namespace is tried by the path itself first, any other through
 * /proc/<pid>/root first. The caller keeps the one whose identity matches
 * the maps line. A deleted file has one way in: the kernel's link to the
 * mapping itself.
 */
export function openPathCandidates(pid: number, mapping: Mapping, sameMountNamespace: boolean): string[] {
  if (mapping.deleted) return [`/proc/${pid}/map_files/${mapping.range}`];
  const throughRoot = `/proc/${pid}/root${mapping.path}`;
  return sameMountNamespace ? [mapping.path, throughRoot] : [throughRoot, mapping.path];
}

/** The maps identity (`major:minor:inode`, hex device numbers) of a stat() result, to match files named by path. */
export function statKey(stat: { dev: number; ino: number }): string {
  // glibc's dev_t encoding (gnu_dev_major/minor), which Node's stat passes through.
  const dev = BigInt(stat.dev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `${hex(major)}:${hex(minor)}:${stat.ino}`;
}

/** Numeric entries of a /proc listing: the process ids. */
export function pidsOf(names: readonly string[]): number[] {
  const pids: number[] = [];
  for (const name of names) {
    if (/^\d+$/.test(name)) pids.push(Number(name));
  }
  return pids;
}

/** Clock ticks since boot when the process started: field 22 of /proc/<pid>/stat (after the parenthesised comm, which may hold spaces). */
export function startTicks(statText: string): number | null {
  const fields = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}
