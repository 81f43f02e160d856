/**
 * The control commands as one table, COMMANDS: each command's name, usage,
 * description and argument counts (which the protocol parses against, and
 * `help` and `hostflow ctl` print), the parts of the session it needs
 * (ControlBackend hooks) and what it does. Runs on the JavaScript thread;
 * every command is a few map reads or one map update (block-host: one
 * bounded lookup), so a client can never stall the tracer for long. A
 * missing hook or a failure of one becomes an error answer, never an
 * exception.
 */
import { isoMicros } from '../clock.js';
import { firstLine } from '../errors.js';
import type { BlockEntry } from '../kernel/blocklist.js';
import type { FlowEntry } from '../kernel/flows.js';
import type { BlockHostResult } from './block-host.js';
import type { HostBlockRow, RemoveResult } from './host-blocks.js';
// Types only: protocol.ts reads this table, so importing its values would make a cycle.
import type { Answer, CommandSpec, Request } from './protocol.js';
import { quote } from './quote.js';

/** The blocklist operations the control socket uses (Tracer.blocklist). */
export interface BlocklistControl {
  block(prefix: string): { prefix: string; added: boolean };
  unblock(prefix: string): BlockEntry | null;
  list(): BlockEntry[];
}

export type StatValue = number | string | boolean | null;

/** Blocking by name (host-blocks.ts, wired in control-service.ts). */
export interface HostBlockControl {
  /** block-host: throws a one-line Error when NAME is refused; a failed lookup is in the result. */
  block(name: string): Promise<BlockHostResult>;
  /** unblock-host: null when NAME was not blocked. */
  unblock(name: string): RemoveResult | null;
  list(): HostBlockRow[];
  /** block-src took this (canonical) prefix. */
  sourceBlocked(prefix: string): void;
  /** unblock-src: the names that keep the entry blocked, or null when none do. */
  sourceUnblocked(text: string): { prefix: string; names: string[] } | null;
}

/** The session's parts the commands read or change; a missing hook makes its commands answer an error. */
export interface ControlBackend {
  /** The flow table (Tracer.readFlows). */
  readFlows?: () => FlowEntry[];
  /** Tracer.blocklist: null when hostflow runs without a blocklist. */
  blocklist?: BlocklistControl | null;
  /** Hostname of an address (NameIndex.nameOf). */
  nameOf?: (address: string) => string | null;
  /** Every address with a name (list-hosts). */
  listHosts?: () => Array<{ addr: string; host: string }>;
  /** Blocking by name; absent: block-host and friends answer an error. */
  hostBlocks?: HostBlockControl;
  /** Counters for `stats`, flat, snake_case keys. */
  stats?: () => Record<string, StatValue>;
}

/**
 * Counters of `stats` whose any non-zero value means events or records were
 * lost or are wrong; the others count work done. The answer says of each
 * of these whether it reports a problem, and `health` sums them up.
 */
export const PROBLEM_STATS: ReadonlySet<string> = new Set([
  'events_lost',
  'events_malformed',
  'probe_runs_skipped',
  'events_late',
  'capture_lost',
  'block_host_addrs_refused',
  'block_host_failures',
  'output_lines_dropped',
  'storage_records_refused',
  'storage_records_invalid',
  'storage_records_lost',
]);

/** The stats with `health` first: 'ok', or 'PROBLEM: events_lost, capture_lost'. */
export function withHealth(stats: Record<string, StatValue>): Record<string, StatValue> {
  const problems = Object.entries(stats).filter(([key, value]) => PROBLEM_STATS.has(key) && typeof value === 'number' && value > 0);
  return { health: problems.length === 0 ? 'ok' : `PROBLEM: ${problems.map(([key]) => key).join(', ')}`, ...stats };
}

/** One line per stat; the problem counters say ok or PROBLEM. */
function statsLines(stats: Record<string, StatValue>): string[] {
  return Object.entries(stats).map(([key, value]) => {
    const text = `${key} ${value ?? '-'}`;
    if (!PROBLEM_STATS.has(key) || typeof value !== 'number') return text;
    return `${text} ${value > 0 ? 'PROBLEM' : 'ok'}`;
  });
}

