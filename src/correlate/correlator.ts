/**
 * Kernel events in (in timestamp order), records out: name resolutions
 * become `dns` records and feed the name indexes; connect, established and
 * close events become `conn` records named by the lookup their own process
 * made (then by the global index); flow deltas become `flow` records named
 * from the global index and owned by the connection with their 5-tuple.
 *
 * A connection that opens without a name waits (bounded) for a late one: a
 * lookup or wire answer for its address within `lateNameWindowMs`, or the
 * TLS SNI / HTTP Host it sends, gives it a `named` record, and its close
 * record and later flows carry that name. What stays unnamed says why
 * (`unresolved`, see unresolved.ts).
 */
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { ConnectEvent, CloseEvent, EstablishedEvent, LookupEvent, Task, Tuple } from '../kernel/decode.js';
import type { CorrelatorEvent, DnsAnswerEvent, ServerNameEvent } from '../wire/events.js';
import type { FlowDelta } from '../flows/intervals.js';
import type { ConnectProbeName } from '../kernel/layout.js';
import { protocolName } from '../net/protocol.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, ProcessFields, UnresolvedReason } from '../records/types.js';
import type { NameIndex, NameMatch } from './names.js';
import { gaiStatus } from './gai-status.js';
import { UnnamedConnections, type Unnamed } from './unnamed.js';
import { isEncryptedDns, UnresolvedEvidence } from './unresolved.js';

export interface ContainerInfo {
  id: string;
  runtime: string;
}

export interface CorrelatorOptions {
  names: NameIndex;
  clock: Clock;
  interfaceName: (ifindex: number) => string;
  containers: { lookup(pid: number): ContainerInfo | null };
  /** hostflow's own pid: the kernel already leaves it out, this guards the user-space side too. 0 for none. */
  excludePid: number;
  emit: (record: HostflowRecord) => void;
  /** Whether a process was already running when tracing began (it may have resolved before); false when unknown. @default () => false */
  startedBeforeTrace?: (pid: number) => boolean;
  /** How long after a connection opened a DNS answer for its address still names it (a `named` record). @default 10000 */
  lateNameWindowMs?: number;
  /** Open connections without a name kept waiting for one. @default 16384 */
  unnamedEntries?: number;
}

export const DEFAULT_LATE_NAME_WINDOW_MS = 10_000;

export interface CorrelatorStats {
  wireAnswers: number;
  /** Wire answers seen twice (e.g. TC egress and XDP ingress of lo). */
  wireDuplicates: number;
  /** getaddrinfo calls for an address literal or no name: not resolutions. */
  literalLookups: number;
  /** connect() calls the kernel refused at once (kprobe/fentry modes). */
  connectErrors: number;
  /** Connections named by a DNS answer after they opened (`named` records). */
  lateNamed: number;
  /** Connections named by the server name they sent, by source. */
  serverNamesUsed: { sni: number; http: number };
  /** Server names not used: the connection was already named, closed or unknown. */
  serverNamesIgnored: number;
  /** Server names that are not host names (address literals, bad characters). */
  serverNamesInvalid: number;
  /** Unnamed open connections pushed out of the late-name table by its bound. */
  unnamedEvicted: number;
}

/** What is remembered about a socket between its events. */
interface SocketState {
  task: Task | null;
  daddr: string;
  match: NameMatch | null;
  latencyNs: number | null;
  /** Why it has no name, decided when it opened; undefined before. */
  unresolved?: UnresolvedReason | null;
}

/** An open connection waiting for a name: what its `named` record repeats. */
interface Waiting {
  open: ConnRecord;
  state: SocketState;
}

interface Owner {
  pid: number;
  comm: string;
  /** The connection's name for its remote end: it beats the global index, which may hold another name of a shared address. */
  remoteHost: string | null;
  /** Why remoteHost is null. */
  unresolved: UnresolvedReason | null;
  /** Kernel time the connection closed; undefined while open. */
  closedNs?: number;
}

const TCP_SYN_SENT = 2;
const TCP_SYN_RECV = 3;

const ms = (ns: number) => Math.round(ns / 1000) / 1000;

