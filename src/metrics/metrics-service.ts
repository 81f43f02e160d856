/**
 * The Prometheus endpoint beside a session: it binds before anything is
 * traced (a busy port is one line and exit 1), counts the records the
 * session writes into the traffic metrics, counts each sink's records, and
 * at every scrape reads the session's summary, the storage sink's status
 * and the blocklist's totals into the health metrics. The session never
 * calls into it.
 */
import { Registry } from 'prom-client';
import type { BlocklistTotals } from '../kernel/blocklist.js';
import type { OutputSink } from '../output/sinks.js';
import type { HostflowRecord, RecordType } from '../records/types.js';
import type { RecordSink, Session, SessionSummary } from '../session.js';
import { exposition } from './exposition.js';
import { HealthMetrics, type SinkCount } from './health-metrics.js';
import type { LabelLimits } from './label-bound.js';
import { metricsUrl, type MetricsAddress } from './metrics-address.js';
import { MetricsServer } from './metrics-server.js';
import { TrafficMetrics } from './traffic-metrics.js';

export interface MetricsOptions {
  address: MetricsAddress;
  limits: LabelLimits;
}

export class MetricsService {
  private readonly registry = new Registry();
  private readonly traffic: TrafficMetrics;
  private readonly sinkCounts: SinkCount[] = [];
  private readonly storageSinks: OutputSink[] = [];
  private health: HealthMetrics | null = null;
  private session: Session | null = null;
  /** After the session stopped, its final summary (a stopped session reads as empty). */
  private finalSummary: SessionSummary | null = null;
  /** The blocklist's totals at the last scrape: its maps close with the session. */
  private lastBlocklist: BlocklistTotals | null = null;
  /** Scrapes run one after the other: each sets the health metrics and then serializes them. */
  private scraping: Promise<unknown> = Promise.resolve();
  private server: MetricsServer | null = null;

  private constructor(readonly limits: LabelLimits) {
    this.traffic = new TrafficMetrics(this.registry, limits);
  }

  /** Binds the endpoint; throws a one-line HostflowError when it cannot. */
  static async start(options: MetricsOptions): Promise<MetricsService> {
    const service = new MetricsService(options.limits);
    service.server = await MetricsServer.listen(options.address, () => service.scrape());
    return service;
  }

  /** Where it listens (with the kernel's port when 0 was asked). */
  get address(): MetricsAddress | null {
    return this.server?.address ?? null;
  }

  /** The start line. */
  describe(): string {
    const where = this.address ? metricsUrl(this.address) : 'not listening';
    return `metrics: ${where} (${this.limits.processes} process names, ${this.limits.hostnamesPerProcess} hostnames each)`;
  }

  /** The session's sink for the traffic metrics. */
  readonly recordSink: RecordSink = (record: HostflowRecord) => this.traffic.add(record);

  /** `sink`'s write for the session, counting its records by type. */
  counted(sink: OutputSink): RecordSink {
    const records: Record<RecordType, number> = { dns: 0, conn: 0, flow: 0, udp: 0 };
    this.sinkCounts.push({ sink: sink.name ?? 'output', records });
    if (sink.storageStatus) this.storageSinks.push(sink);
    return (record) => {
      records[record.type]++;
      sink.write(record);
    };
  }

  /** From now on, scrapes read this running session. */
  follow(session: Session): void {
    this.session = session;
    this.health ??= new HealthMetrics(this.registry, { storage: this.storageSinks.length > 0, blocklist: session.blocklist !== null });
  }

  /** The session stopped: scrapes until close() read its final summary. */
  stopped(summary: SessionSummary): void {
    this.finalSummary = summary;
  }

  /** The exposition text, as GET /metrics answers. */
  scrape(): Promise<string> {
    const next = this.scraping.then(() => {
      this.updateHealth();
      return exposition(this.registry);
    });
    this.scraping = next.catch(() => {});
    return next;
  }

  private updateHealth(): void {
    const session = this.session;
    if (!this.health || !session) return;
    this.lastBlocklist = session.blocklist?.totals() ?? this.lastBlocklist;
    const storage = this.storageSinks[0]?.storageStatus?.() ?? null;
    this.health.update({
      summary: this.finalSummary ?? session.summary(),
      sinks: this.sinkCounts,
      storage,
      blocklist: this.lastBlocklist,
      labels: this.traffic.labels.stats(),
    });
  }

  /** After the sinks closed: stops serving. */
  async close(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }
}