export interface AddressCount {
  addr: string;
  packets: number;
  bytes: number;
  dropped_packets: number;
  host: string | null;
}

/** Packets by source or destination address over the flow table, most packets first. */
export function countByAddress(flows: readonly FlowEntry[], end: 'src' | 'dst', nameOf?: (address: string) => string | null): AddressCount[] {
  const totals = new Map<string, AddressCount>();
  for (const flow of flows) {
    // The "other" bucket (non-IP frames) has no addresses; decodeFlows gives it '::'.
    if (flow.proto === 0 && flow.saddr === '::' && flow.daddr === '::') continue;
    const addr = end === 'src' ? flow.saddr : flow.daddr;
    let entry = totals.get(addr);
    if (!entry) {
      entry = { addr, packets: 0, bytes: 0, dropped_packets: 0, host: null };
      totals.set(addr, entry);
    }
    entry.packets += flow.packets;
    entry.bytes += flow.bytes;
    entry.dropped_packets += flow.droppedPackets ?? 0;
  }
  const sorted = [...totals.values()].sort((a, b) => b.packets - a.packets || b.bytes - a.bytes || a.addr.localeCompare(b.addr));
  for (const entry of sorted) entry.host = nameOf?.(entry.addr) ?? null;
  return sorted;
}

export interface CommandContext {
  backend: ControlBackend;
  /** The flow table, possibly cached for a moment across clients. */
  flows: () => FlowEntry[];
}

/** A hook of ControlBackend that a command cannot do without. */
type Need = 'readFlows' | 'blocklist' | 'hostBlocks' | 'listHosts' | 'stats';

/** What a command answers when a hook it needs is missing. */
const MISSING: Readonly<Record<Need, string>> = {
  readFlows: 'flows are not counted (hostflow runs with --no-flows or without interfaces)',
  blocklist: 'hostflow runs without a blocklist',
  hostBlocks: 'hostflow runs without a blocklist',
  listHosts: 'list-hosts is not available in this session',
  stats: 'stats are not available in this session',
};

/** The backend with the needed hooks present. */
type With<N extends Need> = ControlBackend & { [K in N]-?: NonNullable<ControlBackend[K]> };

/** A command's own answer: its result and text lines, or an error; runCommand names the command. */
type Reply = { result: unknown; lines: string[] } | { error: string };

export interface Command<N extends Need = Need> extends CommandSpec {
  /** The hooks it needs; without one of them it answers that hook's MISSING error. */
  needs: readonly N[];
  /** Does it (throwing is an error answer too); only block-host answers later. */
  run(request: Request, backend: With<N>, context: CommandContext): Reply | Promise<Reply>;
}

/** One row of the table; typed by what it needs, so its run sees those hooks present. */
const command = <N extends Need>(row: Command<N>): Command => row as unknown as Command;

