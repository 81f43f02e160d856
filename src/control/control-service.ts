/**
 * The control socket beside a session: it binds before anything is traced
 * (a busy path is one line and exit 1), then follows the session once it
 * runs: its commands read the session's blocklist, flows, names and
 * summary when they come, and the names blocked with block-host follow
 * every address the session learns. The session never calls into it.
 */
import { fillStats } from '../format/fill-levels.js';
import { lookup } from 'node:dns/promises';
import { ok, note, problem, type SummaryLine } from '../format/health.js';
import { describeXdp } from '../kernel/xdp-mode.js';
import type { TracedInterface } from '../kernel/tracer.js';
import type { SinkStatusLine } from '../output/sinks.js';
import type { Session } from '../session.js';
import { blockHost } from './block-host.js';
import type { ControlBackend, StatValue } from './commands.js';
import { HostBlocks } from './host-blocks.js';
import type { ControlGroup } from './control-group.js';
import { ControlServer, type ControlServerStats } from './server.js';

export class ControlService {
  private session: Session | null = null;
  /** Names blocked with block-host, over the session's blocklist. */
  private readonly hostBlocks = new HostBlocks(() => this.session?.blocklist ?? null);
  private unfollowNames: (() => void) | null = null;
  private server: ControlServer | null = null;
  /** Counters of what runs beside the session (the output, storage), read at each `stats`. */
  private readonly extraStats: (() => Record<string, StatValue>)[] = [];

  private constructor() {}

  /** Binds the socket at `path` (open to `group` too when given); throws a one-line HostflowError when it cannot. */
  static async start(path: string, group?: ControlGroup): Promise<ControlService> {
    const service = new ControlService();
    service.server = await ControlServer.start({ path, backend: service.backend(), group });
    return service;
  }

  /** From now on, commands answer from this session, and blocked names follow what it learns (after its reorder window). */
  follow(session: Session): void {
    this.session = session;
    this.unfollowNames?.();
    this.unfollowNames = session.names.onLearn(({ host, aliases, addrs }) => this.hostBlocks.learned(host, aliases, addrs));
  }

  /** Adds counters to `stats` (a sink's: lines dropped, uploads retried). */
  addStats(source: () => Record<string, StatValue>): void {
    this.extraStats.push(source);
  }

  get stats(): ControlServerStats | null {
    return this.server ? { ...this.server.stats } : null;
  }

  /** For the UI header. */
  status(): SinkStatusLine[] {
    const blocklist = this.session?.blocklist;
    if (!blocklist) return [];
    const totals = blocklist.totals();
    const names = this.hostBlocks.size.names;
    return [{ label: 'blocklist', text: `${totals.entries} prefixes${names > 0 ? ` (${names} names)` : ''}, ${totals.packets} dropped`, warn: false }];
  }

  /** After the session stopped: closes the socket; the summary's block-host lines. */
  async close(): Promise<SummaryLine[]> {
    await this.server?.close();
    this.unfollowNames?.();
    this.unfollowNames = null;
    const lines: SummaryLine[] = [];
    const blocked = this.hostBlocks.size;
    const { namesRefused, addrsRefused, addrsSkipped, blockFailures } = this.hostBlocks.stats;
    if (blocked.names === 0 && namesRefused + addrsRefused + blockFailures + addrsSkipped === 0) return lines;
    lines.push(
      ok(
        'block-host',
        `${blocked.names} names held ${blocked.addrs} addresses${namesRefused > 0 ? `; ${namesRefused} names refused (answered at the time)` : ''}`,
      ),
    );
    if (addrsRefused + blockFailures > 0) {
      lines.push(
        problem(
          'block-host',
          `${addrsRefused + blockFailures} addresses of blocked names were NOT blocked: ${addrsRefused} over the bound of a name, ${blockFailures} the blocklist would not take`,
        ),
      );
    }
    if (addrsSkipped > 0) lines.push(note('block-host', `${addrsSkipped} addresses skipped: they cannot be a source (0.0.0.0, ::)`));
    return lines;
  }

  /** Every hook reads the session when a command comes; before follow() they answer as an empty session. */
  private backend(): ControlBackend {
    const current = () => this.session;
    const hostBlocks = this.hostBlocks;
    return {
      hostBlocks: {
        block: (name) =>
          blockHost(hostBlocks, name, {
            indexAddrs: (matches) => current()?.names.addrsOf(matches) ?? [],
            // From hostflow's own network namespace and resolver, as its user would resolve the name.
            lookup: async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address),
          }),
        unblock: (name) => hostBlocks.remove(name),
        list: () => hostBlocks.list(),
        sourceBlocked: (prefix) => hostBlocks.sourceBlocked(prefix),
        sourceUnblocked: (text) => hostBlocks.sourceUnblocked(text),
      },
      readFlows: () => current()?.readFlows() ?? [],
      get blocklist() {
        return current()?.blocklist ?? null;
      },
      nameOf: (address) => current()?.names.nameOf(address) ?? null,
      listHosts: () => current()?.names.hosts() ?? [],
      stats: () => {
        const session = current();
        return session ? Object.assign(sessionStats(session, hostBlocks), ...this.extraStats.map((source) => source())) : {};
      },
    };
  }
}

/** The `stats` command: flat snake_case counters (commands.ts marks the ones that are problems). */
function sessionStats(session: Session, hostBlocks: HostBlocks): Record<string, StatValue> {
  const summary = session.summary();
  return {
    events_decoded: session.eventsDecoded,
    records_dns: summary.records.dns,
    records_conn: summary.records.conn,
    records_flow: summary.records.flow,
    events_lost: summary.lostTotal,
    events_malformed: summary.malformed,
    probe_runs_skipped: summary.skippedTotal,
    events_late: summary.late,
    closes_recovered: summary.closesRecovered,
    names_evicted: (summary.naming?.namesEvicted?.process ?? 0) + (summary.naming?.namesEvicted?.global ?? 0),
    capture_packets: summary.capture?.packets ?? 0,
    capture_lost: summary.capture?.lost ?? 0,
    blocked_prefixes: summary.blocked.length,
    blocked_hosts: hostBlocks.size.names,
    blocked_host_addrs: hostBlocks.size.addrs,
    block_host_names_refused: hostBlocks.stats.namesRefused,
    block_host_addrs_refused: hostBlocks.stats.addrsRefused,
    block_host_addrs_skipped: hostBlocks.stats.addrsSkipped,
    block_host_failures: hostBlocks.stats.blockFailures,
    block_host_addrs_learned: hostBlocks.stats.addrsLearned,
    ...xdpStats(summary.interfaces ?? []),
    ...fillStats(summary.fill ?? []),
  };
}

/** 'xdp_eth0': 'generic (native refused by virtio_net: ...)' per traced interface. */
function xdpStats(interfaces: readonly TracedInterface[]): Record<string, StatValue> {
  const stats: Record<string, StatValue> = {};
  for (const { name, xdp } of interfaces) if (xdp) stats[`xdp_${name}`] = describeXdp(name, xdp).slice(name.length + 2);
  return stats;
}
