/**
 * What each control command does, against the session's parts as hooks
 * (ControlBackend). Runs on the JavaScript thread; every command is a few
 * map reads or one map update, so a client can never stall the tracer for
 * long. A failure of a hook becomes an error answer, never an exception.
 */
import { isoMicros } from '../clock.js';
import type { BlockEntry } from '../kernel/blocklist.js';
import type { FlowEntry } from '../kernel/flows.js';
import type { BlockHostResult } from './block-host.js';
import type { HostBlockRow, RemoveResult } from './host-blocks.js';
import { COMMANDS, quote, type Answer, type Request } from './protocol.js';

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

const ok = (command: string, result: unknown, lines: string[]): Answer => ({ ok: true, command, result, lines });
const fail = (command: string, error: string): Answer => ({ ok: false, command, error });

function parseLimit(text: string | undefined): number | null {
  if (text === undefined) return Infinity;
  return /^\d{1,9}$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

function blockRow(entry: BlockEntry) {
  return { prefix: entry.prefix, packets: entry.packets, bytes: entry.bytes, added: isoMicros(entry.addedMs) };
}

/** Runs one request (not `mode` or `quit`, which the connection handles). */
export function runCommand(request: Request, context: CommandContext): Answer {
  const name = request.command.name;
  const { backend } = context;
  try {
    switch (name) {
      case 'list-src':
      case 'list-dst': {
        if (!backend.readFlows) return fail(name, 'flows are not counted (hostflow runs with --no-flows or without interfaces)');
        const limit = parseLimit(request.args[0]);
        if (limit === null) return fail(name, `usage: ${request.command.usage} (LIMIT a positive number)`);
        const rows = countByAddress(context.flows(), name === 'list-src' ? 'src' : 'dst', backend.nameOf).slice(0, limit);
        return ok(
          name,
          rows,
          rows.map((row) => `${row.addr} packets ${row.packets} bytes ${row.bytes} dropped ${row.dropped_packets} host ${row.host ?? '-'}`),
        );
      }
      case 'list-block-src': {
        if (!backend.blocklist) return fail(name, 'hostflow runs without a blocklist');
        const rows = backend.blocklist.list().map(blockRow);
        return ok(name, rows, rows.map((row) => `${row.prefix} packets ${row.packets} bytes ${row.bytes} since ${row.added}`));
      }
      case 'block-src': {
        if (!backend.blocklist) return fail(name, 'hostflow runs without a blocklist');
        const result = backend.blocklist.block(request.args[0] ?? '');
        backend.hostBlocks?.sourceBlocked(result.prefix);
        return ok(name, result, [`${result.added ? 'blocked' : 'already blocked'} ${result.prefix}`]);
      }
      case 'unblock-src': {
        if (!backend.blocklist) return fail(name, 'hostflow runs without a blocklist');
        // An address a blocked name holds stays in the blocklist: only block-src lets go of it.
        const kept = backend.hostBlocks?.sourceUnblocked(request.args[0] ?? '');
        if (kept) {
          return ok(name, { prefix: kept.prefix, kept_for: kept.names }, [`${kept.prefix} stays blocked for ${kept.names.join(',')} (unblock-host removes it)`]);
        }
        const entry = backend.blocklist.unblock(request.args[0] ?? '');
        if (!entry) return fail(name, `${request.args[0]} is not blocked (list-block-src lists what is)`);
        const row = blockRow(entry);
        return ok(name, row, [`unblocked ${row.prefix} packets ${row.packets} bytes ${row.bytes}`]);
      }
      case 'list-block-host': {
        if (!backend.blocklist || !backend.hostBlocks) return fail(name, 'hostflow runs without a blocklist');
        const rows = backend.hostBlocks.list().map((row) => ({ name: row.name, addrs: row.addrs, refused: row.refused, since: isoMicros(row.addedMs) }));
        return ok(name, rows, rows.map((row) => `${row.name} addrs ${row.addrs.join(',') || '-'} refused ${row.refused} since ${row.since}`));
      }
      case 'unblock-host': {
        if (!backend.blocklist || !backend.hostBlocks) return fail(name, 'hostflow runs without a blocklist');
        const removed = backend.hostBlocks.unblock(request.args[0] ?? '');
        if (!removed) return fail(name, `${quote(request.args[0] ?? '')} is not blocked (list-block-host lists what is)`);
        return ok(name, removed, [
          `unblocked ${removed.name} released ${removed.released.join(',') || '-'}`,
          ...removed.kept.map((kept) => `kept ${kept.addr} for ${kept.for.join(',')}`),
        ]);
      }
      case 'list-hosts': {
        if (!backend.listHosts) return fail(name, 'list-hosts is not available in this session');
        const rows = backend.listHosts();
        return ok(name, rows, rows.map((row) => `${row.addr} ${row.host}`));
      }
      case 'stats': {
        if (!backend.stats) return fail(name, 'stats are not available in this session');
        const stats = withHealth(backend.stats());
        return ok(name, stats, statsLines(stats));
      }
      case 'help':
        return ok(
          name,
          COMMANDS.map(({ name: command, usage, description }) => ({ command, usage, description })),
          COMMANDS.map(({ usage, description }) => `${usage.padEnd(28)} ${description}`),
        );
      default:
        return fail(name, `'${name}' is handled by the connection`);
    }
  } catch (error) {
    return fail(name, error instanceof Error ? error.message.split('\n')[0] ?? 'failed' : String(error));
  }
}

/** The text lines of a block-host answer. */
export function blockHostLines(result: BlockHostResult): string[] {
  const lines = [`${result.added ? 'blocked' : 'already blocked'} ${result.name} addrs ${result.addrs.join(',') || '-'} new ${result.new_addrs.join(',') || '-'}`];
  if (result.lookup === null) lines.push('lookup skipped (a wildcard: its names are blocked as they resolve)');
  else if ('error' in result.lookup) lines.push(`lookup failed: ${result.lookup.error}`);
  else lines.push(`lookup ${result.lookup.addrs.join(',') || '-'}`);
  if (result.refused > 0) lines.push(`refused ${result.refused} addresses${result.failures.length > 0 ? `: ${result.failures.join('; ')}` : ''}`);
  if (result.addrs.length === 0) lines.push('no addresses yet: each is blocked as soon as the name resolves');
  return lines;
}

/**
 * Runs one request, answering at once where it can: block-host waits for
 * its lookup (bounded by its timeout), every other command is runCommand.
 */
export function startCommand(request: Request, context: CommandContext): Answer | Promise<Answer> {
  const name = request.command.name;
  if (name !== 'block-host') return runCommand(request, context);
  const { backend } = context;
  if (!backend.blocklist || !backend.hostBlocks) return fail(name, 'hostflow runs without a blocklist');
  let pending: Promise<BlockHostResult>;
  try {
    pending = backend.hostBlocks.block(request.args[0] ?? '');
  } catch (error) {
    return fail(name, firstLine(error));
  }
  return pending.then(
    (result) => ok(name, result, blockHostLines(result)),
    (error: unknown) => fail(name, firstLine(error)),
  );
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? 'failed') : String(error);
}
