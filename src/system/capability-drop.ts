/**
 * The drop after start: every thread of hostflow lowers its capability sets
 * to what running still uses (capabilitiesToKeep), through the addon, and
 * then each thread's sets are read back from /proc/self/task to prove it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { firstLine } from '../errors.js';
import type { CapabilityDrop, NativeAddon } from '../kernel/native-api.js';
import { capabilitySet } from './capabilities.js';
import { capabilityNames } from './capability-needs.js';

/** One thread's sets, as /proc/self/task/<tid>/status shows them. */
export interface ThreadCapabilities {
  tid: number;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface DropReport {
  keep: bigint;
  /** What the addon did; null when it threw (`error`). */
  drop: CapabilityDrop | null;
  error: string | null;
  /** Threads read back after the drop. */
  threads: number;
  /** Threads that still hold something outside `keep` in any set. */
  holding: ThreadCapabilities[];
}

/** Each thread's sets now; a thread that ended while being read is left out. */
export function threadCapabilities(taskDir = '/proc/self/task'): ThreadCapabilities[] {
  const threads: ThreadCapabilities[] = [];
  for (const name of readdirSync(taskDir)) {
    let status: string;
    try {
      status = readFileSync(`${taskDir}/${name}/status`, 'utf8');
    } catch {
      continue;
    }
    threads.push({
      tid: Number(name),
      effective: capabilitySet(status, 'CapEff'),
      permitted: capabilitySet(status, 'CapPrm'),
      inheritable: capabilitySet(status, 'CapInh'),
      ambient: capabilitySet(status, 'CapAmb'),
    });
  }
  return threads;
}

/** Threads holding anything outside `keep` (pure). */
export function threadsHoldingMore(threads: readonly ThreadCapabilities[], keep: bigint): ThreadCapabilities[] {
  return threads.filter((thread) => ((thread.effective | thread.permitted | thread.inheritable | thread.ambient) & ~keep) !== 0n);
}

/** Drops to `keep` in every thread and reads every thread back. Never throws: a failure is in the report. */
export function dropCapabilities(native: Pick<NativeAddon, 'dropCapabilities'>, keep: bigint): DropReport {
  let drop: CapabilityDrop | null = null;
  let error: string | null = null;
  try {
    drop = native.dropCapabilities(keep);
  } catch (caught) {
    error = firstLine(caught);
  }
  const threads = threadCapabilities();
  return { keep, drop, error, threads: threads.length, holding: threadsHoldingMore(threads, keep) };
}

/** One start line (pure). */
export function describeDrop(report: DropReport): string {
  const kept = capabilityNames(report.keep).join(', ') || 'none';
  if (report.error !== null) return `capabilities: not dropped: ${report.error}`;
  if (report.holding.length > 0) {
    const tids = report.holding.map((thread) => thread.tid).join(', ');
    return `capabilities: kept ${kept}; ${report.holding.length} of ${report.threads} threads still hold more (tids ${tids}${report.drop?.timedOut ? ', did not answer' : ''})`;
  }
  return `capabilities: kept ${kept}, dropped the rest in all ${report.threads} threads`;
}
