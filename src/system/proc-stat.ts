/**
 * The fields of /proc/<pid>/stat that say who a process is. Pure, and
 * total: any bytes in, a value or null out, never an exception (a process
 * names itself: comm may hold spaces, parentheses and newlines).
 */

export interface ProcStat {
  /** Field 2, without its parentheses: the name of the image it runs (15 bytes at most). */
  comm: string;
  /** Field 4: the parent's pid; 0 for init and kernel threads' parent. */
  ppid: number;
  /** Field 22: when it started, clock ticks since boot. */
  startTicks: number;
}

const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
/** Fields after comm, counted from field 3 (state). */
const PPID_AFTER_COMM = 4 - 3;
const STARTTIME_AFTER_COMM = 22 - 3;
const DECIMAL = /^\d+$/;

const utf8 = new TextDecoder('utf-8');

function decimal(field: string | undefined): number | null {
  if (field === undefined || !DECIMAL.test(field)) return null;
  const value = Number(field);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * comm as the kernel's events decode it (UTF-8, invalid bytes replaced), so
 * the two compare equal for the same bytes; the fields resume after the
 * LAST ')'.
 */
export function parseProcStat(stat: Uint8Array): ProcStat | null {
  const open = stat.indexOf(OPEN_PAREN);
  const close = stat.lastIndexOf(CLOSE_PAREN);
  if (open < 0 || close < open || stat[close + 1] !== 0x20) return null;
  const rest = Buffer.from(stat.buffer, stat.byteOffset + close + 2, stat.byteLength - close - 2).toString('latin1');
  const fields = rest.split(' ');
  const ppid = decimal(fields[PPID_AFTER_COMM]);
  const startTicks = decimal(fields[STARTTIME_AFTER_COMM]);
  if (ppid === null || startTicks === null) return null;
  return { comm: utf8.decode(stat.subarray(open + 1, close)), ppid, startTicks };
}