/** Longest DNS name in text form. */
const NAME_MAX_LENGTH = 253;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A server name as a host name (HTTP Host may carry a port), or null when it is none (an address literal, bad characters). */
function serverHost(name: string): string | null {
  const host = normalizeName(name.replace(/:\d{1,5}$/, ''));
  if (host.length === 0 || host.length > NAME_MAX_LENGTH || !/^[a-z0-9_.-]+$/.test(host) || isIP(host) !== 0) return null;
  return host;
}

function tupleKey(localAddr: string, localPort: number, remoteAddr: string, remotePort: number): string {
  return `${localAddr}|${localPort}|${remoteAddr}|${remotePort}`;
}

export class Correlator {
  readonly stats: CorrelatorStats = {
    wireAnswers: 0,
    wireDuplicates: 0,
    literalLookups: 0,
    connectErrors: 0,
    lateNamed: 0,
    serverNamesUsed: { sni: 0, http: 0 },
    serverNamesIgnored: 0,
    serverNamesInvalid: 0,
    unnamedEvicted: 0,
  };
  /** Sockets between connect/accept and close; bounded because a dropped close event must not leak. */
  private readonly sockets = new LRUCache<string, SocketState>({ max: 262_144 });
  /** TCP connections by local/remote 4-tuple, for naming flows; closed ones linger one flow interval. */
  private readonly owners = new LRUCache<string, Owner>({ max: 262_144 });
  private readonly recentWireAnswers = new LRUCache<string, true>({ max: 4096, ttl: 2000 });
  private readonly unnamed: UnnamedConnections<Waiting>;
  private readonly evidence: UnresolvedEvidence;
  private readonly lateNameWindowNs: number;

  /** The connect probe mode of this run, carried by every conn record. */
  private probe: ConnectProbeName = 'tracepoint';

  constructor(private readonly options: CorrelatorOptions) {
    this.unnamed = new UnnamedConnections(options.unnamedEntries ?? 16_384, () => this.stats.unnamedEvicted++);
    this.evidence = new UnresolvedEvidence(options.startedBeforeTrace);
    this.lateNameWindowNs = (options.lateNameWindowMs ?? DEFAULT_LATE_NAME_WINDOW_MS) * 1e6;
  }

  setProbe(probe: ConnectProbeName): void {
    this.probe = probe;
  }

  handle(event: CorrelatorEvent): void {
    this.options.names.advanceTo(event.tsNs);
    if ('task' in event && this.options.excludePid !== 0 && event.task.pid === this.options.excludePid) return;
    switch (event.kind) {
      case 'lookup':
        return this.onLookup(event);
      case 'dnsAnswer':
        return this.onDnsAnswer(event);
      case 'connect':
        return this.onConnect(event);
      case 'established':
        return this.onEstablished(event);
      case 'close':
        return this.onClose(event);
      case 'serverName':
        return this.onServerName(event);
    }
  }

  private processFields(task: Task | null): ProcessFields {
    if (!task || task.pid === 0) return { pid: null, comm: null, uid: null, container_id: null, container_runtime: null };
    const container = this.options.containers.lookup(task.pid);
    return { pid: task.pid, comm: task.comm, uid: task.uid, container_id: container?.id ?? null, container_runtime: container?.runtime ?? null };
  }

  private onLookup(event: LookupEvent): void {
    const host = normalizeName(event.name);
    if (host === '' || isIP(host) !== 0) {
      this.stats.literalLookups++;
      if (host !== '') for (const addr of new Set([host, ...event.addrs])) this.evidence.literal(event.task.pid, addr);
      return;
    }
    const addrs = [...new Set(event.addrs)];
    if (event.ret === 0) {
      this.options.names.learnFromProcess(event.task.pid, host, addrs, null);
      this.evidence.named(addrs);
    }
    const record: DnsRecord = {
      type: 'dns',
      ts: this.options.clock.iso(event.tsNs),
      ...this.processFields(event.task),
      tid: event.task.tid,
      host,
      cnames: null,
      addrs: sortFamilies(addrs),
      ttl: null,
      latency_ms: ms(event.latencyNs),
      source: 'getaddrinfo',
      status: gaiStatus(event.ret),
      iface: null,
      server: null,
    };
    this.options.emit(record);
    if (event.ret === 0) this.nameLate(addrs, event.tsNs);
  }

