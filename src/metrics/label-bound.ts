/**
 * Bounds on the label values the traffic metrics take from traced traffic
 * (process names, hostnames, DNS answer codes): every value is a series in
 * every scraper, and the traffic chooses them, so each label keeps the
 * first `limit` distinct values it sees and folds later ones into one value,
 * FOLDED, counting what it folded. A series once exported is never taken
 * back (a counter must not go backwards), so "first seen" is the rule, not
 * "busiest". Pure.
 */

/** The label value of everything past a bound. */
export const FOLDED = '(other)';
/** The label value of a record without the field (a lookup seen only at an interface, an unnamed connection). */
export const UNKNOWN = '';

/** One label's distinct values, the first `limit` kept. */
export class LabelBound {
  private readonly kept = new Set<string>();
  /** Values folded into FOLDED, counted each time. */
  folded = 0;

  constructor(readonly limit: number) {}

  /** The label value for `raw`: itself while there is room, else FOLDED. UNKNOWN takes no room; a raw FOLDED is folded. */
  value(raw: string | null): string {
    if (raw === null || raw === UNKNOWN) return UNKNOWN;
    if (this.kept.has(raw)) return raw;
    if (raw !== FOLDED && this.kept.size < this.limit) {
      this.kept.add(raw);
      return raw;
    }
    this.folded++;
    return FOLDED;
  }

  /** Distinct values kept (each a series of its own). */
  get size(): number {
    return this.kept.size;
  }
}

export interface LabelLimits {
  /** Process names (comm) with series of their own. @default 100 */
  processes: number;
  /** Hostnames with series of their own, per process name. @default 50 */
  hostnamesPerProcess: number;
}

export const LABEL_LIMIT_DEFAULTS: LabelLimits = { processes: 100, hostnamesPerProcess: 50 };

/** DNS answer codes (getaddrinfo's EAI_* names, DNS rcodes, TIMEOUT) with series of their own: more than either set has. */
export const STATUS_LIMIT = 32;

export type BoundedLabel = 'comm' | 'host' | 'status';

export interface LabelBoundStats {
  label: BoundedLabel;
  /** Distinct values allowed: per process for `host`. */
  limit: number;
  /** Distinct values kept now (summed over processes for `host`). */
  values: number;
  /** Times a value was folded into FOLDED. */
  folded: number;
}

/** The bounded labels of the traffic metrics: process names, hostnames per process name, answer codes. */
export class TrafficLabels {
  private readonly comms: LabelBound;
  /** Per bounded process name (so at most processes + 2 entries). */
  private readonly hosts = new Map<string, LabelBound>();
  private readonly statuses = new LabelBound(STATUS_LIMIT);
  private hostsFolded = 0;
  private hostValues = 0;

  constructor(readonly limits: LabelLimits = LABEL_LIMIT_DEFAULTS) {
    this.comms = new LabelBound(limits.processes);
  }

  comm(raw: string | null): string {
    return this.comms.value(raw);
  }

  /** The hostname's label value under `comm`, a value comm() returned. */
  host(comm: string, raw: string | null): string {
    let bound = this.hosts.get(comm);
    if (!bound) {
      bound = new LabelBound(this.limits.hostnamesPerProcess);
      this.hosts.set(comm, bound);
    }
    const before = bound.size;
    const beforeFolded = bound.folded;
    const value = bound.value(raw);
    this.hostValues += bound.size - before;
    this.hostsFolded += bound.folded - beforeFolded;
    return value;
  }

  status(raw: string): string {
    return this.statuses.value(raw);
  }

  stats(): LabelBoundStats[] {
    return [
      { label: 'comm', limit: this.comms.limit, values: this.comms.size, folded: this.comms.folded },
      { label: 'host', limit: this.limits.hostnamesPerProcess, values: this.hostValues, folded: this.hostsFolded },
      { label: 'status', limit: this.statuses.limit, values: this.statuses.size, folded: this.statuses.folded },
    ];
  }
}
