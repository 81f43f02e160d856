/**
 * The four views as data: their columns (with how each one shrinks), sort
 * orders, what the filter searches, and how a row is toned. Components
 * never see a record; they get the cells these produce.
 */
import type { SearchFields } from './filter.js';
import { formatAge, formatBytes, formatClock, formatDuration, formatEndpoint, formatLatency, formatRate } from './format.js';
import type { Align, ColumnShape } from './layout.js';
import { UNRESOLVED_LABEL, type AnyRow, type ConnRow, type DnsRow, type FlowRow, type HostRow } from './rows.js';

export type ViewId = 'hosts' | 'connections' | 'flows' | 'dns';
export const VIEW_IDS: readonly ViewId[] = ['hosts', 'connections', 'flows', 'dns'];

export interface CellContext {
  /** Epoch ms of the frame. */
  now: number;
  flowIntervalSeconds: number;
}

export interface Column<Row> extends ColumnShape {
  id: string;
  title: string;
  align?: Align;
  text(row: Row, context: CellContext): string;
}

export interface SortKey<Row> {
  id: string;
  label: string;
  /** The column that shows the sort, marked in the heading. */
  column: string;
  /** Descending by default (numbers), ascending otherwise (names). */
  descending: boolean;
  /** Ascending order. */
  compare(a: Row, b: Row): number;
}

export type RowTone = 'normal' | 'dim' | 'warn';

export interface ViewSpec<Row extends { key: string }> {
  id: ViewId;
  title: string;
  columns: readonly Column<Row>[];
  sorts: readonly SortKey<Row>[];
  search(row: Row): SearchFields;
  tone(row: Row): RowTone;
}

const byNumber =
  <Row>(value: (row: Row) => number | null) =>
  (a: Row, b: Row) =>
    (value(a) ?? -1) - (value(b) ?? -1);
const byText =
  <Row>(value: (row: Row) => string | null) =>
  (a: Row, b: Row) =>
    (value(a) ?? '\uffff').localeCompare(value(b) ?? '\uffff');
const orDash = (value: string | number | null) => (value === null ? '-' : String(value));

const hostLabel = (row: HostRow) => row.host ?? UNRESOLVED_LABEL;

export const HOSTS_VIEW: ViewSpec<HostRow> = {
  id: 'hosts',
  title: 'Hosts',
  columns: [
    { id: 'host', title: 'HOST', min: 20, flex: 3, max: 64, priority: 0, text: hostLabel },
    { id: 'processes', title: 'PROCESSES', min: 10, flex: 2, max: 32, priority: 2, text: (row) => row.processes.join(',') || '-' },
    { id: 'open', title: 'OPEN', min: 4, align: 'right', priority: 1, text: (row) => String(row.open) },
    { id: 'connections', title: 'CONNS', min: 5, align: 'right', priority: 3, text: (row) => String(row.connections) },
    { id: 'lookups', title: 'DNS', min: 4, align: 'right', priority: 5, text: (row) => String(row.lookups) },
    { id: 'in', title: 'IN', min: 6, align: 'right', priority: 4, text: (row) => formatBytes(row.bytesIn) },
    { id: 'out', title: 'OUT', min: 6, align: 'right', priority: 4, text: (row) => formatBytes(row.bytesOut) },
    { id: 'rate', title: 'RATE', min: 8, align: 'right', priority: 1, text: (row) => formatRate(row.rateIn + row.rateOut) },
    { id: 'seen', title: 'SEEN', min: 4, align: 'right', priority: 3, text: (row, { now }) => formatAge(now - row.lastSeen) },
  ],
  sorts: [
    { id: 'rate', label: 'rate', column: 'rate', descending: true, compare: byNumber((row) => row.rateIn + row.rateOut) },
    { id: 'bytes', label: 'bytes', column: 'in', descending: true, compare: byNumber((row) => row.bytesIn + row.bytesOut) },
    { id: 'open', label: 'open connections', column: 'open', descending: true, compare: byNumber((row) => row.open) },
    { id: 'connections', label: 'connections', column: 'connections', descending: true, compare: byNumber((row) => row.connections) },
    { id: 'seen', label: 'last seen', column: 'seen', descending: true, compare: byNumber((row) => row.lastSeen) },
    { id: 'host', label: 'name', column: 'host', descending: false, compare: byText((row) => row.host) },
  ],
  search: (row) => ({
    hosts: [row.host ?? UNRESOLVED_LABEL],
    processes: row.processes,
    addresses: row.addresses,
    ports: [],
    pids: row.pids,
    protos: [],
    statuses: [],
  }),
  tone: () => 'normal',
};

const connAge = (row: ConnRow, now: number) => (row.state === 'open' ? (row.openedAt === null ? null : now - row.openedAt) : row.durationMs);
const connActivity = (row: ConnRow) => row.closedAt ?? row.openedAt ?? 0;

