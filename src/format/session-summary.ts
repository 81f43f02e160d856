/**
 * The session's part of the exit summary (see health.ts): records written,
 * what the kernel delivered and lost, the XDP mode of each interface, the
 * libc files traced, names found late or from server names, wire input
 * hostflow could not read, the capture and the blocklist. Pure.
 */
import type { DnsTcpStats } from '../dns/tcp-stream.js';
import { RING_LOSSES, TABLE_LOSSES, type TableLoss } from '../kernel/counters.js';
import type { ServerNameStats } from '../wire/stage.js';
import { describeSocketHooks } from '../kernel/socket-hooks.js';
import type { InterfaceChange } from '../kernel/interface-watch.js';
import { describeXdp } from '../kernel/xdp-mode.js';
import { RECORD_TYPES } from '../records/types.js';
import type { SessionSummary } from '../session.js';
import { libcSummaryLines } from '../system/libc-registry.js';
import { crowdedWarning } from './fill-levels.js';
import { byName, note, ok, plural, problem, sum, type SummaryLine } from './health.js';

export function sessionSummaryLines(summary: SessionSummary): SummaryLine[] {
  const lines: SummaryLine[] = [ok('records', `${RECORD_TYPES.map((type) => `${type} ${summary.records[type]}`).join(', ')} written`)];
  lines.push(...eventLines(summary));
  const crowded = crowdedWarning(summary.fill ?? []);
  if (crowded) lines.push(note('tables', crowded));
  for (const { name, xdp } of summary.interfaces ?? []) {
    if (!xdp) continue;
    lines.push(
      xdp.mode === 'native'
        ? ok('xdp', describeXdp(name, xdp))
        : note('xdp', `${describeXdp(name, xdp)}; ingress is counted after GRO, see the README's fallback table`),
    );
  }
  // Attached is said at start; off is a degradation the summary repeats.
  if (summary.socketHooks && !summary.socketHooks.attached)
    lines.push(note('sockets', describeSocketHooks(summary.socketHooks).replace(/^socket hooks: /, '')));
  lines.push(...interfaceLines(summary.interfaceChanges ?? []));
  for (const target of summary.tcNetlink ?? []) {
    lines.push(note('tc', `${target}: a netlink filter (no tcx on this kernel), removed on this clean exit`));
  }
  if (summary.libc && summary.libc.length > 0) lines.push(...libcSummaryLines(summary.libc, summary.libcScan ?? undefined));
  const exeDenied = summary.identity?.exeDenied ?? 0;
  if (exeDenied > 0)
    lines.push(
      note(
        'identity',
        `the executable of ${plural(exeDenied, 'process', 'processes')} could not be read (another user's, without CAP_SYS_PTRACE): their exe is null`,
      ),
    );
  lines.push(...nameLines(summary));
  lines.push(...socketLines(summary));
  if (summary.capture) {
    const { packets, lost } = summary.capture;
    lines.push(
      lost > 0
        ? problem('capture', `${lost} frames lost (capture ring full; raise --capture-ring-size or narrow --capture); ${packets} captured`)
        : ok('capture', `${packets} frames captured, none lost`),
    );
  }
  if (summary.blocked.length > 0) {
    const dropped = summary.blocked.reduce((total, entry) => total + entry.packets, 0);
    lines.push(
      ok(
        'blocklist',
        `${plural(summary.blocked.length, 'prefix', 'prefixes')} dropped ${dropped} packets (${summary.blocked.map((e) => `${e.prefix} ${e.packets}`).join(', ')})`,
      ),
    );
  }
  return lines;
}

/** The option that sizes each kernel table. */
const TABLE_OPTION: Record<TableLoss, string> = {
  sockets_full: '--socket-table-size',
  lookups_full: '--lookup-table-size',
  connecting_full: '--connect-table-size',
};

function eventLines(summary: SessionSummary): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const ringLost = Object.fromEntries(RING_LOSSES.map((name) => [name, summary.lost[name] ?? 0]));
  if (sum(ringLost) > 0) {
    lines.push(problem('events', `${sum(ringLost)} lost in the kernel, their records never written (${byName(ringLost)}): the ring buffers were full`));
  }
  const full = (Object.keys(TABLE_LOSSES) as TableLoss[]).filter((name) => (summary.lost[name] ?? 0) > 0);
  if (full.length > 0) {
    const counts = Object.fromEntries(full.map((name) => [name, summary.lost[name] ?? 0]));
    lines.push(
      problem(
        'tables',
        `${sum(counts)} records lost or closed without their process (${byName(counts)}): a kernel table was full; raise ${full.map((name) => TABLE_OPTION[name]).join(', ')}`,
      ),
    );
  }
  if (summary.malformed > 0) lines.push(problem('events', `${summary.malformed} malformed and skipped (a hostflow bug: please report it)`));
  if (summary.skippedTotal > 0) {
    lines.push(
      problem(
        'events',
        `the kernel skipped ${summary.skippedTotal} probe runs (${byName(summary.skipped)}) while another BPF program ran on the same CPU; ${summary.closesRecovered} closes the probes missed were written late (at the socket's destroy, at the reuse of its memory, or by the sweep)`,
      ),
    );
  }
  const unseen = summary.naming?.closesUnseen ?? 0;
  if (unseen > 0) {
    lines.push(
      problem(
        'events',
        `${unseen} connections ended without a close from the kernel (their socket was reused first, no probe ran for their end): no close record`,
      ),
    );
  }
  if (summary.late > 0) {
    lines.push(
      problem('events', `${summary.late} arrived after the reorder window, so a connection may lack its name or a flow its process: raise --reorder-window`),
    );
  }
  if (lines.length === 0) {
    const recovered =
      summary.closesRecovered > 0 ? `; ${summary.closesRecovered} closes the probes missed written late (at destroy, at reuse or by the sweep)` : '';
    lines.push(ok('events', `${summary.events ?? 0} delivered; none lost, malformed or late${recovered}`));
  }
  return lines;
}

