/**
 * The two header lines every view shows: what is traced and how fast,
 * whether the kernel lost events (loudly), and how the other sinks are
 * doing. Outside strings (interface names, sink texts) are sanitized.
 */
import { sanitize } from '../../format/sanitize.js';
import { seg, type Line, type Segment } from './frame.js';
import { formatCount } from './format.js';

/** One other sink's state, e.g. { label: 's3', text: 'backlog 3 objects', warn: false }. */
export interface SinkStatus {
  label: string;
  text: string;
  /** Shown highlighted. */
  warn: boolean;
}

export interface HeaderInfo {
  /** Each interface with its XDP mode, short: 'eth0 xdp generic (virtio_net refused native)'. */
  interfaces: readonly string[];
  /** The same in full, with the kernel's reason, for the help screen. */
  xdp: readonly string[];
  /** kprobe | fentry | tracepoint; null before the session started. */
  connectProbe: string | null;
  eventsPerSecond: number;
  recordsPerSecond: number;
  /** Events the kernel could not deliver since start. */
  lostTotal: number;
  /** Probe runs the kernel skipped (nested BPF on a CPU) since start. */
  skippedTotal: number;
  sinks: readonly SinkStatus[];
  /** A passing message (e.g. 'stopping…'), null for none. */
  notice: string | null;
}

export const EMPTY_HEADER: HeaderInfo = {
  interfaces: [],
  xdp: [],
  connectProbe: null,
  eventsPerSecond: 0,
  recordsPerSecond: 0,
  lostTotal: 0,
  skippedTotal: 0,
  sinks: [],
  notice: null,
};

const SEP = seg('  ');

export function headerLines(info: HeaderInfo, paused: boolean): [Line, Line] {
  const first: Segment[] = [seg('hostflow', 'title'), SEP];
  if (info.lostTotal > 0) first.push(seg(` LOST ${info.lostTotal} EVENTS `, 'alert'));
  else first.push(seg('lost 0', 'dim'));
  if (info.skippedTotal > 0) first.push(SEP, seg(` KERNEL SKIPPED ${info.skippedTotal} PROBE RUNS `, 'warn'));
  first.push(SEP, seg(formatCount(info.eventsPerSecond)), seg(' events/s', 'dim'), SEP, seg(formatCount(info.recordsPerSecond)), seg(' records/s', 'dim'));
  if (paused) first.push(SEP, seg(' PAUSED ', 'paused'));
  if (info.notice) first.push(SEP, seg(sanitize(info.notice), 'warn'));

  const second: Segment[] = [
    seg('if ', 'dim'),
    seg(info.interfaces.length > 0 ? info.interfaces.map(sanitize).join(', ') : 'none'),
    SEP,
    seg('connect ', 'dim'),
    seg(info.connectProbe === null ? '-' : sanitize(info.connectProbe)),
  ];
  for (const sink of info.sinks) {
    second.push(SEP, seg(`${sanitize(sink.label)} `, 'dim'), seg(sanitize(sink.text), sink.warn ? 'warn' : 'normal'));
  }
  return [first, second];
}
