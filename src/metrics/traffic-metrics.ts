/**
 * The traffic as Prometheus metrics, from the records the session writes:
 * TCP connections and their bytes, UDP conversations and their bytes, and
 * DNS lookups, answer codes and latency, per process name and hostname,
 * with the label values bounded (label-bound.ts). Each record is a few
 * counter increments; serializing happens at scrape.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ConnRecord, DnsRecord, HostflowRecord, UdpRecord } from '../records/types.js';
import { TrafficLabels, UNKNOWN, type LabelLimits } from './label-bound.js';

/** DNS latency buckets in seconds: a cache answers in well under a millisecond, a resolver timing out takes seconds. */
export const DNS_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Outbound connections opened without a hostname wait here for one (a late
 * DNS answer, the TLS SNI or HTTP Host they send) before they are counted;
 * past this many, the longest waiting is counted unnamed.
 */
export const UNNAMED_WAITING_MAX = 4096;

interface Waiting {
  comm: string;
}

export class TrafficMetrics {
  readonly labels: TrafficLabels;
  private readonly connections: Counter<'comm' | 'host' | 'direction'>;
  private readonly connectionsFailed: Counter<'comm' | 'host'>;
  private readonly tcpSent: Counter<'comm' | 'host'>;
  private readonly tcpReceived: Counter<'comm' | 'host'>;
  private readonly udpConversations: Counter<'comm' | 'host'>;
  private readonly udpSent: Counter<'comm' | 'host'>;
  private readonly udpReceived: Counter<'comm' | 'host'>;
  private readonly lookups: Counter<'comm' | 'host'>;
  private readonly answers: Counter<'comm' | 'status'>;
  private readonly latency: Histogram<'comm'>;
  /** Unnamed outbound connections by 4-tuple, oldest first. */
  private readonly unnamed = new Map<string, Waiting>();

  constructor(registry: Registry, limits: LabelLimits) {
    this.labels = new TrafficLabels(limits);
    const registers = [registry];
    const byHost = ['comm', 'host'] as const;
    this.connections = new Counter({
      name: 'hostflow_connections_total',
      help: 'TCP connections established, by process name, hostname and direction (out: this host connected; in: it accepted)',
      labelNames: ['comm', 'host', 'direction'] as const,
      registers,
    });
    this.connectionsFailed = new Counter({
      name: 'hostflow_connections_failed_total',
      help: 'outbound TCP connections that never established (refused, timed out), by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.tcpSent = new Counter({
      name: 'hostflow_tcp_sent_bytes_total',
      help: 'bytes sent on TCP connections that closed, by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.tcpReceived = new Counter({
      name: 'hostflow_tcp_received_bytes_total',
      help: 'bytes received on TCP connections that closed, by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.udpConversations = new Counter({
      name: 'hostflow_udp_conversations_total',
      help: 'UDP conversations begun, by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.udpSent = new Counter({
      name: 'hostflow_udp_sent_bytes_total',
      help: 'UDP payload bytes sent in conversations that ended, by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.udpReceived = new Counter({
      name: 'hostflow_udp_received_bytes_total',
      help: 'UDP payload bytes received in conversations that ended, by process name and hostname',
      labelNames: byHost,
      registers,
    });
    this.lookups = new Counter({
      name: 'hostflow_dns_lookups_total',
      help: 'name resolutions (dns records), by process name and hostname asked',
      labelNames: byHost,
      registers,
    });
    this.answers = new Counter({
      name: 'hostflow_dns_answers_total',
      help: 'name resolutions by process name and answer code (getaddrinfo: 0 or EAI_*; wire: the DNS rcode or TIMEOUT)',
      labelNames: ['comm', 'status'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'hostflow_dns_latency_seconds',
      help: 'name resolution latency (getaddrinfo call to return, or DNS query to response), by process name',
      labelNames: ['comm'] as const,
      buckets: DNS_LATENCY_BUCKETS,
      registers,
    });
  }

  /** Counts one record the session wrote. */
  add(record: HostflowRecord): void {
    if (record.type === 'conn') this.conn(record);
    else if (record.type === 'dns') this.dns(record);
    else if (record.type === 'udp') this.udp(record);
  }

  /** Connections left waiting for a name (at most UNNAMED_WAITING_MAX). */
  get waitingUnnamed(): number {
    return this.unnamed.size;
  }

  /**
   * A connection is counted once, under the hostname it settles on: at open
   * when it has one (or is inbound: nothing names those), else at its
   * `named` record, else at close.
   */
  private conn(record: ConnRecord): void {
    const comm = this.labels.comm(record.comm);
    if (record.event === 'open') {
      if (record.host !== null || record.direction === 'in') {
        this.connections.inc({ comm, host: this.labels.host(comm, record.host), direction: record.direction });
        return;
      }
      if (this.unnamed.size >= UNNAMED_WAITING_MAX) this.countOldestUnnamed();
      this.unnamed.set(tupleKey(record), { comm });
      return;
    }
    const key = tupleKey(record);
    const waiting = this.unnamed.get(key);
    if (waiting) {
      this.unnamed.delete(key);
      this.connections.inc({ comm: waiting.comm, host: this.labels.host(waiting.comm, record.host), direction: 'out' });
    }
    if (record.event !== 'close') return;
    const labels = { comm, host: this.labels.host(comm, record.host) };
    if (record.established === false) this.connectionsFailed.inc(labels);
    if (record.bytes_sent !== null) this.tcpSent.inc(labels, record.bytes_sent);
    if (record.bytes_received !== null) this.tcpReceived.inc(labels, record.bytes_received);
  }

  private countOldestUnnamed(): void {
    const oldest = this.unnamed.entries().next();
    if (oldest.done) return;
    const [key, { comm }] = oldest.value;
    this.unnamed.delete(key);
    this.connections.inc({ comm, host: UNKNOWN, direction: 'out' });
  }

  private udp(record: UdpRecord): void {
    const comm = this.labels.comm(record.comm);
    const labels = { comm, host: this.labels.host(comm, record.host) };
    if (record.event === 'open') {
      this.udpConversations.inc(labels);
      return;
    }
    if (record.bytes_sent !== null) this.udpSent.inc(labels, record.bytes_sent);
    if (record.bytes_received !== null) this.udpReceived.inc(labels, record.bytes_received);
  }

  private dns(record: DnsRecord): void {
    const comm = this.labels.comm(record.comm);
    this.lookups.inc({ comm, host: this.labels.host(comm, record.host) });
    this.answers.inc({ comm, status: this.labels.status(record.status) });
    if (record.latency_ms !== null) this.latency.observe({ comm }, record.latency_ms / 1000);
  }
}

function tupleKey(record: ConnRecord): string {
  return `${record.saddr} ${record.sport} ${record.daddr} ${record.dport}`;
}
