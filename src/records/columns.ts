/**
 * The one schema of every record type: each field, in the order records
 * print them, and the kind of value it holds. The Parquet schema, the JSON
 * line encoder and the query engines' tables are all made from
 * it; the mapped types make a field that is added to a record and not here
 * a compile error. Why each kind is what it is: src/storage/parquet-schema.ts.
 */
import type { ConnRecord, DnsRecord, FlowRecord, ProcessFields, RecordType, UdpRecord } from './types.js';

/** A column's kind; a trailing `?` makes it optional (null allowed). */
export type Kind = 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'timestamp' | 'list';
export type ColumnKind = Kind | `${Kind}?`;

type Columns<R> = { [K in keyof R]-?: ColumnKind };

const PROCESS: Columns<ProcessFields> = {
  pid: 'int32?',
  ppid: 'int32?',
  comm: 'string?',
  exe: 'string?',
  cmdline: 'string?',
  uid: 'int64?',
  container_id: 'string?',
  container_runtime: 'string?',
};

const DNS_COLUMNS: Columns<DnsRecord> = {
  type: 'string',
  ts: 'timestamp',
  ...PROCESS,
  tid: 'int32?',
  host: 'string',
  cnames: 'list?',
  addrs: 'list',
  ttl: 'int64?',
  latency_ms: 'double?',
  source: 'string',
  status: 'string',
  iface: 'string?',
  server: 'string?',
};

const CONN_COLUMNS: Columns<ConnRecord> = {
  type: 'string',
  event: 'string',
  ts: 'timestamp',
  ...PROCESS,
  family: 'int32',
  saddr: 'string',
  sport: 'int32',
  daddr: 'string',
  dport: 'int32',
  direction: 'string',
  host: 'string?',
  host_source: 'string?',
  unresolved: 'string?',
  probe: 'string',
  connect_latency_ms: 'double?',
  duration_ms: 'double?',
  bytes_sent: 'int64?',
  bytes_received: 'int64?',
  retransmits: 'int64?',
  established: 'boolean?',
};

const FLOW_COLUMNS: Columns<FlowRecord> = {
  type: 'string',
  start: 'timestamp',
  end: 'timestamp',
  iface: 'string',
  direction: 'string',
  proto: 'string',
  family: 'int32',
  saddr: 'string',
  sport: 'int32',
  daddr: 'string',
  dport: 'int32',
  packets: 'int64',
  bytes: 'int64',
  tcp_flags: 'int32',
  dropped_packets: 'int64',
  dropped_bytes: 'int64',
  src_host: 'string?',
  dst_host: 'string?',
  unresolved: 'string?',
  pid: 'int32?',
  comm: 'string?',
};

const UDP_COLUMNS: Columns<UdpRecord> = {
  type: 'string',
  event: 'string',
  ts: 'timestamp',
  ...PROCESS,
  family: 'int32',
  saddr: 'string',
  sport: 'int32',
  daddr: 'string',
  dport: 'int32',
  host: 'string?',
  host_source: 'string?',
  unresolved: 'string?',
  iface: 'string?',
  first_seen: 'timestamp',
  last_seen: 'timestamp?',
  packets_sent: 'int64?',
  bytes_sent: 'int64?',
  packets_received: 'int64?',
  bytes_received: 'int64?',
  end_reason: 'string?',
};

export const RECORD_COLUMNS: Record<RecordType, Readonly<Record<string, ColumnKind>>> = {
  dns: DNS_COLUMNS,
  conn: CONN_COLUMNS,
  flow: FLOW_COLUMNS,
  udp: UDP_COLUMNS,
};
