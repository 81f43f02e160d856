/**
 * The kernel side of a Session in unit tests: a KernelTracer whose events,
 * frames and flow table the test hands over, so the real Session (reorder
 * window, pending flows, sinks, subscribers) and the real run around it
 * are tested without root. Only the kernel is stood in for.
 *
 *   const kernel = new FakeKernel();
 *   const session = new Session(options, sinks, kernel.start);
 *   session.start();
 *   kernel.emit(lookupEvent(...));
 */
import { COUNTER_NAMES, type CounterName } from '../../src/kernel/layout.js';
import type { KernelEvent, LookupEvent, ConnectEvent, EstablishedEvent, Task, Tuple } from '../../src/kernel/decode.js';
import { flowTableOf, type FlowEntry } from '../../src/kernel/flows.js';
import type { CapturedPacket } from '../../src/kernel/packets.js';
import type { UdpConversationEntry } from '../../src/kernel/udp-convs.js';
import type { AttachReport, TracerHandlers, TracerOptions } from '../../src/kernel/tracer.js';
import type { KernelTracer, StartTracer } from '../../src/session.js';

export class FakeKernel {
  /** What start() reports; tests may change it before the session starts. */
  report: AttachReport = {
    connectProbe: 'tracepoint',
    rejected: [{ mode: 'kprobe', reason: 'no kprobes' }],
    links: [],
    interfaces: [{ name: 'veth-test', ifindex: 7, xdp: { mode: 'native', nativeRefused: null } }],
    libcs: ['/lib/libc.so.6'],
    socketHooks: { attached: true, cgroup: '/sys/fs/cgroup/unified', reason: null },
  };
  /** The flow table readFlows() returns (cumulative counters). */
  flows: FlowEntry[] = [];
  /** The kernel's udp_convs table readUdpConversations() returns; forgetUdpConversations() deletes from it. */
  udpConversations: UdpConversationEntry[] = [];
  /** What the tracer says hostflow's own network namespace is. */
  netnsCookie: string | null = '4026531840';
  readonly counters: Record<CounterName, number> = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Record<CounterName, number>;
  /** Thrown by start() when set, as Tracer.start throws a HostflowError. */
  failure: Error | null = null;
  started = 0;
  stopped = 0;
  options: TracerOptions | null = null;
  private handlers: TracerHandlers | null = null;
  private readonly decodeStats = { records: 0, malformed: 0 };

  /** The StartTracer to give Session or the run. */
  readonly start: StartTracer = (options, handlers) => {
    if (this.failure) throw this.failure;
    this.started++;
    this.options = options;
    this.handlers = handlers;
    return this.tracer();
  };

  /** Hands events over as the poll thread would; their times should be recent (`nowNs()`). */
  emit(...events: KernelEvent[]): void {
    if (!this.handlers) throw new Error('FakeKernel.emit: the session has not started');
    for (const event of events) {
      this.decodeStats.records++;
      this.handlers.onEvent(event);
    }
  }

  packet(packet: CapturedPacket): void {
    this.handlers?.onPacket?.(packet);
  }

  private tracer(): KernelTracer {
    // Built as a value first: the udp_convs members are KernelTracer's on
    // branches where the session reads them, and no excess on the others.
    const tracer = {
      report: this.report,
      blocklist: null,
      decodeStats: this.decodeStats,
      readFlows: () => flowTableOf(this.flows),
      readUdpConversations: () => this.udpConversations,
      forgetUdpConversations: (entries: ReadonlyArray<Pick<UdpConversationEntry, 'socket' | 'family' | 'raddr' | 'rport'>>) => {
        const key = (entry: Pick<UdpConversationEntry, 'socket' | 'family' | 'raddr' | 'rport'>) =>
          `${entry.socket}/${entry.family}/${entry.raddr}/${entry.rport}`;
        const gone = new Set(entries.map(key));
        this.udpConversations = this.udpConversations.filter((entry) => !gone.has(key(entry)));
      },
      checkInterfaces: () => [],
      netnsCookie: this.netnsCookie,
      counters: () => ({ ...this.counters }),
      skippedRuns: () => ({}),
      libcFiles: () => [],
      libcScanStats: () => null,
      captureStats: () => ({ packets: 0, bytes: 0, lost: 0, malformed: 0 }),
      stop: async () => {
        this.stopped++;
        return { ...this.counters };
      },
    };
    return tracer;
  }
}

/** The kernel's monotonic time now, as events carry it. */
export const nowNs = (): number => Number(process.hrtime.bigint());

const task = (pid: number, comm: string): Task => ({ pid, tid: pid, uid: 1000, gid: 1000, cgroupId: 1, comm, ppid: 1, startNs: 1e9 });

/** A getaddrinfo lookup by `pid` of `name`, returning `addrs`, now. */
export function lookupEvent(pid: number, comm: string, name: string, addrs: string[]): LookupEvent {
  return { kind: 'lookup', tsNs: nowNs(), cpu: 0, task: task(pid, comm), name, addrs, truncated: false, ret: 0, latencyNs: 1e6 };
}

const sockIds = new Map<string, number>();

/** A test's socket, named for reading, as the number the decoder gives a socket: one per name. */
export function sockId(name: string): number {
  let id = sockIds.get(name);
  if (id === undefined) sockIds.set(name, (id = sockIds.size + 1));
  return id;
}

/** A connect and its handshake from `pid` to daddr:dport, now. */
export function connectionEvents(pid: number, comm: string, tuple: Tuple, sock = tuple.sport): [ConnectEvent, EstablishedEvent] {
  const at = nowNs();
  return [
    { kind: 'connect', tsNs: at, cpu: 0, task: task(pid, comm), tuple: { ...tuple, sport: 0 }, sock, ret: 0, probe: 'tracepoint' },
    { kind: 'established', tsNs: at + 1000, cpu: 0, task: task(pid, comm), tuple, sock, latencyNs: 1000, direction: 'out' },
  ];
}
