/**
 * The UI's state model: every record the session writes goes through
 * `add`, which costs a few map updates and never renders; the screen reads
 * snapshots at its own pace. Outside strings are sanitized here, once.
 * Memory is bounded by `ModelLimits`.
 */
import { sanitize } from '../../format/sanitize.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord } from '../../records/types.js';
import { ConnectionsTable, connectionKey } from './connections-table.js';
import { DnsTable } from './dns-table.js';
import { FlowsTable } from './flows-table.js';
import { HostsTable } from './hosts-table.js';
import { UNRESOLVED_KEY, type ConnRow, type DnsRow, type FlowRow, type HostRow } from './rows.js';

/** Row caps; a table may run a tenth over its cap between two trims. */
export interface ModelLimits {
  /** Hostnames kept, the least recently seen dropped first. @default 5000 */
  hosts: number;
  /** Live connections kept. @default 20000 */
  liveConnections: number;
  /** Closed connections kept. @default 2000 */
  closedConnections: number;
  /** How long a closed connection stays listed, in ms. @default 60000 */
  closedRetentionMs: number;
  /** Flows of one interval kept, the top ones by bytes. @default 5000 */
  flows: number;
  /** Name resolutions kept. @default 2000 */
  lookups: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  hosts: 5000,
  liveConnections: 20_000,
  closedConnections: 2000,
  closedRetentionMs: 60_000,
  flows: 5000,
  lookups: 2000,
};

export interface ModelOptions {
  limits?: Partial<ModelLimits>;
  /** Seconds one flow record covers, for rates. @default 10 */
  flowIntervalSeconds?: number;
}

export interface ModelCounts {
  hosts: number;
  open: number;
  closed: number;
  flows: number;
  flowsOmitted: number;
  lookups: number;
  /** Epoch ms when the shown flow interval ended, 0 before the first. */
  flowsEndedAt: number;
}

const text = (value: string | null): string | null => (value === null ? null : sanitize(value));

function epochMs(iso: string, fallback: number): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

export class UiModel {
  /** Changes whenever a record or a tick changed what a snapshot would show. */
  version = 0;
  /** Records taken since start (clear does not reset it). */
  records = 0;
  readonly limits: ModelLimits;
  readonly flowIntervalSeconds: number;
  private readonly hosts: HostsTable;
  private readonly connections: ConnectionsTable;
  private readonly flows: FlowsTable;
  private readonly dns: DnsTable;
  private sequence = 0;

  constructor(
    options: ModelOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.flowIntervalSeconds = options.flowIntervalSeconds ?? 10;
    this.hosts = new HostsTable(this.limits.hosts);
    this.connections = new ConnectionsTable({
      live: this.limits.liveConnections,
      closed: this.limits.closedConnections,
      closedRetentionMs: this.limits.closedRetentionMs,
    });
    this.flows = new FlowsTable(this.limits.flows);
    this.dns = new DnsTable(this.limits.lookups);
  }

  /** Takes one record (a session sink). */
  add(record: HostflowRecord): void {
    this.records++;
    this.version++;
    switch (record.type) {
      case 'dns':
        return this.addDns(record);
      case 'conn':
        return this.addConn(record);
      case 'flow':
        return this.addFlow(record);
    }
  }

  private addDns(record: DnsRecord): void {
    const row: DnsRow = {
      key: String(++this.sequence),
      at: epochMs(record.ts, this.clock()),
      pid: record.pid,
      tid: record.tid,
      comm: text(record.comm),
      host: sanitize(record.host),
      cnames: (record.cnames ?? []).map(sanitize),
      addrs: record.addrs.map(sanitize),
      ttl: record.ttl,
      latencyMs: record.latency_ms,
      source: record.source,
      status: sanitize(record.status),
      iface: text(record.iface),
      server: text(record.server),
    };
    this.dns.add(row);
    this.hosts.lookup(row.host, row.addrs, row.comm, row.pid, row.at);
  }

