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
import type { UdpConversationEntry } from '../kernel/udp-convs.js';
import type { CorrelatorEvent, DnsAnswerEvent, DnsQueryEvent, EncryptedHelloEvent, ServerNameEvent } from '../wire/events.js';
import type { FlowDelta } from '../flows/intervals.js';
import type { ConnectProbeName } from '../kernel/layout.js';
import { protocolName } from '../net/protocol.js';
import type { ConnRecord, DnsRecord, FlowRecord, HostflowRecord, ProcessFields, UdpEndReason, UdpRecord, UnresolvedReason } from '../records/types.js';
import { BoundedMap } from './bounded-map.js';
import type { NameIndex, NameMatch } from './names.js';
import { gaiStatus } from './gai-status.js';
import { UnnamedConnections, type Unnamed } from './unnamed.js';
import { PendingQueries, type PendingQuery } from './dns-queries.js';
import { conversationKey, UdpConversations } from './udp-conversations.js';
import { flatKey } from './flat-key.js';
import { isEncryptedDns, UnresolvedEvidence } from './unresolved.js';

export interface ContainerInfo {
  id: string;
  runtime: string;
}

/** Who a process is beyond its pid and comm (src/system/process-identity.ts). */
export type ProcessIdentity = Pick<ProcessFields, 'ppid' | 'exe' | 'cmdline'>;

export interface CorrelatorOptions {
  names: NameIndex;
  clock: Clock;
  interfaceName: (ifindex: number) => string;
  /** The interface a socket hook saw a packet on, named only when it is in hostflow's network namespace; null otherwise. @default interfaceName */
  socketInterfaceName?: (ifindex: number, netns: string | null) => string | null;
  /** Parent, executable and command line of an event's process, never another's (a reused pid). @default the kernel's ppid only */
  identify?: (task: Task) => ProcessIdentity;
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
  /** Connections (TCP sockets and UDP conversations) tracked between their open and close, and after it for one flow interval. @default 262144 */
  connectionEntries?: number;
  /** Whether anything asks who owns a 4-tuple (flow records, capture comments); without, connections are not remembered by 4-tuple at all. @default true */
  keepOwners?: boolean;
  /** How long a DNS query a local socket sent waits for its response before it is a TIMEOUT lookup. @default 5000 */
  dnsTimeoutMs?: number;
  /** A UDP conversation without a datagram for this long ends. @default 60000 */
  udpIdleMs?: number;
}

export const DEFAULT_LATE_NAME_WINDOW_MS = 10_000;
/** Connections tracked at once: a busy proxy's open connections, with room for a flood's closed ones of one flow interval. */
export const DEFAULT_CONNECTION_ENTRIES = 262_144;
/** glibc's and Go's resolvers wait 5 s for an answer before they retry. */
export const DEFAULT_DNS_TIMEOUT_MS = 5_000;
/**
 * Longer than QUIC's common idle timeouts (30 s) and the usual NAT UDP
 * timeouts (30-180 s), shorter than a poll interval of a chatty agent.
 */
export const DEFAULT_UDP_IDLE_MS = 60_000;

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
  /** Connections pushed out of the connection tables by their bound (--max-connections): their close or flows lose the process or name. */
  connectionsEvicted: number;
  /** Connections whose socket was reused by a new connection before any close of theirs arrived: their close record is missing. */
  closesUnseen: number;
  /** DNS queries seen at sockets, answered and timed out (TIMEOUT lookups), and pushed out unanswered by the bound. */
  dnsQueries: { seen: number; answered: number; timedOut: number; evicted: number; retries: number };
  /** UDP conversations opened, ended, and pushed out of the kernel's table before they ended. */
  udp: { opened: number; ended: number; evicted: number };
  /** ClientHellos with Encrypted Client Hello: their connections are not named by the outer name. */
  encryptedHellos: number;
  /** UDP conversations named by the SNI of their QUIC Initial. */
  quicNamed: number;
}

