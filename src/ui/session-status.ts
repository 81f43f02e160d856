/**
 * The header's view of a running session, sampled about once a second
 * (summary() reads kernel maps): events and records per second, lost
 * events, and the other sinks' state.
 */
import type { AttachReport } from '../kernel/tracer.js';
import { describeXdp, describeXdpShort } from '../kernel/xdp-mode.js';
import type { SessionSummary } from '../session.js';
import { RECORD_TYPES } from '../records/types.js';
import { crowdedTables, describeCrowded } from '../format/fill-levels.js';
import type { HeaderInfo, SinkStatus } from './state/header.js';
import { RateMeter } from './state/meter.js';

/** What the UI needs of a Session (the class fits; tests pass a fake). */
export interface SessionHandle {
  start(): AttachReport;
  stop(): Promise<SessionSummary>;
  summary(): SessionSummary;
  readonly eventsDecoded: number;
}

export class SessionStatus {
  private readonly events = new RateMeter();
  private readonly records = new RateMeter();
  private info: HeaderInfo;

  constructor(
    private readonly session: SessionHandle,
    report: AttachReport,
    private readonly sinkStatus?: () => readonly SinkStatus[],
    private readonly clock: () => number = Date.now,
  ) {
    this.info = {
      interfaces: report.interfaces.map((i) => describeXdpShort(i.name, i.xdp)),
      xdp: report.interfaces.flatMap((i) => (i.xdp ? [describeXdp(i.name, i.xdp)] : [])),
      connectProbe: report.connectProbe,
      eventsPerSecond: 0,
      recordsPerSecond: 0,
      lostTotal: 0,
      skippedTotal: 0,
      sinks: [],
      notice: null,
    };
    this.sample();
  }

  sample(): void {
    const now = this.clock();
    const summary = this.session.summary();
    this.events.sample(this.session.eventsDecoded, now);
    this.records.sample(
      RECORD_TYPES.reduce((sum, type) => sum + summary.records[type], 0),
      now,
    );
    this.info = {
      ...this.info,
      eventsPerSecond: this.events.rate,
      recordsPerSecond: this.records.rate,
      lostTotal: summary.lostTotal,
      skippedTotal: summary.skippedTotal,
      sinks: [...this.readSinks(), ...tablesStatus(summary)],
    };
  }

  private readSinks(): readonly SinkStatus[] {
    if (!this.sinkStatus) return [];
    try {
      return this.sinkStatus();
    } catch (error) {
      return [{ label: 'sinks', text: `status unavailable: ${error instanceof Error ? error.message : String(error)}`, warn: true }];
    }
  }

  header(): HeaderInfo {
    return this.info;
  }
}

/** A warning in the header while a table is over FILL_WARN_SHARE of its bound (its peak: the warning stays once seen). */
function tablesStatus(summary: SessionSummary): SinkStatus[] {
  const crowded = crowdedTables(summary.fill ?? []);
  return crowded.length === 0 ? [] : [{ label: 'tables', text: `${crowded.map(describeCrowded).join(', ')} full`, warn: true }];
}
