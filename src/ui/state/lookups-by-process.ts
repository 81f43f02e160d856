/**
 * Name resolutions counted per process since start (or the last clear):
 * how many, how many failed and with which status, so the DNS view can say
 * which process causes the NXDOMAINs, SERVFAILs and TIMEOUTs. Bounded: the
 * process whose last lookup is the oldest is dropped first.
 */
import { trimOldest } from './recent.js';
import type { ProcessLookups } from './rows.js';

/** Statuses of a lookup that got an answer: getaddrinfo's `OK` (`0` in older records), the DNS rcode `NOERROR`. */
const SUCCEEDED = new Set(['OK', '0', 'NOERROR']);

/** True when a lookup's status says it failed (NXDOMAIN, SERVFAIL, TIMEOUT, EAI_*, ...). */
export function lookupFailed(status: string): boolean {
  return !SUCCEEDED.has(status);
}

/** A process's key: its pid and name; '' for lookups seen without a process. */
export function processKey(pid: number | null, comm: string | null): string {
  return pid === null ? '' : `${pid} ${comm ?? '?'}`;
}

/** How the caption and details name a process: `comm[pid]`. */
export function processLabel(pid: number | null, comm: string | null): string {
  return pid === null ? '(no process)' : `${comm ?? '?'}[${pid}]`;
}

interface Entry {
  label: string;
  lookups: number;
  failed: number;
  failures: Map<string, number>;
  /** What `of` hands out until the next lookup changes it. */
  shown: ProcessLookups | null;
}

const NONE: ProcessLookups = { lookups: 0, failed: 0, failures: [] };

export class LookupsByProcess {
  /** Insertion order is recency order: a process that looks up moves to the end. */
  private entries = new Map<string, Entry>();

  /** @param limit processes kept (a tenth more between trims) */
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Counts one lookup; `label` and `status` are already sanitized. */
  add(key: string, label: string, status: string): void {
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else entry = { label, lookups: 0, failed: 0, failures: new Map(), shown: null };
    entry.lookups++;
    if (lookupFailed(status)) {
      entry.failed++;
      entry.failures.set(status, (entry.failures.get(status) ?? 0) + 1);
    }
    entry.shown = null;
    this.entries.set(key, entry);
    trimOldest(this.entries, this.limit);
  }

  /** The counts of a process as they are now: a value that later lookups do not change. */
  of(key: string): ProcessLookups {
    const entry = this.entries.get(key);
    if (!entry) return NONE;
    entry.shown ??= {
      lookups: entry.lookups,
      failed: entry.failed,
      failures: [...entry.failures].sort(([a, first], [b, second]) => second - first || (a < b ? -1 : 1)),
    };
    return entry.shown;
  }

  /** The processes with the most failed lookups, most first, at most `count`. */
  topFailing(count: number): Array<{ label: string; failed: number }> {
    const failing: Array<{ label: string; failed: number }> = [];
    for (const entry of this.entries.values()) if (entry.failed > 0) failing.push({ label: entry.label, failed: entry.failed });
    return failing.sort((a, b) => b.failed - a.failed || (a.label < b.label ? -1 : 1)).slice(0, count);
  }

  /** Failed lookups of every process kept. */
  get failed(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.failed;
    return total;
  }

  clear(): void {
    this.entries.clear();
  }
}