/** Entries of hostflow's user-space tables, each bounded by an option (README, "Memory"). */
export interface TableSizes {
  /** TCP sockets between their open and close. */
  connections: number;
  /** Connections and UDP conversations by 4-tuple, closed ones until their last flow interval. */
  owners: number;
  /** Open connections waiting for a late name. */
  unnamed: number;
  /** DNS queries waiting for their answer. */
  dnsQueries: number;
  udpConversations: number;
  /** Names per (process, address) and per address. */
  namesByProcess: number;
  namesGlobal: number;
  /** Flows remembered from the last interval. */
  flows: number;
  /** Events waiting out the reorder window. */
  reorder: number;
  /** Processes whose identity (/proc) is cached. */
  processes: number;
}

/** What is remembered about a live UDP conversation between its open and close records. */
interface ConversationState {
  match: NameMatch | null;
  unresolved: UnresolvedReason | null;
  ownerKey: string;
}

/**
 * What is remembered about one TCP connection or UDP conversation between
 * its events. The one object is in both tables, by socket and by 4-tuple
 * (owners): a name it gets later is the flows' name too, and a connection
 * costs one object, not two.
 */
interface Connection {
  /** The process; set for every connection in `owners`. */
  task: Task | null;
  daddr: string;
  /** Its name for the remote end: it beats the global index, which may hold another name of a shared address. */
  match: NameMatch | null;
  latencyNs: number | null;
  /** Why it has no name, decided when it opened; undefined before. */
  unresolved: UnresolvedReason | null | undefined;
  /** Kernel time it closed; undefined while open. */
  closedNs: number | undefined;
}

function connection(task: Task | null, daddr: string, match: NameMatch | null): Connection {
  return { task, daddr, match, latencyNs: null, unresolved: undefined, closedNs: undefined };
}

/** An open connection waiting for a name: what its `named` record repeats. */
interface Waiting {
  open: ConnRecord;
  state: Connection;
}

const TCP_SYN_SENT = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** UDP conversations share the owners table with TCP connections, under keys of their own. */
const UDP_OWNER = 'udp|';
/** The kernel gives loopback ifindex 1 in every network namespace. */
const LOOPBACK_IFINDEX = 1;
/** The ephemeral port range's usual start (ip_local_port_range): a local port below it, talking to one above it, is a server's. */
const EPHEMERAL_PORT_MIN = 32768;
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