function parseLimit(text: string | undefined): number | null {
  if (text === undefined) return Infinity;
  return /^\d{1,9}$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

function blockRow(entry: BlockEntry) {
  return { prefix: entry.prefix, packets: entry.packets, bytes: entry.bytes, added: isoMicros(entry.addedMs) };
}

/** list-src and list-dst. */
const listByAddress =
  (end: 'src' | 'dst') =>
  (request: Request, backend: With<'readFlows'>, context: CommandContext): Reply => {
    const limit = parseLimit(request.args[0]);
    if (limit === null) return { error: `usage: ${request.command.usage} (LIMIT a positive number)` };
    const rows = countByAddress(context.flows(), end, backend.nameOf).slice(0, limit);
    return {
      result: rows,
      lines: rows.map((row) => `${row.addr} packets ${row.packets} bytes ${row.bytes} dropped ${row.dropped_packets} host ${row.host ?? '-'}`),
    };
  };

/** mode and quit change the connection, so the connection (server.ts) answers them before this table is asked. */
const byConnection = (request: Request): Reply => ({ error: `'${request.command.name}' is handled by the connection` });

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  command({
    name: 'list-src',
    usage: 'list-src [LIMIT]',
    description: 'packets, bytes and drops by source address in the flow table, with hostnames',
    minArgs: 0,
    maxArgs: 1,
    needs: ['readFlows'],
    run: listByAddress('src'),
  }),
  command({
    name: 'list-dst',
    usage: 'list-dst [LIMIT]',
    description: 'packets, bytes and drops by destination address in the flow table, with hostnames',
    minArgs: 0,
    maxArgs: 1,
    needs: ['readFlows'],
    run: listByAddress('dst'),
  }),
  command({
    name: 'list-block-src',
    usage: 'list-block-src',
    description: 'blocked source prefixes with the packets and bytes each dropped',
    minArgs: 0,
    maxArgs: 0,
    needs: ['blocklist'],
    run: (_request, backend) => {
      const rows = backend.blocklist.list().map(blockRow);
      return { result: rows, lines: rows.map((row) => `${row.prefix} packets ${row.packets} bytes ${row.bytes} since ${row.added}`) };
    },
  }),
  command({
    name: 'block-src',
    usage: 'block-src ADDRESS|PREFIX',
    description: 'drop packets from this source on ingress (e.g. 192.0.2.1, 10.0.0.0/8, fd00::/64)',
    minArgs: 1,
    maxArgs: 1,
    needs: ['blocklist'],
    run: ({ args: [prefix = ''] }, backend) => {
      const result = backend.blocklist.block(prefix);
      backend.hostBlocks?.sourceBlocked(result.prefix);
      return { result, lines: [`${result.added ? 'blocked' : 'already blocked'} ${result.prefix}`] };
    },
  }),
  command({
    name: 'unblock-src',
    usage: 'unblock-src ADDRESS|PREFIX',
    description: 'remove a blocked prefix; answers what it dropped',
    minArgs: 1,
    maxArgs: 1,
    needs: ['blocklist'],
    run: ({ args: [prefix = ''] }, backend) => {
      // An address a blocked name holds stays in the blocklist: only block-src lets go of it.
      const kept = backend.hostBlocks?.sourceUnblocked(prefix);
      if (kept)
        return {
          result: { prefix: kept.prefix, kept_for: kept.names },
          lines: [`${kept.prefix} stays blocked for ${kept.names.join(',')} (unblock-host removes it)`],
        };
      const entry = backend.blocklist.unblock(prefix);
      if (!entry) return { error: `${prefix} is not blocked (list-block-src lists what is)` };
      const row = blockRow(entry);
      return { result: row, lines: [`unblocked ${row.prefix} packets ${row.packets} bytes ${row.bytes}`] };
    },
  }),
  command({
    name: 'list-block-host',
    usage: 'list-block-host',
    description: 'blocked names with the addresses blocked for each',
    minArgs: 0,
    maxArgs: 0,
    needs: ['blocklist', 'hostBlocks'],
    run: (_request, backend) => {
      const rows = backend.hostBlocks.list().map((row) => ({ name: row.name, addrs: row.addrs, refused: row.refused, since: isoMicros(row.addedMs) }));
      return { result: rows, lines: rows.map((row) => `${row.name} addrs ${row.addrs.join(',') || '-'} refused ${row.refused} since ${row.since}`) };
    },
  }),
  command({
    name: 'block-host',
    usage: 'block-host NAME',
    description: 'drop packets from every address NAME resolves to, now and later (*.example.com: every name under it)',
    minArgs: 1,
    maxArgs: 1,
    needs: ['blocklist', 'hostBlocks'],
    // Answers when its lookup does, bounded by the lookup's timeout; a name refused at once is an answer at once.
    run: ({ args: [name = ''] }, backend) => backend.hostBlocks.block(name).then((result) => ({ result, lines: blockHostLines(result) })),
  }),
  command({
    name: 'unblock-host',
    usage: 'unblock-host NAME',
    description: 'stop blocking NAME; its addresses stay blocked only where another rule needs them',
    minArgs: 1,
    maxArgs: 1,
    needs: ['blocklist', 'hostBlocks'],
    run: ({ args: [name = ''] }, backend) => {
      const removed = backend.hostBlocks.unblock(name);
      if (!removed) return { error: `${quote(name)} is not blocked (list-block-host lists what is)` };
      return {
        result: removed,
        lines: [
          `unblocked ${removed.name} released ${removed.released.join(',') || '-'}`,
          ...removed.kept.map((kept) => `kept ${kept.addr} for ${kept.for.join(',')}`),
        ],
      };
    },
  }),
  command({
    name: 'list-hosts',
    usage: 'list-hosts',
    description: 'addresses and the hostnames they stand for',
    minArgs: 0,
    maxArgs: 0,
    needs: ['listHosts'],
    run: (_request, backend) => {
      const rows = backend.listHosts();
      return { result: rows, lines: rows.map((row) => `${row.addr} ${row.host}`) };
    },
  }),
  command({
    name: 'stats',
    usage: 'stats',
    description: "the tracer's counters: records, events lost, capture",
    minArgs: 0,
    maxArgs: 0,
    needs: ['stats'],
    run: (_request, backend) => {
      const stats = withHealth(backend.stats());
      return { result: stats, lines: statsLines(stats) };
    },
  }),
  command({
    name: 'mode',
    usage: 'mode json|text',
    description: 'answer this connection in JSON lines or text',
    minArgs: 1,
    maxArgs: 1,
    needs: [],
    run: byConnection,
  }),
  command({
    name: 'help',
    usage: 'help',
    description: 'this list',
    minArgs: 0,
    maxArgs: 0,
    needs: [],
    run: () => ({
      result: COMMANDS.map(({ name, usage, description }) => ({ command: name, usage, description })),
      lines: COMMANDS.map(({ usage, description }) => `${usage.padEnd(28)} ${description}`),
    }),
  }),
  command({ name: 'quit', usage: 'quit', description: 'close the connection', minArgs: 0, maxArgs: 0, needs: [], run: byConnection }),
];