  private onDnsAnswer(event: DnsAnswerEvent): void {
    const { answer } = event;
    const dedupeKey = `${answer.id}|${answer.host}|${answer.qtype}|${event.tuple.saddr}|${event.tuple.daddr}|${event.tuple.dport}`;
    if (this.recentWireAnswers.has(dedupeKey)) {
      this.stats.wireDuplicates++;
      return;
    }
    this.recentWireAnswers.set(dedupeKey, true);
    this.stats.wireAnswers++;
    this.options.names.learnFromWire(
      answer.host,
      answer.addrs.map((addr) => [addr, answer.addrTtls[addr] ?? answer.ttl] as const),
      answer.cnames,
    );
    this.evidence.named(answer.addrs);
    const record: DnsRecord = {
      type: 'dns',
      ts: this.options.clock.iso(event.tsNs),
      ...this.processFields(null),
      tid: null,
      host: answer.host,
      cnames: answer.cnames.length > 0 ? answer.cnames : null,
      addrs: sortFamilies(answer.addrs),
      ttl: answer.ttl,
      latency_ms: null,
      source: 'wire',
      status: answer.rcode,
      iface: this.options.interfaceName(event.ifindex),
      server: event.tuple.saddr,
    };
    this.options.emit(record);
    this.nameLate(answer.addrs, event.tsNs);
  }

  /** A lookup or answer for `addrs` at `tsNs`: names the connections to them that opened unnamed within the window. */
  private nameLate(addrs: readonly string[], tsNs: number): void {
    for (const addr of addrs) {
      for (const waiting of this.unnamed.takeByAddress(addr, tsNs, this.lateNameWindowNs)) {
        const match = this.options.names.resolve(waiting.value.open.pid, addr);
        if (!match) continue;
        this.stats.lateNamed++;
        this.name(waiting, match, tsNs);
      }
    }
  }

  /** A ClientHello's SNI or an HTTP Host names the connection that sent it, unless DNS already named it. */
  private onServerName(event: ServerNameEvent): void {
    const host = serverHost(event.name);
    if (host === null) {
      this.stats.serverNamesInvalid++;
      return;
    }
    // The sender's end is the tuple's source, on egress and on loopback's
    // ingress alike; the name is its peer's, so an accepted connection
    // (where the sender is the remote) is never named by it.
    const { saddr, sport, daddr, dport } = event.tuple;
    const key = tupleKey(saddr, sport, daddr, dport);
    const match = { host, source: event.source } as const;
    const waiting = this.unnamed.take(key);
    if (waiting) {
      this.stats.serverNamesUsed[event.source]++;
      this.name(waiting, match, event.tsNs);
      return;
    }
    const owner = this.owners.get(key);
    if (owner && owner.remoteHost === null && owner.closedNs === undefined) {
      // Pushed out of the late-name table: its flows still get the name.
      this.stats.serverNamesUsed[event.source]++;
      owner.remoteHost = host;
      owner.unresolved = null;
      if (isEncryptedDns(dport, host)) this.evidence.encryptedDns(owner.pid, event.tsNs);
      return;
    }
    this.stats.serverNamesIgnored++;
  }

  /** Gives a waiting connection its name: one `named` record; its close record and next flows carry the name. */
  private name(waiting: Unnamed<Waiting>, match: NameMatch, tsNs: number): void {
    const { open, state } = waiting.value;
    state.match = match;
    state.unresolved = null;
    const owner = this.owners.get(waiting.key);
    if (owner) {
      owner.remoteHost = match.host;
      owner.unresolved = null;
    }
    if (isEncryptedDns(open.dport, match.host)) this.evidence.encryptedDns(open.pid, tsNs);
    this.options.emit({ ...open, event: 'named', ts: this.options.clock.iso(tsNs), host: match.host, host_source: match.source, unresolved: null });
  }

  private onConnect(event: ConnectEvent): void {
    if (event.ret !== 0) {
      this.stats.connectErrors++;
      return;
    }
    this.sockets.set(event.sock, {
      task: event.task,
      daddr: event.tuple.daddr,
      match: this.options.names.resolve(event.task.pid, event.tuple.daddr),
      latencyNs: null,
    });
  }