  private addConn(record: ConnRecord): void {
    const at = epochMs(record.ts, this.clock());
    const key = connectionKey(record.direction, record.saddr, record.sport, record.daddr, record.dport);
    if (record.event === 'named' && record.host !== null) {
      const host = sanitize(record.host);
      const before = this.connections.name(key, host, text(record.host_source));
      if (before) {
        this.hosts.renamed(before.host, host, before.remoteAddress, before.comm, before.pid, at);
        return;
      }
      // Its open was never listed (filtered or pushed out): the named record holds everything the open did.
    }
    const closing = record.event === 'close';
    const row: ConnRow = {
      key,
      state: !closing ? 'open' : record.established === false ? 'failed' : 'closed',
      pid: record.pid,
      comm: text(record.comm),
      uid: record.uid,
      container: record.container_id === null ? null : sanitize(`${record.container_runtime ?? 'container'} ${record.container_id.slice(0, 12)}`),
      family: record.family,
      direction: record.direction,
      localAddress: sanitize(record.saddr),
      localPort: record.sport,
      remoteAddress: sanitize(record.daddr),
      remotePort: record.dport,
      host: text(record.host),
      hostSource: text(record.host_source),
      unresolved: text(record.unresolved),
      probe: sanitize(record.probe),
      openedAt: closing ? (record.duration_ms === null ? null : at - record.duration_ms) : at,
      closedAt: closing ? at : null,
      connectLatencyMs: record.connect_latency_ms,
      durationMs: record.duration_ms,
      bytesSent: record.bytes_sent,
      bytesReceived: record.bytes_received,
      retransmits: record.retransmits,
    };
    const isNew = closing ? !this.connections.close(row) : this.connections.open(row);
    const totals = closing ? { bytesIn: record.bytes_received ?? 0, bytesOut: record.bytes_sent ?? 0 } : undefined;
    this.hosts.connection(row.host, row.remoteAddress, row.comm, row.pid, at, isNew, totals);
  }

  private addFlow(record: FlowRecord): void {
    const egress = record.direction === 'egress';
    const row: FlowRow = {
      key: `${record.iface}|${record.direction}|${record.proto}|${record.saddr}|${record.sport}|${record.daddr}|${record.dport}`,
      iface: sanitize(record.iface),
      direction: record.direction,
      proto: sanitize(record.proto),
      family: record.family,
      localAddress: sanitize(egress ? record.saddr : record.daddr),
      localPort: egress ? record.sport : record.dport,
      remoteAddress: sanitize(egress ? record.daddr : record.saddr),
      remotePort: egress ? record.dport : record.sport,
      remoteHost: text(egress ? record.dst_host : record.src_host),
      localHost: text(egress ? record.src_host : record.dst_host),
      pid: record.pid,
      comm: text(record.comm),
      packets: record.packets,
      bytes: record.bytes,
      tcpFlags: record.tcp_flags,
      start: epochMs(record.start, this.clock()),
      end: epochMs(record.end, this.clock()),
    };
    this.flows.add(row);
    this.hosts.flow(row.remoteHost, row.remoteAddress, egress ? 'out' : 'in', row.bytes, row.comm, row.pid, row.end);
  }

  /**
   * Between frames: ends a flow interval whose burst arrived, forgets old
   * closed connections, and lets rates fall to zero when flows stop
   * coming (two intervals without any).
   */
  tick(now: number = this.clock()): void {
    const intervalMs = this.flowIntervalSeconds * 1000;
    if (this.flows.pending) {
      this.flows.endInterval(now);
      this.hosts.endInterval(this.flowIntervalSeconds);
      this.version++;
    } else if (this.flows.rows().length > 0 && now - this.flows.endedAt > 2 * intervalMs + 1000) {
      this.flows.endInterval(now);
      this.hosts.endInterval(this.flowIntervalSeconds);
      this.version++;
    }
    const closedBefore = this.connections.closedCount;
    this.connections.expire(now);
    if (this.connections.closedCount !== closedBefore) this.version++;
  }

  /** Forgets every row (counters of the session are not the model's). */
  clear(): void {
    this.hosts.clear();
    this.connections.clear();
    this.flows.clear();
    this.dns.clear();
    this.version++;
  }

  hostRows(): HostRow[] {
    const open = this.connections.openByHost(UNRESOLVED_KEY);
    return this.hosts.rows((key) => open.get(key) ?? 0);
  }

  connectionRows(): ConnRow[] {
    return this.connections.rows();
  }

  flowRows(): readonly FlowRow[] {
    return this.flows.rows();
  }

  dnsRows(): DnsRow[] {
    return this.dns.rows();
  }

  counts(): ModelCounts {
    return {
      hosts: this.hosts.size,
      open: this.connections.liveCount,
      closed: this.connections.closedCount,
      flows: this.flows.rows().length,
      flowsOmitted: this.flows.omitted,
      lookups: this.dns.size,
      flowsEndedAt: this.flows.endedAt,
    };
  }
}