/** Per interface that went away: how often, and whether it is traced again at the end. */
function interfaceLines(changes: readonly InterfaceChange[]): SummaryLine[] {
  const names = [...new Set(changes.map((change) => change.name))];
  return names.map((name) => {
    const mine = changes.filter((change) => change.name === name);
    const count = (kind: InterfaceChange['change']) => mine.filter((change) => change.change === kind).length;
    const last = mine[mine.length - 1];
    const now = last?.change === 'back' ? 'traced again' : last?.change === 'failed' ? `not traced: ${last.reason}` : 'still gone';
    const failed = count('failed') > 0 ? `, refused ${plural(count('failed'), 'time')}` : '';
    return note(
      'interfaces',
      `${name} went away ${plural(count('gone'), 'time')}, came back ${plural(count('back') + count('failed'), 'time')}${failed}; at the end ${now}`,
    );
  });
}

/** Late and server names used, and wire input that named nothing. */
function nameLines(summary: SessionSummary): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const naming = summary.naming;
  if (naming && naming.lateNamed + naming.sni + naming.http + naming.serverNamesIgnored + naming.serverNamesInvalid > 0) {
    const unused =
      naming.serverNamesIgnored + naming.serverNamesInvalid > 0
        ? `; server names not needed ${naming.serverNamesIgnored} (already named or unknown), not host names ${naming.serverNamesInvalid}`
        : '';
    lines.push(ok('names', `named late ${naming.lateNamed}, by SNI ${naming.sni}, by HTTP Host ${naming.http}${unused}`));
  }
  if (naming && naming.connectionsEvicted > 0) {
    lines.push(
      note(
        'names',
        `${naming.connectionsEvicted} connections forgotten before their end, the least recently used past 4 x --socket-table-size: named again at their close`,
      ),
    );
  }
  const namesEvicted = naming?.namesEvicted;
  if (namesEvicted && namesEvicted.process + namesEvicted.global > 0) {
    lines.push(
      note(
        'names',
        `${namesEvicted.process + namesEvicted.global} names pushed out of the name indexes, the least recently used (per process ${namesEvicted.process}: --process-cache-size; global ${namesEvicted.global}: --global-cache-size)`,
      ),
    );
  }
  if (naming && naming.unnamedEvicted > 0) {
    lines.push(note('names', `${naming.unnamedEvicted} unnamed connections stopped waiting for a late name (the oldest, pushed out by newer ones)`));
  }
  const wireSkipped = sum(summary.wireSkipped ?? {});
  if (wireSkipped > 0) lines.push(note('wire DNS', `${wireSkipped} messages seen on the wire named nothing (${byName(summary.wireSkipped ?? {})})`));
  if (summary.dnsTcp && summary.dnsTcp.segments > 0) lines.push(dnsTcpLine(summary.dnsTcp));
  const names = summary.serverNameDecode;
  if (names && names.sni + names.http + sum(names.skipped) > 0) lines.push(serverNameLine(names));
  return lines;
}

/** DNS queries seen at sockets and what became of them; UDP conversations; ClientHellos with ECH. */
function socketLines(summary: SessionSummary): SummaryLine[] {
  const sockets = summary.sockets;
  if (!sockets) return [];
  const lines: SummaryLine[] = [];
  const { seen, answered, timedOut, evicted, retries } = sockets.dnsQueries;
  if (seen > 0) {
    const read = `${seen} sent by local processes: ${answered} answered, ${timedOut} timed out${retries > 0 ? `, ${retries} sent again` : ''}`;
    lines.push(
      evicted > 0 ? note('DNS queries', `${read}; ${evicted} stopped waiting for an answer (the oldest, pushed out by newer ones)`) : ok('DNS queries', read),
    );
  }
  const { opened, ended } = sockets.udp;
  if (opened + ended > 0) {
    const quic = sockets.quicNamed > 0 ? `; ${sockets.quicNamed} named by their QUIC Initial` : '';
    const read = `${opened} UDP conversations opened, ${ended} ended${quic}`;
    lines.push(
      sockets.udp.evicted > 0
        ? note('udp', `${read}; ${sockets.udp.evicted} pushed out of the kernel's table before they ended (last datagrams uncounted): raise --udp-table-size`)
        : ok('udp', read),
    );
  }
  if (sockets.encryptedHellos > 0) {
    lines.push(
      note('ECH', `${sockets.encryptedHellos} ClientHellos with Encrypted Client Hello: their outer names name nothing (unresolved encrypted_client_hello)`),
    );
  }
  return lines;
}

function dnsTcpLine(stats: DnsTcpStats): SummaryLine {
  const read = `${stats.messages} messages from ${stats.segments} segments (${stats.duplicates} duplicate)`;
  const skipped = sum(stats.skipped);
  if (skipped === 0) return ok('DNS over TCP', read);
  return note('DNS over TCP', `${read}; ${skipped} could not be framed (${byName(stats.skipped)})`);
}

function serverNameLine(names: ServerNameStats): SummaryLine {
  const seen = `seen SNI ${names.sni}, HTTP Host ${names.http}`;
  const skipped = sum(names.skipped);
  if (skipped === 0) return ok('server names', seen);
  return note('server names', `${seen}; ${skipped} payloads named nothing (${byName(names.skipped)})`);
}