  private onEstablished(event: EstablishedEvent): void {
    const task = event.task.pid === 0 ? null : event.task;
    let state = this.sockets.get(event.sock);
    if (!state || state.daddr !== event.tuple.daddr) {
      state = { task, daddr: event.tuple.daddr, match: this.options.names.resolve(task?.pid ?? null, event.tuple.daddr), latencyNs: null };
      this.sockets.set(event.sock, state);
    }
    state.latencyNs = event.latencyNs;
    state.task ??= task;
    const pid = state.task?.pid ?? null;
    const { tuple } = event;
    if (event.direction === 'out' && isEncryptedDns(tuple.dport, state.match?.host ?? null)) this.evidence.encryptedDns(pid, event.tsNs);
    state.unresolved = state.match
      ? null
      : this.evidence.reason({ direction: event.direction, pid, addr: tuple.daddr, tsNs: event.tsNs, openedBeforeTrace: false });
    const key = tupleKey(tuple.saddr, tuple.sport, tuple.daddr, tuple.dport);
    if (state.task) {
      this.owners.set(key, { pid: state.task.pid, comm: state.task.comm, remoteHost: state.match?.host ?? null, unresolved: state.unresolved });
    }
    const open = this.connRecord('open', event, tuple, state.task, state.match, state.unresolved, event.direction, {
      connect_latency_ms: ms(event.latencyNs),
      duration_ms: null,
      bytes_sent: null,
      bytes_received: null,
      retransmits: null,
      established: null,
    });
    this.options.emit(open);
    // Only outgoing connections wait: an accepted one's remote is a client, which nothing names later.
    if (!state.match && event.direction === 'out') this.unnamed.add({ key, addr: tuple.daddr, openedNs: event.tsNs, value: { open, state } });
  }

  private onClose(event: CloseEvent): void {
    const state = this.sockets.get(event.sock);
    this.sockets.delete(event.sock);
    const task = event.task.pid !== 0 ? event.task : (state?.task ?? null);
    const match = state?.match ?? this.options.names.resolve(task?.pid ?? null, event.tuple.daddr);
    const unresolved = match
      ? null
      : (state?.unresolved ??
        this.evidence.reason({
          direction: event.direction,
          pid: task?.pid ?? null,
          addr: event.tuple.daddr,
          tsNs: event.tsNs,
          openedBeforeTrace: !event.tracked,
        }));
    const key = tupleKey(event.tuple.saddr, event.tuple.sport, event.tuple.daddr, event.tuple.dport);
    // Closed before a name came: the close record is its last word.
    this.unnamed.take(key);
    const owner = this.owners.get(key);
    if (owner) owner.closedNs = event.tsNs;
    else if (task) this.owners.set(key, { pid: task.pid, comm: task.comm, remoteHost: match?.host ?? null, unresolved, closedNs: event.tsNs });
    const established = event.oldState !== TCP_SYN_SENT && event.oldState !== TCP_SYN_RECV;
    this.options.emit(
      this.connRecord('close', event, event.tuple, task, match, unresolved, event.direction, {
        connect_latency_ms: state?.latencyNs != null ? ms(state.latencyNs) : null,
        duration_ms: event.tracked ? ms(event.durationNs) : null,
        bytes_sent: event.bytesSent,
        bytes_received: event.bytesReceived,
        retransmits: event.retransmits,
        established,
      }),
    );
  }

  private connRecord(
    kind: 'open' | 'close',
    event: CorrelatorEvent,
    tuple: Tuple,
    task: Task | null,
    match: NameMatch | null,
    unresolved: UnresolvedReason | null,
    direction: 'in' | 'out',
    rest: Pick<ConnRecord, 'connect_latency_ms' | 'duration_ms' | 'bytes_sent' | 'bytes_received' | 'retransmits' | 'established'>,
  ): ConnRecord {
    return {
      type: 'conn',
      event: kind,
      ts: this.options.clock.iso(event.tsNs),
      ...this.processFields(task),
      family: tuple.family,
      saddr: tuple.saddr,
      sport: tuple.sport,
      daddr: tuple.daddr,
      dport: tuple.dport,
      direction,
      host: match?.host ?? null,
      host_source: match?.source ?? null,
      unresolved: match ? null : unresolved,
      probe: this.probe,
      ...rest,
    };
  }