/** A UDP socket's remote end, from an egress tuple (daddr/dport the remote). */
function udpRemoteKey(socket: string, tuple: Pick<Tuple, 'daddr' | 'dport'>): string {
  return `${socket}|${tuple.daddr}|${tuple.dport}`;
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
    connectionsEvicted: 0,
    closesUnseen: 0,
    dnsQueries: { seen: 0, answered: 0, timedOut: 0, evicted: 0, retries: 0 },
    udp: { opened: 0, ended: 0, evicted: 0 },
    encryptedHellos: 0,
    quicNamed: 0,
  };
  /** Sockets between connect/accept and close; bounded because a dropped close event must not leak. Read with peek: a socket's few events come close together, so the oldest opened is the one to push out. */
  private readonly sockets: BoundedMap<number, Connection>;
  /** TCP connections by local/remote 4-tuple, for naming flows; closed ones linger one flow interval. */
  private readonly owners: BoundedMap<string, Connection>;
  /** Owners' keys in the order their connections closed, for forgetClosed. */
  private closedOwners: Array<{ key: string; closedNs: number }> = [];
  private readonly recentWireAnswers = new LRUCache<string, true>({ max: 4096, ttl: 2000 });
  private readonly queries: PendingQueries;
  private readonly conversations: UdpConversations;
  private readonly conversationStates = new Map<string, ConversationState>();
  /** Server names from QUIC Initials, and ClientHellos with ECH on UDP, by socket and remote end, until their conversation reads them. */
  private readonly udpServerNames = new LRUCache<string, string>({ max: 4096 });
  private readonly udpEncryptedHellos = new LRUCache<string, true>({ max: 4096 });
  private readonly unnamed: UnnamedConnections<Waiting>;
  private readonly evidence: UnresolvedEvidence;
  private readonly lateNameWindowNs: number;
  private readonly keepOwners: boolean;

  /** The connect probe mode of this run, carried by every conn record. */
  private probe: ConnectProbeName = 'tracepoint';

  constructor(private readonly options: CorrelatorOptions) {
    this.unnamed = new UnnamedConnections(options.unnamedEntries ?? 16_384, () => this.stats.unnamedEvicted++);
    this.keepOwners = options.keepOwners ?? true;
    const connections = options.connectionEntries ?? DEFAULT_CONNECTION_ENTRIES;
    const evicted = () => this.stats.connectionsEvicted++;
    this.sockets = new BoundedMap(connections, evicted);
    this.owners = new BoundedMap(connections, evicted);
    this.evidence = new UnresolvedEvidence(options.startedBeforeTrace);
    this.lateNameWindowNs = (options.lateNameWindowMs ?? DEFAULT_LATE_NAME_WINDOW_MS) * 1e6;
    this.queries = new PendingQueries({ timeoutNs: (options.dnsTimeoutMs ?? DEFAULT_DNS_TIMEOUT_MS) * 1e6 });
    this.conversations = new UdpConversations((options.udpIdleMs ?? DEFAULT_UDP_IDLE_MS) * 1e6);
  }

  /** The bounds of the tables of tableSizes() that have one. */
  tableCapacities(): Pick<TableSizes, 'connections' | 'owners' | 'unnamed' | 'dnsQueries'> {
    return { connections: this.sockets.max, owners: this.owners.max, unnamed: this.unnamed.capacity, dnsQueries: this.queries.capacity };
  }

  /** Entries each table holds now, for the summary. */
  tableSizes(): Pick<TableSizes, 'connections' | 'owners' | 'unnamed' | 'dnsQueries' | 'udpConversations'> {
    return {
      connections: this.sockets.size,
      owners: this.owners.size,
      unnamed: this.unnamed.size,
      dnsQueries: this.queries.size,
      udpConversations: this.conversations.size,
    };
  }

  setProbe(probe: ConnectProbeName): void {
    this.probe = probe;
  }

  handle(event: CorrelatorEvent): void {
    this.options.names.advanceTo(event.tsNs);
    if ('task' in event && event.task && this.options.excludePid !== 0 && event.task.pid === this.options.excludePid) return;
    switch (event.kind) {
      case 'lookup':
        return this.onLookup(event);
      case 'dnsAnswer':
        return this.onDnsAnswer(event);
      case 'dnsQuery':
        return this.onDnsQuery(event);
      case 'udpClose':
        return this.conversations.socketClosed(event.socket);
      case 'encryptedHello':
        return this.onEncryptedHello(event);
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
    if (!task || task.pid === 0) {
      return { pid: null, ppid: null, comm: null, exe: null, cmdline: null, uid: null, container_id: null, container_runtime: null };
    }
    const container = this.options.containers.lookup(task.pid);
    const identity = this.options.identify?.(task) ?? { ppid: task.ppid || null, exe: null, cmdline: null };
    return {
      pid: task.pid,
      ppid: identity.ppid,
      comm: task.comm,
      exe: identity.exe,
      cmdline: identity.cmdline,
      uid: task.uid,
      container_id: container?.id ?? null,
      container_runtime: container?.runtime ?? null,
    };
  }

  /** Where a wire event was seen, as the dns record's `iface`. */
  private wireInterface(event: DnsAnswerEvent | PendingQuery): string | null {
    if ('seenAt' in event && event.seenAt === 'interface') return this.options.interfaceName(event.ifindex);
    return this.socketInterface(event.ifindex, event.netns);
  }

  private socketInterface(ifindex: number, netns: string | null): string | null {
    return this.options.socketInterfaceName ? this.options.socketInterfaceName(ifindex, netns) : this.options.interfaceName(ifindex);
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
    const task = event.task && event.task.pid !== 0 ? event.task : null;
    const query = event.socket !== null ? this.queries.answer(event.socket, answer.id, answer.host, answer.qtype) : undefined;
    if (query) this.stats.dnsQueries.answered++;
    const dedupeKey = `${answer.id}|${answer.host}|${answer.qtype}|${event.tuple.saddr}|${event.tuple.daddr}|${event.tuple.dport}|${event.socket ?? ''}`;
    if (this.recentWireAnswers.has(dedupeKey)) {
      this.stats.wireDuplicates++;
      return;
    }
    this.recentWireAnswers.set(dedupeKey, true);
    this.stats.wireAnswers++;
    if (task) {
      // The process that asked: its own index learns the name, as from getaddrinfo.
      this.options.names.learnFromProcess(task.pid, answer.host, answer.addrs, answer.ttl, answer.cnames);
    } else {
      this.options.names.learnFromWire(
        answer.host,
        answer.addrs.map((addr) => [addr, answer.addrTtls[addr] ?? answer.ttl] as const),
        answer.cnames,
      );
    }
    this.evidence.named(answer.addrs);
    const record: DnsRecord = {
      type: 'dns',
      ts: this.options.clock.iso(event.tsNs),
      ...this.processFields(task),
      tid: query?.task.tid ?? null,
      host: answer.host,
      cnames: answer.cnames.length > 0 ? answer.cnames : null,
      addrs: sortFamilies(answer.addrs),
      ttl: answer.ttl,
      latency_ms: query ? ms(event.tsNs - query.tsNs) : null,
      source: 'wire',
      status: answer.rcode,
      iface: this.wireInterface(event),
      server: event.tuple.saddr,
    };
    this.options.emit(record);
    this.nameLate(answer.addrs, event.tsNs);
  }

  /** A query a local socket sent: it waits for its response, or becomes a TIMEOUT lookup. */
  private onDnsQuery(event: DnsQueryEvent): void {
    if (!event.task || event.task.pid === 0 || event.socket === null) return;
    this.stats.dnsQueries.seen++;
    const { id, host, qtype } = event.query;
    this.queries.add({
      tsNs: event.tsNs,
      task: event.task,
      socket: event.socket,
      tuple: event.tuple,
      ifindex: event.ifindex,
      netns: event.netns,
      id,
      host,
      qtype,
      transport: event.transport,
    });
  }

  /**
   * Moves time to `nowNs` (kernel monotonic; the events before it are
   * applied): queries that waited out the DNS timeout become TIMEOUT lookups.
   */
  advanceTo(nowNs: number): void {
    for (const query of this.queries.expire(nowNs)) {
      this.stats.dnsQueries.timedOut++;
      this.options.emit({
        type: 'dns',
        ts: this.options.clock.iso(query.tsNs),
        ...this.processFields(query.task),
        tid: query.task.tid,
        host: query.host,
        cnames: null,
        addrs: [],
        ttl: null,
        latency_ms: null,
        source: 'wire',
        status: 'TIMEOUT',
        iface: this.wireInterface(query),
        server: query.tuple.daddr,
      });
    }
    this.stats.dnsQueries.evicted = this.queries.evicted;
    this.stats.dnsQueries.retries = this.queries.retries;
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
    if (event.source === 'quic') {
      // Its UDP conversation reads it when it opens or ends.
      if (event.socket !== null) this.udpServerNames.set(udpRemoteKey(event.socket, event.tuple), host);
      return;
    }
    // The sender's end is the tuple's source, on egress and on loopback's
    // ingress alike; the name is its peer's, so an accepted connection
    // (where the sender is the remote) is never named by it.
    const { saddr, sport, daddr, dport } = event.tuple;
    const key = tupleKey(saddr, sport, daddr, dport);
    const match: NameMatch = { host, source: event.source };
    const waiting = this.unnamed.take(key);
    if (waiting) {
      this.stats.serverNamesUsed[event.source]++;
      this.name(waiting, match, event.tsNs);
      return;
    }
    const owner = this.owners.get(key);
    if (owner && owner.match === null && owner.closedNs === undefined) {
      // Pushed out of the late-name table: its flows and close still get the name.
      this.stats.serverNamesUsed[event.source]++;
      owner.match = match;
      owner.unresolved = null;
      if (isEncryptedDns(dport, host)) this.evidence.encryptedDns(owner.task?.pid ?? null, event.tsNs);
      return;
    }
    this.stats.serverNamesIgnored++;
  }

  /**
   * A ClientHello with Encrypted Client Hello: its connection is not named
   * by the outer name, and says why it stays unnamed.
   */
  private onEncryptedHello(event: EncryptedHelloEvent): void {
    this.stats.encryptedHellos++;
    if (event.protocol === 'quic') {
      if (event.socket !== null) this.udpEncryptedHellos.set(udpRemoteKey(event.socket, event.tuple), true);
      return;
    }
    const { saddr, sport, daddr, dport } = event.tuple;
    const key = tupleKey(saddr, sport, daddr, dport);
    const waiting = this.unnamed.peek(key);
    if (waiting) waiting.value.state.unresolved = UnresolvedEvidence.withEncryptedHello(waiting.value.state.unresolved);
    const owner = this.owners.get(key);
    if (owner && owner.match === null) owner.unresolved = UnresolvedEvidence.withEncryptedHello(owner.unresolved ?? null);
  }

  /** Gives a waiting connection its name: one `named` record; its close record and next flows carry the name. */
  private name(waiting: Unnamed<Waiting>, match: NameMatch, tsNs: number): void {
    const { open, state } = waiting.value;
    // The same object as its owners entry: its flows get the name too.
    state.match = match;
    state.unresolved = null;
    if (isEncryptedDns(open.dport, match.host)) this.evidence.encryptedDns(open.pid, tsNs);
    this.options.emit({ ...open, event: 'named', ts: this.options.clock.iso(tsNs), host: match.host, host_source: match.source, unresolved: null });
  }

  private onConnect(event: ConnectEvent): void {
    if (event.ret !== 0) {
      this.stats.connectErrors++;
      return;
    }
    this.openState(event.sock);
    this.sockets.set(event.sock, connection(event.task, event.tuple.daddr, this.options.names.resolve(event.task.pid, event.tuple.daddr)));
  }

  /**
   * What is known of `sock` before it opens, unless that is a connection
   * already established: then the kernel freed that socket and reused its
   * address, and neither a probe, the sweep nor the reuse check in the kernel
   * (bpf/lifecycle.bpf.c) wrote its close (counted; its close record is missing).
   */
  private openState(sock: number): Connection | undefined {
    const state = this.sockets.peek(sock);
    if (state === undefined || state.latencyNs === null) return state;
    this.stats.closesUnseen++;
    return undefined;
  }

  private onEstablished(event: EstablishedEvent): void {
    const task = event.task.pid === 0 ? null : event.task;
    let state = this.openState(event.sock);
    if (!state || state.daddr !== event.tuple.daddr) {
      state = connection(task, event.tuple.daddr, this.options.names.resolve(task?.pid ?? null, event.tuple.daddr));
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
    // Only outgoing connections wait for a name: an accepted one's remote is a client, which nothing names later.
    const waits = !state.match && event.direction === 'out';
    // Built only for a table that keeps it (a flood of named or accepted connections builds none).
    const key = waits || (state.task && this.keepOwners) ? flatKey(tupleKey(tuple.saddr, tuple.sport, tuple.daddr, tuple.dport)) : '';
    if (state.task && this.keepOwners) this.owners.set(key, state);
    const open = this.connRecord(
      'open',
      event.tsNs,
      tuple,
      state.task,
      state.match,
      state.unresolved,
      event.direction,
      ms(event.latencyNs),
      null,
      null,
      null,
      null,
      null,
    );
    this.options.emit(open);
    if (waits) this.unnamed.add({ key, addr: tuple.daddr, openedNs: event.tsNs, value: { open, state } });
  }

  private onClose(event: CloseEvent): void {
    const state = this.sockets.peek(event.sock);
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
    // Only a connection that may be waiting for a name (one without a name that went out, or one not known) is looked for there.
    const mayWait = !state || (!state.match && event.direction === 'out');
    const key = mayWait || this.keepOwners ? tupleKey(event.tuple.saddr, event.tuple.sport, event.tuple.daddr, event.tuple.dport) : '';
    // Closed before a name came: the close record is its last word.
    if (mayWait) this.unnamed.take(key);
    if (this.keepOwners) {
      const owner = this.owners.get(key);
      if (owner) owner.closedNs = event.tsNs;
      else if (task) this.owners.set(flatKey(key), { ...connection(task, event.tuple.daddr, match), unresolved, closedNs: event.tsNs });
      if (owner || task) this.closedOwners.push({ key: flatKey(key), closedNs: event.tsNs });
    }
    const established = event.oldState !== TCP_SYN_SENT && event.oldState !== TCP_SYN_RECV;
    this.options.emit(
      this.connRecord(
        'close',
        event.tsNs,
        event.tuple,
        task,
        match,
        unresolved,
        event.direction,
        state?.latencyNs != null ? ms(state.latencyNs) : null,
        event.tracked ? ms(event.durationNs) : null,
        event.bytesSent,
        event.bytesReceived,
        event.retransmits,
        established,
      ),
    );
  }

  /**
   * A conn record. Built at a flood's rate (two per connection end): one
   * literal of every field, no spreads and no object on the way (the
   * process fields are read here, not gathered into one first).
   */
  private connRecord(
    kind: 'open' | 'close',
    tsNs: number,
    tuple: Tuple,
    task: Task | null,
    match: NameMatch | null,
    unresolved: UnresolvedReason | null,
    direction: 'in' | 'out',
    connectLatencyMs: number | null,
    durationMs: number | null,
    bytesSent: number | null,
    bytesReceived: number | null,
    retransmits: number | null,
    established: boolean | null,
  ): ConnRecord {
    const known = task !== null && task.pid !== 0;
    const container = known ? this.options.containers.lookup(task.pid) : null;
    const identity = known ? (this.options.identify?.(task) ?? null) : null;
    return {
      type: 'conn',
      event: kind,
      ts: this.options.clock.iso(tsNs),
      pid: known ? task.pid : null,
      ppid: known ? (identity ? identity.ppid : task.ppid || null) : null,
      comm: known ? task.comm : null,
      exe: identity?.exe ?? null,
      cmdline: identity?.cmdline ?? null,
      uid: known ? task.uid : null,
      container_id: container?.id ?? null,
      container_runtime: container?.runtime ?? null,
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
      connect_latency_ms: connectLatencyMs,
      duration_ms: durationMs,
      bytes_sent: bytesSent,
      bytes_received: bytesReceived,
      retransmits,
      established,
    };
  }

  /**
   * One read of the kernel's UDP conversation table, taken at `nowNs` once
   * the events before it are applied: `open` records for new conversations,
   * `close` records for ended ones. Returns the ended ones, whose kernel
   * entries the caller deletes.
   */
  udpConversations(snapshot: readonly UdpConversationEntry[], nowNs: number): UdpConversationEntry[] {
    const { opened, ended } = this.conversations.apply(snapshot, nowNs);
    for (const entry of opened) this.openConversation(entry);
    for (const { entry, reason } of ended) this.endConversation(entry, reason);
    this.stats.udp.evicted = this.conversations.evicted;
    return ended.map(({ entry }) => entry);
  }

  /** The run stops: every live UDP conversation ends with the counts of the last read. */
  finishUdp(): void {
    for (const { entry, reason } of this.conversations.finish()) this.endConversation(entry, reason);
  }

  private openConversation(entry: UdpConversationEntry): void {
    this.stats.udp.opened++;
    const task = entry.task.pid === 0 ? null : entry.task;
    const { match, unresolved } = this.nameConversation(entry, task);
    const ownerKey = flatKey(UDP_OWNER + tupleKey(entry.laddr, entry.lport, entry.raddr, entry.rport));
    if (task && this.keepOwners) this.owners.set(ownerKey, { ...connection(task, entry.raddr, match), unresolved });
    this.conversationStates.set(flatKey(conversationKey(entry)), { match, unresolved, ownerKey });
    this.options.emit(this.udpRecord('open', entry, task, match, unresolved, null));
  }

  private endConversation(entry: UdpConversationEntry, reason: UdpEndReason): void {
    this.stats.udp.ended++;
    const key = conversationKey(entry);
    const task = entry.task.pid === 0 ? null : entry.task;
    let state = this.conversationStates.get(key);
    this.conversationStates.delete(key);
    // Unnamed when it opened: a QUIC Initial or a late answer may have named it since.
    if (!state?.match) state = { ...this.nameConversation(entry, task), ownerKey: state?.ownerKey ?? '' };
    const owner = state.ownerKey ? this.owners.get(state.ownerKey) : undefined;
    if (owner) {
      owner.closedNs = entry.lastNs;
      owner.match = state.match;
      owner.unresolved = state.unresolved;
    }
    this.udpServerNames.delete(udpRemoteKey(entry.socket, { daddr: entry.raddr, dport: entry.rport }));
    this.options.emit(this.udpRecord('close', entry, task, state.match, state.unresolved, reason));
  }

  /** A conversation's remote name: its process's own lookup first, then its QUIC Initial's SNI, then the host's most recent answer. */
  private nameConversation(entry: UdpConversationEntry, task: Task | null): { match: NameMatch | null; unresolved: UnresolvedReason | null } {
    const remoteKey = udpRemoteKey(entry.socket, { daddr: entry.raddr, dport: entry.rport });
    let match = this.options.names.resolve(task?.pid ?? null, entry.raddr);
    const sni = this.udpServerNames.get(remoteKey);
    if (sni !== undefined && match?.source !== 'process') {
      if (!match) this.stats.quicNamed++;
      match = match ?? { host: sni, source: 'quic' };
    }
    if (match) return { match, unresolved: null };
    if (this.udpEncryptedHellos.has(remoteKey)) return { match: null, unresolved: 'encrypted_client_hello' };
    const inbound = entry.lport < EPHEMERAL_PORT_MIN && entry.rport >= EPHEMERAL_PORT_MIN;
    const unresolved = this.evidence.reason({
      direction: inbound ? 'in' : 'out',
      pid: task?.pid ?? null,
      addr: entry.raddr,
      tsNs: entry.firstNs,
      openedBeforeTrace: false,
    });
    return { match: null, unresolved };
  }

  private udpRecord(
    event: 'open' | 'close',
    entry: UdpConversationEntry,
    task: Task | null,
    match: NameMatch | null,
    unresolved: UnresolvedReason | null,
    reason: UdpEndReason | null,
  ): UdpRecord {
    const { clock } = this.options;
    const closing = event === 'close';
    return {
      type: 'udp',
      event,
      ts: clock.iso(closing ? entry.lastNs : entry.firstNs),
      ...this.processFields(task),
      family: entry.family,
      saddr: entry.laddr,
      sport: entry.lport,
      daddr: entry.raddr,
      dport: entry.rport,
      host: match?.host ?? null,
      host_source: match?.source ?? null,
      unresolved: match ? null : unresolved,
      iface: this.socketInterface(entry.ifindex, entry.netnsCookie),
      first_seen: clock.iso(entry.firstNs),
      last_seen: closing ? clock.iso(entry.lastNs) : null,
      packets_sent: closing ? entry.packetsOut : null,
      bytes_sent: closing ? entry.bytesOut : null,
      packets_received: closing ? entry.packetsIn : null,
      bytes_received: closing ? entry.bytesIn : null,
      end_reason: reason,
    };
  }

  /** Names and owners for one interval's flow deltas. */
  flowRecords(deltas: readonly FlowDelta[]): FlowRecord[] {
    return deltas.map((flow) => this.flowRecord(flow));
  }

  /** The record of one flow delta: one at a time, so a large interval is never held as records all at once. */
  flowRecord(flow: FlowDelta): FlowRecord {
    const { names, clock } = this.options;
    const found = flow.proto === IPPROTO_TCP || flow.proto === IPPROTO_UDP ? this.ownerOf(flow) : undefined;
    const owner = found?.owner;
    const remoteHost = owner?.match?.host ?? null;
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
      pid: owner?.task?.pid ?? null,
      comm: owner?.task?.comm ?? null,
    };
  }

  /** The connection or UDP conversation a flow belongs to, and which end of the flow is its remote end. */
  private ownerOf(flow: FlowDelta): { owner: Connection; remote: 'src' | 'dst' } | undefined {
    // Egress packets leave from the local end; ingress ones arrive at it.
    // Only on loopback are both ends local to the interface: elsewhere the
    // other end is another host or namespace (a DNS server answering this
    // one's queries), never the process behind this interface's traffic.
    const prefix = flow.proto === IPPROTO_UDP ? UDP_OWNER : '';
    const sentKey = prefix + tupleKey(flow.saddr, flow.sport, flow.daddr, flow.dport);
    const receivedKey = prefix + tupleKey(flow.daddr, flow.dport, flow.saddr, flow.sport);
    const bothLocal = flow.ifindex === LOOPBACK_IFINDEX;
    const sent = flow.direction === 'out' || bothLocal ? this.owners.get(sentKey) : undefined;
    const received = flow.direction === 'in' || bothLocal ? this.owners.get(receivedKey) : undefined;
    const asSent = sent && { owner: sent, remote: 'dst' as const };
    const asReceived = received && { owner: received, remote: 'src' as const };
    return flow.direction === 'out' ? (asSent ?? asReceived) : (asReceived ?? asSent);
  }

  /** The local process of a TCP 4-tuple seen from either end (packet capture comments). */
  processOf(saddr: string, sport: number, daddr: string, dport: number): { pid: number; comm: string } | null {
    const owner = this.owners.get(tupleKey(saddr, sport, daddr, dport)) ?? this.owners.get(tupleKey(daddr, dport, saddr, sport));
    return owner?.task ? { pid: owner.task.pid, comm: owner.task.comm } : null;
  }

  /** Forgets connections that closed before `beforeNs` (after their last flow interval was named). */
  forgetClosed(beforeNs: number): void {
    // Closes arrive in about time order (the reorder window sorts them): the
    // forgotten ones are a prefix, and anything later waits for the next call.
    let done = 0;
    for (; done < this.closedOwners.length; done++) {
      const { key, closedNs } = this.closedOwners[done] as { key: string; closedNs: number };
      if (closedNs >= beforeNs) break;
      // Reopened since (a reused 4-tuple) or already gone: not this close's to forget.
      if (this.owners.peek(key)?.closedNs === closedNs) this.owners.delete(key);
    }
    if (done > 0) this.closedOwners = this.closedOwners.slice(done);
  }
}

/** IPv4 addresses first, then IPv6, each group in the order given. */
function sortFamilies(addrs: readonly string[]): string[] {
  return [...addrs.filter((a) => isIP(a) === 4), ...addrs.filter((a) => isIP(a) === 6)];
}
