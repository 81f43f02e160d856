/**
 * A headless tracing session: starts the tracer, writes one JSON line per
 * event and, every flow interval, one per active flow; on SIGINT, SIGTERM
 * or --duration it drains the rings, writes the last interval and a
 * one-line summary on stderr.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { monotonicClock } from './clock.js';
import { FlowIntervals } from './flows/intervals.js';
import type { KernelEvent } from './kernel/decode.js';
import { Tracer, type TracerOptions } from './kernel/tracer.js';
import { eventJson, flowJson } from './output/event-json.js';
import { interfaceName } from './system/interfaces.js';

export interface RunOptions {
  tracer: TracerOptions;
  /** Seconds per flow record. @default 10 */
  flowIntervalSeconds: number;
  /** Stop after this many seconds; undefined runs until a signal. */
  durationSeconds: number | undefined;
  /** File to append JSON lines to; undefined writes to stdout. */
  output: string | undefined;
  log: (line: string) => void;
}

export async function runHeadless(options: RunOptions): Promise<number> {
  const clock = monotonicClock();
  const sink: NodeJS.WritableStream | WriteStream = options.output ? createWriteStream(options.output, { flags: 'a' }) : process.stdout;
  const counts = new Map<string, number>();
  const write = (object: Record<string, unknown>) => {
    const kind = String(object.event);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    sink.write(`${JSON.stringify(object)}\n`);
  };

  let ifnames = new Map<number, string>();
  const nameOf = (ifindex: number) => interfaceName(ifindex, ifnames);
  const onEvent = (event: KernelEvent) => write(eventJson(event, clock, nameOf));

  const tracer = Tracer.start(options.tracer, onEvent);
  ifnames = new Map(tracer.report.interfaces.map(({ name, ifindex }) => [ifindex, name]));
  const { report } = tracer;
  const rejected = report.rejected.map((r) => `${r.mode}: ${r.reason}`).join('; ');
  options.log(`connect probe: ${report.connectProbe}${rejected ? ` (not used: ${rejected})` : ''}`);
  options.log(`interfaces: ${report.interfaces.map((i) => i.name).join(', ') || 'none'}; libc: ${report.libcs.join(', ') || 'none'}; tracefs: ${report.tracefs.path}${report.tracefs.mounted ? ' (mounted)' : ''}`);
  for (const link of report.links) if (link.kind === 'tc-netlink') options.log(`${link.target}: TC egress via netlink (no tcx here): removed on clean exit only`);

  const intervals = new FlowIntervals();
  let intervalStart = clock.nowNs();
  const flushFlows = () => {
    if (!options.tracer.flows || report.interfaces.length === 0) return;
    const end = clock.nowNs();
    for (const flow of intervals.next(tracer.readFlows(), intervalStart, end)) write(flowJson(flow, clock, nameOf));
    intervalStart = end;
  };
  const flowTimer = setInterval(flushFlows, options.flowIntervalSeconds * 1000);

  const stopSignal = new AbortController();
  const stop = () => stopSignal.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const durationTimer = options.durationSeconds !== undefined ? setTimeout(stop, options.durationSeconds * 1000) : undefined;
  options.log('tracing; Ctrl-C to stop');
  if (!stopSignal.signal.aborted) await once(stopSignal.signal, 'abort');

  clearInterval(flowTimer);
  clearTimeout(durationTimer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const counters = tracer.counters();
  flushFlows();
  await tracer.stop();
  if (sink !== process.stdout) {
    (sink as WriteStream).end();
    await once(sink as WriteStream, 'finish');
  }
  const lost = Object.entries(counters).filter(([name, value]) => name.startsWith('drop_') && value > 0);
  const lostTotal = lost.reduce((sum, [, value]) => sum + value, 0);
  const written = [...counts.entries()].map(([kind, count]) => `${kind} ${count}`).join(', ') || 'nothing';
  options.log(
    `summary: ${written}; events lost ${lostTotal}${lost.length ? ` (${lost.map(([n, v]) => `${n} ${v}`).join(', ')})` : ''}; malformed ${tracer.decodeStats.malformed}`,
  );
  return 0;
}
