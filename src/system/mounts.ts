/**
 * tracefs and bpffs: libbpf attaches tracepoints by the ids it reads from
 * tracefs, which is not mounted on every boot. hostflow mounts it when it
 * is missing and it is allowed to.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const TRACEFS = '/sys/kernel/tracing';

/** Mount points of a filesystem type in a /proc/mounts text. */
export function mountPoints(mountsText: string, fsType: string): string[] {
  return mountsText
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === fsType)
    .map((fields) => fields[1] ?? '');
}

function mountsText(): string {
  try {
    return readFileSync('/proc/mounts', 'utf8');
  } catch {
    return '';
  }
}

/** Where tracefs is usable: its own mount, or debugfs's tracing folder. */
export function tracefsPath(): string | null {
  const mounts = mountsText();
  if (mountPoints(mounts, 'tracefs').includes(TRACEFS)) return TRACEFS;
  for (const debugfs of mountPoints(mounts, 'debugfs')) {
    if (existsSync(`${debugfs}/tracing/events`)) return `${debugfs}/tracing`;
  }
  const other = mountPoints(mounts, 'tracefs')[0];
  return other ?? null;
}

export interface MountResult {
  path: string | null;
  /** True when hostflow mounted it just now. */
  mounted: boolean;
  /** Why it is not there, when path is null. */
  error?: string;
}

function mount(fsType: string, target: string): string | null {
  try {
    execFileSync('mount', ['-t', fsType, 'nodev', target], { stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (error as Error).message;
  }
}

/** Makes sure tracefs is mounted, mounting it at /sys/kernel/tracing when missing. */
export function ensureTracefs(): MountResult {
  const existing = tracefsPath();
  if (existing) return { path: existing, mounted: false };
  const error = mount('tracefs', TRACEFS);
  if (error) return { path: null, mounted: false, error: `cannot mount tracefs at ${TRACEFS}: ${error}` };
  return { path: TRACEFS, mounted: true };
}

export function bpffsMounted(): boolean {
  return mountPoints(mountsText(), 'bpf').length > 0;
}
