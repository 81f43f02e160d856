/**
 * The UI's state model: every record the session writes goes through
 * `add`, which costs a few map updates and never renders; the screen reads
 * snapshots at its own pace. Outside strings are sanitized here, once.
 * Memory is bounded by `ModelLimits`.
 */
import { sanitize } from '../../format/sanitize.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, ProcessFields, UdpRecord } from '../../records/types.js';
import { ConnectionsTable, connectionKey } from './connections-table.js';
import { DnsTable } from './dns-table.js';
import { FlowsTable } from './flows-table.js';
import { HostsTable } from './hosts-table.js';
import { LookupsByProcess, lookupFailed, processKey, processLabel } from './lookups-by-process.js';
import { UNRESOLVED_KEY, type ConnRow, type DnsRow, type FlowRow, type HostRow, type ProcessInfo } from './rows.js';

/** Row caps; a table may run a tenth over its cap between two trims. */
export interface ModelLimits {
  /** Hostnames kept, the least recently seen dropped first. @default 5000 */
  hosts: number;
  /** Live TCP connections and UDP conversations kept. @default 20000 */
  liveConnections: number;
  /** Closed ones kept. @default 2000 */
  closedConnections: number;
  /** How long a closed connection or conversation stays listed, in ms. @default 60000 */
  closedRetentionMs: number;
  /** Flows of one interval kept, the top ones by bytes. @default 5000 */
  flows: number;
  /** Name resolutions kept. @default 2000 */
  lookups: number;
  /** Processes whose lookups are counted, the least recently resolving dropped first. @default 2000 */
  lookupProcesses: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  hosts: 5000,
  liveConnections: 20_000,
  closedConnections: 2000,
  closedRetentionMs: 60_000,
  flows: 5000,
  lookups: 2000,
  lookupProcesses: 2000,
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
  /** Failed lookups since start (or the last clear), of the processes counted. */
  lookupsFailed: number;
  /** The processes with the most failed lookups (`comm[pid]`), most first, at most three. */
  failingProcesses: Array<{ label: string; failed: number }>;
  /** Epoch ms when the shown flow interval ended, 0 before the first. */
  flowsEndedAt: number;
}

// A field a record lacks (a writer of an older contract) is shown as unknown rather than ending the UI.
const text = (value: string | null | undefined): string | null => (value === null || value === undefined ? null : sanitize(value));

/** A record's process, its strings sanitized. */
const processOf = (record: ProcessFields): ProcessInfo => ({
  pid: record.pid,
  ppid: record.ppid ?? null,
  comm: text(record.comm),
  exe: text(record.exe),
  cmdline: text(record.cmdline),
});

const containerOf = (record: ProcessFields): string | null =>
  record.container_id === null ? null : sanitize(`${record.container_runtime ?? 'container'} ${record.container_id.slice(0, 12)}`);

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
  private readonly lookups: LookupsByProcess;
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
    this.lookups = new LookupsByProcess(this.limits.lookupProcesses);
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
      case 'udp':
        return this.addUdp(record);
    }
  }

  private addDns(record: DnsRecord): void {
    const process = processOf(record);
    const status = sanitize(record.status);
    const key = processKey(process.pid, process.comm);
    this.lookups.add(key, processLabel(process.pid, process.comm), status);
    const row: DnsRow = {
      key: String(++this.sequence),
      at: epochMs(record.ts, this.clock()),
      ...process,
      tid: record.tid,
      host: sanitize(record.host),
      cnames: (record.cnames ?? []).map(sanitize),
      addrs: record.addrs.map(sanitize),
      ttl: record.ttl,
      latencyMs: record.latency_ms,
      source: record.source,
      status,
      failed: lookupFailed(status),
      iface: text(record.iface),
      server: text(record.server),
      processKey: key,
      // Stamped with the counts as they are when rows are read (dnsRows).
      process: this.lookups.of(key),
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
      proto: 'tcp',
      state: !closing ? 'open' : record.established === false ? 'failed' : 'closed',
      ...processOf(record),
      uid: record.uid,
      container: containerOf(record),
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
      packetsSent: null,
      packetsReceived: null,
      endReason: null,
      iface: null,
    };
    this.listConnection(row, closing, at);
  }

  /** A UDP conversation is listed with the TCP connections, its key apart from theirs. */
  private addUdp(record: UdpRecord): void {
    const at = epochMs(record.ts, this.clock());
    const closing = record.event === 'close';
    const firstSeen = epochMs(record.first_seen, at);
    const lastSeen = record.last_seen === null ? null : epochMs(record.last_seen, at);
    const row: ConnRow = {
      key: connectionKey('udp', record.saddr, record.sport, record.daddr, record.dport),
      proto: 'udp',
      state: closing ? 'closed' : 'open',
      ...processOf(record),
      uid: record.uid,
      container: containerOf(record),
      family: record.family,
      direction: null,
      localAddress: sanitize(record.saddr),
      localPort: record.sport,
      remoteAddress: sanitize(record.daddr),
      remotePort: record.dport,
      host: text(record.host),
      hostSource: text(record.host_source),
      unresolved: text(record.unresolved),
      probe: null,
      openedAt: firstSeen,
      closedAt: closing ? at : null,
      connectLatencyMs: null,
      durationMs: lastSeen === null ? null : lastSeen - firstSeen,
      bytesSent: record.bytes_sent,
      bytesReceived: record.bytes_received,
      retransmits: null,
      packetsSent: record.packets_sent,
      packetsReceived: record.packets_received,
      endReason: text(record.end_reason),
      iface: text(record.iface),
    };
    this.listConnection(row, closing, at);
  }

  private listConnection(row: ConnRow, closing: boolean, at: number): void {
    const isNew = closing ? !this.connections.close(row) : this.connections.open(row);
    const totals = closing ? { bytesIn: row.bytesReceived ?? 0, bytesOut: row.bytesSent ?? 0 } : undefined;
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
    this.lookups.clear();
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

  /** The lookups kept, each with its process's counts as they are now. */
  dnsRows(): DnsRow[] {
    return this.dns.rows().map((row) => ({ ...row, process: this.lookups.of(row.processKey) }));
  }

  counts(): ModelCounts {
    return {
      hosts: this.hosts.size,
      open: this.connections.liveCount,
      closed: this.connections.closedCount,
      flows: this.flows.rows().length,
      flowsOmitted: this.flows.omitted,
      lookups: this.dns.size,
      lookupsFailed: this.lookups.failed,
      failingProcesses: this.lookups.topFailing(3),
      flowsEndedAt: this.flows.endedAt,
    };
  }
}