/** TCP connections and UDP conversations in one table: which process talked to which host, over either. */
export const CONNECTIONS_VIEW: ViewSpec<ConnRow> = {
  id: 'connections',
  title: 'Connections',
  columns: [
    { id: 'process', title: 'PROCESS', min: 8, flex: 1, max: 16, priority: 0, text: (row) => orDash(row.comm) },
    { id: 'pid', title: 'PID', min: 7, align: 'right', priority: 3, text: (row) => orDash(row.pid) },
    { id: 'proto', title: 'PROTO', min: 5, priority: 2, text: (row) => row.proto },
    { id: 'direction', title: 'DIR', min: 3, priority: 3, text: (row) => row.direction ?? '-' },
    { id: 'local', title: 'LOCAL', min: 21, flex: 1, max: 47, priority: 6, text: (row) => formatEndpoint(row.localAddress, row.localPort) },
    { id: 'remote', title: 'REMOTE', min: 21, flex: 1, max: 47, priority: 1, text: (row) => formatEndpoint(row.remoteAddress, row.remotePort) },
    // An unnamed connection says why (README "Why a name is missing").
    { id: 'host', title: 'HOST', min: 20, flex: 3, priority: 0, text: (row) => row.host ?? (row.unresolved ? `- (${row.unresolved})` : '-') },
    { id: 'state', title: 'STATE', min: 6, priority: 2, text: (row) => row.state },
    { id: 'latency', title: 'CONNECT', min: 7, align: 'right', priority: 4, text: (row) => formatLatency(row.connectLatencyMs) },
    { id: 'duration', title: 'DUR', min: 6, align: 'right', priority: 3, text: (row, { now }) => formatDuration(connAge(row, now)) },
    { id: 'sent', title: 'SENT', min: 5, align: 'right', priority: 2, text: (row) => formatBytes(row.bytesSent) },
    { id: 'received', title: 'RECV', min: 5, align: 'right', priority: 2, text: (row) => formatBytes(row.bytesReceived) },
    { id: 'retransmits', title: 'RETX', min: 4, align: 'right', priority: 5, text: (row) => orDash(row.retransmits) },
  ],
  sorts: [
    {
      id: 'state',
      label: 'open first',
      column: 'state',
      descending: false,
      compare: (a, b) => Number(a.state !== 'open') - Number(b.state !== 'open') || connActivity(b) - connActivity(a),
    },
    { id: 'recent', label: 'latest', column: 'duration', descending: true, compare: byNumber(connActivity) },
    { id: 'bytes', label: 'bytes', column: 'received', descending: true, compare: byNumber((row) => (row.bytesSent ?? 0) + (row.bytesReceived ?? 0)) },
    { id: 'latency', label: 'connect latency', column: 'latency', descending: true, compare: byNumber((row) => row.connectLatencyMs) },
    { id: 'process', label: 'process', column: 'process', descending: false, compare: byText((row) => row.comm) },
    { id: 'host', label: 'host', column: 'host', descending: false, compare: byText((row) => row.host) },
  ],
  search: (row) => ({
    hosts: [row.host],
    processes: [row.comm],
    addresses: [row.localAddress, row.remoteAddress],
    ports: [row.localPort, row.remotePort],
    pids: [row.pid],
    protos: [row.proto],
    statuses: [row.state, row.endReason],
  }),
  tone: (row) => (row.state === 'failed' ? 'warn' : row.state === 'closed' ? 'dim' : 'normal'),
};

export const FLOWS_VIEW: ViewSpec<FlowRow> = {
  id: 'flows',
  title: 'Flows',
  columns: [
    { id: 'direction', title: 'DIR', min: 3, priority: 2, text: (row) => (row.direction === 'egress' ? 'out' : 'in') },
    { id: 'proto', title: 'PROTO', min: 5, priority: 3, text: (row) => row.proto },
    { id: 'local', title: 'LOCAL', min: 21, flex: 1, max: 47, priority: 6, text: (row) => formatEndpoint(row.localAddress, row.localPort) },
    { id: 'remote', title: 'REMOTE', min: 21, flex: 1, max: 47, priority: 1, text: (row) => formatEndpoint(row.remoteAddress, row.remotePort) },
    { id: 'host', title: 'HOST', min: 20, flex: 3, priority: 0, text: (row) => orDash(row.remoteHost) },
    { id: 'process', title: 'PROCESS', min: 8, flex: 1, max: 16, priority: 2, text: (row) => orDash(row.comm) },
    { id: 'pid', title: 'PID', min: 7, align: 'right', priority: 5, text: (row) => orDash(row.pid) },
    { id: 'packets', title: 'PKTS', min: 6, align: 'right', priority: 1, text: (row) => String(row.packets) },
    { id: 'bytes', title: 'BYTES', min: 6, align: 'right', priority: 0, text: (row) => formatBytes(row.bytes) },
    { id: 'rate', title: 'RATE', min: 8, align: 'right', priority: 4, text: (row, { flowIntervalSeconds }) => formatRate(row.bytes / flowIntervalSeconds) },
    { id: 'iface', title: 'IFACE', min: 6, flex: 1, max: 15, priority: 4, text: (row) => row.iface },
  ],
  sorts: [
    { id: 'bytes', label: 'bytes', column: 'bytes', descending: true, compare: byNumber((row) => row.bytes) },
    { id: 'packets', label: 'packets', column: 'packets', descending: true, compare: byNumber((row) => row.packets) },
    { id: 'host', label: 'host', column: 'host', descending: false, compare: byText((row) => row.remoteHost) },
    { id: 'process', label: 'process', column: 'process', descending: false, compare: byText((row) => row.comm) },
  ],
  search: (row) => ({
    hosts: [row.remoteHost, row.localHost],
    processes: [row.comm],
    addresses: [row.localAddress, row.remoteAddress],
    ports: [row.localPort, row.remotePort],
    pids: [row.pid],
    protos: [row.proto],
    statuses: [],
  }),
  tone: () => 'normal',
};