  /** Names and owners for one interval's flow deltas. */
  flowRecords(deltas: readonly FlowDelta[]): FlowRecord[] {
    return deltas.map((flow) => this.flowRecord(flow));
  }

  /** The record of one flow delta: one at a time, so a large interval is never held as records all at once. */
  flowRecord(flow: FlowDelta): FlowRecord {
    const { names, clock } = this.options;
    const found = flow.proto === 6 ? this.ownerOf(flow) : undefined;
    const owner = found?.owner;
    const remoteHost = owner?.remoteHost ?? null;
    const srcHost = found?.remote === 'src' && remoteHost ? remoteHost : names.nameOf(flow.saddr);
    const dstHost = found?.remote === 'dst' && remoteHost ? remoteHost : names.nameOf(flow.daddr);
    const remoteIsSrc = (found?.remote ?? (flow.direction === 'in' ? 'src' : 'dst')) === 'src';
    const remoteAddr = remoteIsSrc ? flow.saddr : flow.daddr;
    const unresolved = (remoteIsSrc ? srcHost : dstHost) !== null ? null : (owner?.unresolved ?? this.evidence.addressReason(remoteAddr, flow.intervalEndNs));
    return {
      type: 'flow',
      start: clock.iso(flow.intervalStartNs),
      end: clock.iso(flow.intervalEndNs),
      iface: this.options.interfaceName(flow.ifindex),
      direction: flow.direction === 'in' ? 'ingress' : 'egress',
      proto: protocolName(flow.proto),
      family: flow.family,
      saddr: flow.saddr,
      sport: flow.sport,
      daddr: flow.daddr,
      dport: flow.dport,
      packets: flow.packets,
      bytes: flow.bytes,
      tcp_flags: flow.tcpFlags,
      dropped_packets: flow.droppedPackets,
      dropped_bytes: flow.droppedBytes,
      src_host: srcHost,
      dst_host: dstHost,
      unresolved,
      pid: owner?.pid ?? null,
      comm: owner?.comm ?? null,
    };
  }

  /** The connection a TCP flow belongs to, and which end of the flow is that connection's remote end. */
  private ownerOf(flow: FlowDelta): { owner: Owner; remote: 'src' | 'dst' } | undefined {
    // Egress packets leave from the local end; ingress ones arrive at it. On
    // loopback both ends are local, so try the other orientation too.
    const sent = this.owners.get(tupleKey(flow.saddr, flow.sport, flow.daddr, flow.dport));
    const received = this.owners.get(tupleKey(flow.daddr, flow.dport, flow.saddr, flow.sport));
    const asSent = sent && { owner: sent, remote: 'dst' as const };
    const asReceived = received && { owner: received, remote: 'src' as const };
    return flow.direction === 'out' ? (asSent ?? asReceived) : (asReceived ?? asSent);
  }

  /** The local process of a TCP 4-tuple seen from either end (packet capture comments). */
  processOf(saddr: string, sport: number, daddr: string, dport: number): { pid: number; comm: string } | null {
    const owner = this.owners.get(tupleKey(saddr, sport, daddr, dport)) ?? this.owners.get(tupleKey(daddr, dport, saddr, sport));
    return owner ? { pid: owner.pid, comm: owner.comm } : null;
  }

  /** Forgets connections that closed before `beforeNs` (after their last flow interval was named). */
  forgetClosed(beforeNs: number): void {
    const done = [...this.owners.entries()].filter(([, owner]) => owner.closedNs !== undefined && owner.closedNs < beforeNs);
    for (const [key] of done) this.owners.delete(key);
  }
}

/** IPv4 addresses first, then IPv6, each group in the order given. */
function sortFamilies(addrs: readonly string[]): string[] {
  return [...addrs.filter((a) => isIP(a) === 4), ...addrs.filter((a) => isIP(a) === 6)];
}