const BY_NAME = new Map(COMMANDS.map((row) => [row.name, row]));

const ok = (command: string, reply: Reply): Answer =>
  'error' in reply ? { ok: false, command, error: reply.error } : { ok: true, command, result: reply.result, lines: reply.lines };
const fail = (command: string, error: unknown): Answer => ({ ok: false, command, error: firstLine(error) });

/**
 * Runs one request through its row of COMMANDS: an answer at once, or (block-host)
 * a promise of one that never rejects. `mode` and `quit` are the connection's.
 */
export function runCommand(request: Request, context: CommandContext): Answer | Promise<Answer> {
  const name = request.command.name;
  const row = BY_NAME.get(name);
  if (!row) return fail(name, `unknown command '${quote(name)}' (try: help)`);
  const missing = row.needs.find((need) => !context.backend[need]);
  if (missing) return fail(name, MISSING[missing]);
  try {
    const reply = row.run(request, context.backend as With<Need>, context);
    return reply instanceof Promise
      ? reply.then(
          (settled) => ok(name, settled),
          (error: unknown) => fail(name, error),
        )
      : ok(name, reply);
  } catch (error) {
    return fail(name, error);
  }
}

/** runCommand, by the name the connection calls it. */
export const startCommand = runCommand;

/** The text lines of a block-host answer. */
export function blockHostLines(result: BlockHostResult): string[] {
  const lines = [
    `${result.added ? 'blocked' : 'already blocked'} ${result.name} addrs ${result.addrs.join(',') || '-'} new ${result.new_addrs.join(',') || '-'}`,
  ];
  if (result.lookup === null) lines.push('lookup skipped (a wildcard: its names are blocked as they resolve)');
  else if ('error' in result.lookup) lines.push(`lookup failed: ${result.lookup.error}`);
  else lines.push(`lookup ${result.lookup.addrs.join(',') || '-'}`);
  if (result.refused > 0) lines.push(`refused ${result.refused} addresses${result.failures.length > 0 ? `: ${result.failures.join('; ')}` : ''}`);
  if (result.addrs.length === 0) lines.push('no addresses yet: each is blocked as soon as the name resolves');
  return lines;
}
