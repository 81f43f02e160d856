/**
 * Kernel events in (in timestamp order), records out: name resolutions
 * become `dns` records and feed the name indexes; connect, established and
 * close events become `conn` records named by the lookup their own process
 * made (then by the global index); flow deltas become `flow` records named
 * from the global index and owned by the connection with their 5-tuple.
 */
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { parseDnsResponse } from '../dns/wire.js';
import type { ConnectEvent, CloseEvent, DnsPacketEvent, EstablishedEvent, KernelEvent, LookupEvent, Task, Tuple } from '../kernel/decode.js';
import type { FlowDelta } from '../flows/intervals.js';
import type { ConnectProbeName } from '../kernel/layout.js';
import { protocolName } from '../net/protocol.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, ProcessFields } from '../records/types.js';
import type { NameIndex, NameMatch } from './names.js';
import { gaiStatus } from './gai-status.js';

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
}

export interface CorrelatorStats {
  wireAnswers: number;
  /** Wire messages that were not usable answers, by reason. */
  wireSkipped: Record<string, number>;
  /** Wire answers seen twice (e.g. TC egress and XDP ingress of lo). */
  wireDuplicates: number;
  /** getaddrinfo calls for an address literal or no name: not resolutions. */
  literalLookups: number;
  /** connect() calls the kernel refused at once (kprobe/fentry modes). */
  connectErrors: number;
}

/** What is remembered about a socket between its events. */
interface SocketState {
  task: Task | null;
  daddr: string;
  match: NameMatch | null;
  latencyNs: number | null;
}

interface Owner {
  pid: number;
  comm: string;
  /** The connection's name for its remote end: it beats the global index, which may hold another name of a shared address. */
  remoteHost: string | null;
  /** Kernel time the connection closed; undefined while open. */
  closedNs?: number;
}

const TCP_SYN_SENT = 2;
const TCP_SYN_RECV = 3;

const ms = (ns: number) => Math.round(ns / 1000) / 1000;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function tupleKey(localAddr: string, localPort: number, remoteAddr: string, remotePort: number): string {
  return `${localAddr}|${localPort}|${remoteAddr}|${remotePort}`;
}

export class Correlator {
  readonly stats: CorrelatorStats = { wireAnswers: 0, wireSkipped: {}, wireDuplicates: 0, literalLookups: 0, connectErrors: 0 };
  /** Sockets between connect/accept and close; bounded because a dropped close event must not leak. */
  private readonly sockets = new LRUCache<string, SocketState>({ max: 262_144 });
  /** TCP connections by local/remote 4-tuple, for naming flows; closed ones linger one flow interval. */
  private readonly owners = new LRUCache<string, Owner>({ max: 262_144 });
  private readonly recentWireAnswers = new LRUCache<string, true>({ max: 4096, ttl: 2000 });

  /** The connect probe mode of this run, carried by every conn record. */
  private probe: ConnectProbeName = 'tracepoint';

  constructor(private readonly options: CorrelatorOptions) {}

  setProbe(probe: ConnectProbeName): void {
    this.probe = probe;
  }

  handle(event: KernelEvent): void {
    this.options.names.advanceTo(event.tsNs);
    if (event.kind !== 'dnsPacket' && this.options.excludePid !== 0 && event.task.pid === this.options.excludePid) return;
    switch (event.kind) {
      case 'lookup':
        return this.onLookup(event);
      case 'dnsPacket':
        return this.onDnsPacket(event);
      case 'connect':
        return this.onConnect(event);
      case 'established':
        return this.onEstablished(event);
      case 'close':
        return this.onClose(event);
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
      return;
    }
    const addrs = [...new Set(event.addrs)];
    if (event.ret === 0) this.options.names.learnFromProcess(event.task.pid, host, addrs, null);
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
  }

  private onDnsPacket(event: DnsPacketEvent): void {
    const parsed = parseDnsResponse(event.message, event.messageLength);
    if (!parsed.ok) {
      this.stats.wireSkipped[parsed.reason] = (this.stats.wireSkipped[parsed.reason] ?? 0) + 1;
      return;
    }
    const { answer } = parsed;
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
    );
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
    if (state.task) {
      this.owners.set(tupleKey(event.tuple.saddr, event.tuple.sport, event.tuple.daddr, event.tuple.dport), {
        pid: state.task.pid,
        comm: state.task.comm,
        remoteHost: state.match?.host ?? null,
      });
    }
    this.options.emit(this.connRecord('open', event, event.tuple, state.task, state.match, event.direction, {
      connect_latency_ms: ms(event.latencyNs),
      duration_ms: null,
      bytes_sent: null,
      bytes_received: null,
      retransmits: null,
      established: null,
    }));
  }

  private onClose(event: CloseEvent): void {
    const state = this.sockets.get(event.sock);
    this.sockets.delete(event.sock);
    const task = event.task.pid !== 0 ? event.task : (state?.task ?? null);
    const match = state?.match ?? this.options.names.resolve(task?.pid ?? null, event.tuple.daddr);
    const owner = this.owners.get(tupleKey(event.tuple.saddr, event.tuple.sport, event.tuple.daddr, event.tuple.dport));
    if (owner) owner.closedNs = event.tsNs;
    else if (task) {
      const key = tupleKey(event.tuple.saddr, event.tuple.sport, event.tuple.daddr, event.tuple.dport);
      this.owners.set(key, { pid: task.pid, comm: task.comm, remoteHost: match?.host ?? null, closedNs: event.tsNs });
    }
    const established = event.oldState !== TCP_SYN_SENT && event.oldState !== TCP_SYN_RECV;
    this.options.emit(this.connRecord('close', event, event.tuple, task, match, event.direction, {
      connect_latency_ms: state?.latencyNs != null ? ms(state.latencyNs) : null,
      duration_ms: event.tracked ? ms(event.durationNs) : null,
      bytes_sent: event.bytesSent,
      bytes_received: event.bytesReceived,
      retransmits: event.retransmits,
      established,
    }));
  }

  private connRecord(
    kind: 'open' | 'close',
    event: KernelEvent,
    tuple: Tuple,
    task: Task | null,
    match: NameMatch | null,
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
      probe: this.probe,
      ...rest,
    };
  }

  /** Names and owners for one interval's flow deltas. */
  flowRecords(deltas: readonly FlowDelta[]): FlowRecord[] {
    const { names, clock } = this.options;
    return deltas.map((flow) => {
      const found = flow.proto === 6 ? this.ownerOf(flow) : undefined;
      const owner = found?.owner;
      const remoteHost = owner?.remoteHost ?? null;
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
        src_host: found?.remote === 'src' && remoteHost ? remoteHost : names.nameOf(flow.saddr),
        dst_host: found?.remote === 'dst' && remoteHost ? remoteHost : names.nameOf(flow.daddr),
        pid: owner?.pid ?? null,
        comm: owner?.comm ?? null,
      };
    });
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
