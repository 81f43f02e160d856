/**
 * A stand-in for `hostflow` with --block/--control/--capture/--pcap until
 * the CLI wires them: starts a Tracer, the control server and the pcap
 * writer the way the session will, and stops them the same way (SIGINT,
 * SIGTERM or --duration: drain the rings, close the pcap file, close the
 * socket). Lookups and connects feed a small name/process index so that
 * pcapng comments carry real process and host names.
 *
 *   node dist/test/helpers/capture-runner.js -i IFACE [--control PATH]
 *     [--block CIDR]... [--capture SPEC --pcap FILE [--pcap-format pcapng]
 *     [--snaplen N] [--capture-ring BYTES]] [--duration S] [--no-flows]
 *     [--trace-libc] [--connect-probe auto|kprobe|fentry|tracepoint]
 *
 * Prints `tracing` on stderr when ready; on exit one JSON line on stdout:
 * { connectProbe, capture, written, counters, blocklist, control }.
 */
import { parseArgs } from 'node:util';
import { packetAnnotator } from '../../src/capture/annotate.js';
import { PacketDelay } from '../../src/capture/delay.js';
import { parseCaptureSpec } from '../../src/capture/filter.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { monotonicClock } from '../../src/clock.js';
import { ControlServer } from '../../src/control/server.js';
import { NameIndex } from '../../src/correlate/names.js';
import { CONNECT_PROBE_REQUESTS, type ConnectProbeRequest } from '../../src/kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS, Tracer } from '../../src/kernel/tracer.js';
import { interfaceName } from '../../src/system/interfaces.js';
import { libcTargets } from '../../src/system/libc.js';

const { values } = parseArgs({
  options: {
    iface: { type: 'string', short: 'i', multiple: true, default: [] },
    control: { type: 'string' },
    block: { type: 'string', multiple: true, default: [] },
    capture: { type: 'string' },
    pcap: { type: 'string' },
    'pcap-format': { type: 'string', default: 'pcap' },
    snaplen: { type: 'string' },
    'capture-ring': { type: 'string' },
    duration: { type: 'string' },
    'no-flows': { type: 'boolean', default: false },
    'trace-libc': { type: 'boolean', default: false },
    'connect-probe': { type: 'string', default: 'auto' },
  },
});
const connectProbe = values['connect-probe'] as string;
if (!(CONNECT_PROBE_REQUESTS as readonly string[]).includes(connectProbe)) throw new Error(`--connect-probe ${connectProbe}: expected one of ${CONNECT_PROBE_REQUESTS.join(', ')}`);

const clock = monotonicClock();
const names = new NameIndex();
/** Local end "addr|port" -> process, from connect/established events. */
const owners = new Map<string, { pid: number; comm: string }>();
const capture = values.capture ? parseCaptureSpec(values.capture) : null;
const snaplen = values.snaplen ? Number(values.snaplen) : undefined;
const ifnames = new Map<number, string>();

const writer =
  capture && values.pcap
    ? PcapWriter.open({
        path: values.pcap,
        format: values['pcap-format'] === 'pcapng' ? 'pcapng' : 'pcap',
        clock,
        snaplen,
        interfaceName: (ifindex) => interfaceName(ifindex, ifnames),
        annotate: packetAnnotator({
          nameOf: (address) => names.nameOf(address),
          processOf: (tuple) =>
            tuple.sport === null
              ? null
              : (owners.get(`${tuple.saddr}|${tuple.sport}`) ?? owners.get(`${tuple.daddr}|${tuple.dport}`) ?? null),
        }),
      })
    : null;

// As in the CLI: frames are written once the events before them are applied.
const delay = new PacketDelay(300e6, (packet) => writer?.write(packet));
const delayTimer = setInterval(() => delay.release(clock.nowNs()), 50);

const tracer = Tracer.start(
  {
    ...DEFAULT_TRACER_OPTIONS,
    connectProbe: connectProbe as ConnectProbeRequest,
    interfaces: values.iface ?? [],
    libcs: values['trace-libc'] ? libcTargets([], false) : [],
    flows: !values['no-flows'],
    dnsCapture: false,
    blocklist: values.control !== undefined,
    block: values.block ?? [],
    capture,
    snaplen,
    captureRingBytes: values['capture-ring'] ? Number(values['capture-ring']) : undefined,
  },
  {
    onEvent: (event) => {
      names.advanceTo(event.tsNs);
      if (event.kind === 'lookup' && event.ret === 0) names.learnFromProcess(event.task.pid, event.name, event.addrs, null);
      if ((event.kind === 'connect' || event.kind === 'established') && event.task.pid !== 0) {
        owners.set(`${event.tuple.saddr}|${event.tuple.sport}`, { pid: event.task.pid, comm: event.task.comm });
      }
    },
    onPacket: (packet) => delay.push(packet),
  },
);
for (const { name, ifindex } of tracer.report.interfaces) ifnames.set(ifindex, name);

const server = values.control
  ? await ControlServer.start({
      path: values.control,
      backend: {
        readFlows: () => tracer.readFlows(),
        blocklist: tracer.blocklist,
        nameOf: (address) => names.nameOf(address),
        stats: () => {
          const counters = tracer.counters();
          const captured = tracer.captureStats(counters);
          return { events_decoded: tracer.decodeStats.records, capture_packets: captured.packets, capture_lost: captured.lost, pcap_written: writer?.stats.packets ?? 0 };
        },
      },
    })
  : null;

process.stderr.write('tracing\n');
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
const timer = values.duration ? setTimeout(() => stop.abort(), Number(values.duration) * 1000) : undefined;
await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
clearTimeout(timer);

const blocklist = tracer.blocklist?.list() ?? [];
const counters = await tracer.stop();
clearInterval(delayTimer);
delay.flush();
writer?.close();
await server?.close();
process.stdout.write(
  `${JSON.stringify({ connectProbe: tracer.report.connectProbe, capture: tracer.captureStats(counters), written: writer?.stats ?? null, counters, blocklist, control: server?.stats ?? null })}\n`,
);