const byTime = (a: DnsRow, b: DnsRow) => a.at - b.at || Number(a.key) - Number(b.key);
const byProcess = (a: DnsRow, b: DnsRow) => (a.processKey < b.processKey ? -1 : a.processKey > b.processKey ? 1 : 0);
const answer = (row: DnsRow) => {
  const [first] = row.addrs;
  if (first === undefined) return row.status;
  return row.addrs.length > 1 ? `${first} +${row.addrs.length - 1}` : first;
};

/**
 * Recent lookups, each with the failed lookups of its process so far
 * (FAILS): the process behind a flood of NXDOMAINs shows on every row of
 * it, and the `process failures` sort brings its rows to the top.
 */
export const DNS_VIEW: ViewSpec<DnsRow> = {
  id: 'dns',
  title: 'DNS',
  columns: [
    { id: 'time', title: 'TIME', min: 8, priority: 1, text: (row) => formatClock(row.at) },
    { id: 'process', title: 'PROCESS', min: 8, flex: 1, max: 16, priority: 0, text: (row) => orDash(row.comm) },
    { id: 'pid', title: 'PID', min: 7, align: 'right', priority: 3, text: (row) => orDash(row.pid) },
    { id: 'fails', title: 'FAILS', min: 5, align: 'right', priority: 1, text: (row) => (row.process.failed > 0 ? String(row.process.failed) : '-') },
    { id: 'name', title: 'NAME', min: 18, flex: 3, priority: 0, text: (row) => row.host },
    { id: 'answer', title: 'ANSWER', min: 15, flex: 2, max: 48, priority: 1, text: answer },
    { id: 'latency', title: 'LATENCY', min: 8, align: 'right', priority: 2, text: (row) => formatLatency(row.latencyMs) },
    { id: 'source', title: 'SOURCE', min: 11, priority: 1, text: (row) => row.source },
    { id: 'ttl', title: 'TTL', min: 5, align: 'right', priority: 4, text: (row) => orDash(row.ttl) },
  ],
  sorts: [
    { id: 'time', label: 'time', column: 'time', descending: true, compare: byTime },
    {
      id: 'fails',
      label: 'process failures',
      column: 'fails',
      descending: true,
      // A process's rows together, its failed lookups first, the latest on top.
      compare: (a, b) => a.process.failed - b.process.failed || byProcess(a, b) || Number(a.failed) - Number(b.failed) || byTime(a, b),
    },
    { id: 'latency', label: 'latency', column: 'latency', descending: true, compare: byNumber((row) => row.latencyMs) },
    { id: 'name', label: 'name', column: 'name', descending: false, compare: byText((row) => row.host) },
    { id: 'process', label: 'process', column: 'process', descending: false, compare: byText((row) => row.comm) },
  ],
  search: (row) => ({
    hosts: [row.host, ...row.cnames],
    processes: [row.comm],
    addresses: row.server === null ? row.addrs : [...row.addrs, row.server],
    ports: [],
    pids: [row.pid],
    protos: [],
    statuses: row.failed ? [row.status, 'failed'] : [row.status],
  }),
  tone: (row) => (row.failed ? 'warn' : 'normal'),
};

export const VIEWS: Record<ViewId, ViewSpec<AnyRow>> = {
  hosts: HOSTS_VIEW as unknown as ViewSpec<AnyRow>,
  connections: CONNECTIONS_VIEW as unknown as ViewSpec<AnyRow>,
  flows: FLOWS_VIEW as unknown as ViewSpec<AnyRow>,
  dns: DNS_VIEW as unknown as ViewSpec<AnyRow>,
};
