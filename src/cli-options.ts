/**
 * The options of `hostflow` (tracing and doctor), as one table: each flag,
 * its help line, how its value is read and its default, taken from the
 * options object that owns it (never written here a second time). The CLI
 * declares them from this table, and a test holds the README's options
 * tables to it.
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseCaptureSpec, type CaptureSpec } from './capture/filter.js';
import { collectList, collectTypes, positiveInteger, positiveNumber } from './cli-values.js';
import { DEFAULT_CONTROL_SOCKET } from './control/server.js';
import { NAME_INDEX_DEFAULTS } from './correlate/names.js';
import { parsePrefix } from './kernel/prefix.js';
import { CONNECT_PROBE_REQUESTS } from './kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS } from './kernel/tracer.js';
import { XDP_MODE_REQUESTS } from './kernel/xdp-mode.js';
import { LABEL_LIMIT_DEFAULTS } from './metrics/label-bound.js';
import { DEFAULT_ROTATE_KEEP } from './output/line-sink.js';
import { RECORD_TYPES } from './records/types.js';
import { SESSION_DEFAULTS } from './session.js';
import { STORAGE_DEFAULTS } from './storage/options.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectIntegers(label: string, max: number) {
  return (value: string, previous: number[]): number[] => [
    ...previous,
    ...collectList(value, []).map((item) => {
      const number = Number(item);
      if (!Number.isInteger(number) || number < 0 || number > max) throw new InvalidArgumentError(`${item} is not a ${label}`);
      return number;
    }),
  ];
}

/** 1048576, 512K, 100M, 2G. */
export function byteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a size such as 100M');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 4096) throw new InvalidArgumentError('must be at least 4K');
  return bytes;
}

function collectPrefixes(value: string, previous: string[]): string[] {
  const prefixes = collectList(value, []);
  for (const prefix of prefixes) {
    try {
      parsePrefix(prefix);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  return [...previous, ...prefixes];
}

function captureSpec(value: string): CaptureSpec {
  try {
    return parseCaptureSpec(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export interface OptionSpec {
  /** Commander's flags: '-i, --iface <name>', '--no-flows'. */
  flags: string;
  description: string;
  /** Reads one value (and, for repeatable options, adds it to the ones before). */
  parse?: (value: string, previous: never) => unknown;
  choices?: readonly string[];
  /** From the options object that owns it; undefined for none. */
  default?: unknown;
}

export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '-i, --iface <name>',
    description: "interface to count flows and capture DNS on (repeatable; default: the default route's)",
    parse: collect,
    default: [],
  },
  {
    flags: '--xdp-mode <mode>',
    description: 'XDP mode: auto takes native where the driver accepts it, else generic',
    choices: XDP_MODE_REQUESTS,
    default: 'auto',
  },
  {
    flags: '--connect-probe <mode>',
    description: 'connect probe: auto picks kprobe, then fentry, then the tracepoint',
    choices: CONNECT_PROBE_REQUESTS,
    default: 'auto',
  },
  { flags: '--libc <path>', description: 'also trace getaddrinfo in this libc (repeatable)', parse: collect, default: [] },
  { flags: '--no-default-libc', description: 'trace only the --libc files: not the system libc, no discovery' },
  { flags: '--no-libc-discovery', description: 'trace the system libc and the --libc files only, not every libc processes map' },
  { flags: '--no-flows', description: 'do not count flows (XDP/TC still capture DNS unless --no-wire-dns)' },
  { flags: '--no-wire-dns', description: 'do not capture DNS responses on the interfaces' },
  {
    flags: '--no-socket-hooks',
    description: 'no cgroup socket hooks: DNS read at the interfaces without its process, no udp records',
  },
  {
    flags: '--udp-table-size <entries>',
    description: 'UDP conversations the kernel counts at once (LRU: past it, the oldest ends uncounted)',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.udpTableSize,
  },
  { flags: '--no-server-names', description: 'do not copy TLS ClientHellos and HTTP request heads on egress (no names from SNI or Host)' },
  {
    flags: '--payload-ring-size <size>',
    description: 'kernel ring buffer for ClientHellos and HTTP request heads (a power of 2, e.g. 4M)',
    parse: byteSize,
    default: DEFAULT_TRACER_OPTIONS.payloadRingBytes,
  },
  {
    flags: '--flow-interval <seconds>',
    description: 'seconds covered by one flow record',
    parse: positiveNumber,
    default: SESSION_DEFAULTS.flowIntervalSeconds,
  },
  {
    flags: '--flow-table-size <entries>',
    description: 'entries of the kernel flow table (LRU)',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.flowTableSize,
  },
  {
    flags: '--socket-table-size <entries>',
    description:
      'TCP connections the kernel follows at once (LRU: past it, the longest idle one closes without its process); user space tracks 4 times as many',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.socketTableSize,
  },
  {
    flags: '--lookup-table-size <entries>',
    description: 'getaddrinfo calls in flight the kernel follows at once (LRU: past it, lookups are lost)',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.lookupTableSize,
  },
  {
    flags: '--connect-table-size <entries>',
    description: 'connect calls in flight the kernel follows at once in kprobe mode (LRU: past it, connects are lost)',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.connectTableSize,
  },
  { flags: '--duration <seconds>', description: 'trace this long, then exit cleanly', parse: positiveNumber },
  { flags: '-o, --output <file>', description: 'append records to this file instead of stdout' },
  { flags: '--rotate-size <size>', description: 'rotate the output file before it grows past this size (e.g. 100M)', parse: byteSize },
  { flags: '--rotate-keep <count>', description: 'rotated output files kept', parse: positiveInteger, default: DEFAULT_ROTATE_KEEP },
  { flags: '--format <format>', description: 'json: one JSON object per line; text: one readable line per record', choices: ['json', 'text'], default: 'json' },
  { flags: '--ui', description: 'open the terminal UI (the default when stdout is a terminal)' },
  { flags: '--headless', description: 'write records to stdout or --output, never the UI' },
  {
    flags: '--pid <pids>',
    description: 'only records of these processes (repeatable, comma-separated)',
    parse: collectIntegers('pid', 2 ** 32 - 1),
    default: [],
  },
  { flags: '--comm <names>', description: 'only records of processes with these names (repeatable, comma-separated)', parse: collectList, default: [] },
  { flags: '--host <globs>', description: "only records whose hostname matches one of these globs, e.g. '*.example.com'", parse: collectList, default: [] },
  { flags: '--port <ports>', description: 'only records with one of these ports at either end', parse: collectIntegers('port', 65535), default: [] },
  { flags: '--type <types>', description: `only these record types (${RECORD_TYPES.join(',')})`, parse: collectTypes, default: [] },
  {
    flags: '--dns-min-ttl <seconds>',
    description: 'shortest time a name stays attached to an address (and the time for lookups without a TTL)',
    parse: positiveNumber,
    default: NAME_INDEX_DEFAULTS.minTtlSeconds,
  },
  {
    flags: '--process-cache-size <entries>',
    description: 'entries of the per-process (pid, address) name index',
    parse: positiveInteger,
    default: NAME_INDEX_DEFAULTS.processEntries,
  },
  {
    flags: '--global-cache-size <entries>',
    description: 'entries of the global address name index',
    parse: positiveInteger,
    default: NAME_INDEX_DEFAULTS.globalEntries,
  },
  {
    flags: '--reorder-window <ms>',
    description: 'how long events wait for older ones from other CPUs and rings before correlation (raise it on a slow or overloaded machine)',
    parse: positiveNumber,
    default: SESSION_DEFAULTS.reorderWindowMs,
  },
  {
    flags: '--late-name-window <ms>',
    description: 'how long after a connection opened unnamed a DNS answer for its address still names it',
    parse: positiveNumber,
    default: SESSION_DEFAULTS.lateNameWindowMs,
  },
  {
    flags: '--dns-timeout <seconds>',
    description: 'how long a DNS query a local process sent waits for its answer before it is a TIMEOUT lookup',
    parse: positiveNumber,
    default: SESSION_DEFAULTS.dnsTimeoutSeconds,
  },
  {
    flags: '--udp-idle <seconds>',
    description: 'a UDP conversation without a datagram this long ends (its close record is written)',
    parse: positiveNumber,
    default: SESSION_DEFAULTS.udpIdleSeconds,
  },
  { flags: '--cmdline', description: "add each process's command line to its records (cut at 256 bytes; off by default: it can hold secrets)" },
  { flags: '--trace-self', description: "also trace hostflow's own lookups and connections" },
  {
    flags: '--block <prefixes>',
    description: 'drop packets from these source addresses or CIDRs in XDP (repeatable, comma-separated)',
    parse: collectPrefixes,
    default: [],
  },
  { flags: '--control <path>', description: 'control socket for hostflow ctl', default: DEFAULT_CONTROL_SOCKET },
  { flags: '--no-control', description: 'no control socket (and no run-time blocklist unless --block)' },
  {
    flags: '--control-group <group>',
    description: "open the control socket to this group's members too (mode 0660), so hostflow ctl works for them without root",
  },
  { flags: '--pcap <file>', description: 'write captured packets to this file' },
  { flags: '--capture <spec>', description: "what --pcap captures: dropped, all, or a filter such as 'udp and port 53' (default: all)", parse: captureSpec },
  {
    flags: '--pcap-format <format>',
    description: 'classic pcap, or pcapng with the process and hostname as a comment per packet',
    choices: ['pcap', 'pcapng'],
    default: 'pcap',
  },
  {
    flags: '--snaplen <bytes>',
    description: 'bytes of each packet captured (longer ones keep their real length)',
    parse: positiveInteger,
    default: DEFAULT_TRACER_OPTIONS.snaplen,
  },
  {
    flags: '--capture-ring-size <size>',
    description: 'kernel ring buffer for captured packets (a power of 2, e.g. 16M)',
    parse: byteSize,
    default: DEFAULT_TRACER_OPTIONS.captureRingBytes,
  },
  { flags: '--storage-bucket <bucket>', description: "also upload records to this S3 bucket (credentials: the AWS SDK's default chain)" },
  { flags: '--storage-endpoint <url>', description: 'S3-compatible endpoint (path-style addressing)' },
  { flags: '--storage-region <region>', description: 'S3 region' },
  { flags: '--storage-dir <dir>', description: 'write the same objects to this local directory instead of S3' },
  { flags: '--storage-prefix <prefix>', description: 'key prefix in the bucket', default: STORAGE_DEFAULTS.prefix },
  {
    flags: '--storage-format <format>',
    description: 'object format: gzip NDJSON or Parquet',
    choices: ['ndjson', 'parquet'],
    default: STORAGE_DEFAULTS.format,
  },
  {
    flags: '--storage-flush-interval <seconds>',
    description: 'seconds a batch stays open before it is uploaded',
    parse: positiveNumber,
    default: STORAGE_DEFAULTS.flushIntervalSeconds,
  },
  { flags: '--storage-max-object-mb <mb>', description: 'largest object written', parse: positiveNumber, default: STORAGE_DEFAULTS.maxObjectMb },
  {
    flags: '--output-follows-storage',
    description:
      'write --output lines once their records are in the spool, so that after a crash the file and the bucket hold the same records (lines come up to --storage-flush-interval late)',
  },
  { flags: '--spool-dir <dir>', description: 'batches wait here until uploaded (survives crashes)', default: STORAGE_DEFAULTS.spoolDir },
  {
    flags: '--spool-max-mb <mb>',
    description: 'spool size at which new records are refused (counted and reported)',
    parse: positiveNumber,
    default: STORAGE_DEFAULTS.spoolMaxMb,
  },
  { flags: '--metrics <addr>', description: 'serve Prometheus metrics at http://ADDR/metrics: HOST:PORT, or :PORT for 127.0.0.1 only' },
  {
    flags: '--metrics-processes <count>',
    description: 'process names with metrics series of their own; later ones are folded into comm="(other)"',
    parse: positiveInteger,
    default: LABEL_LIMIT_DEFAULTS.processes,
  },
  {
    flags: '--metrics-hostnames <count>',
    description: 'hostnames with metrics series of their own, per process name; later ones are folded into host="(other)"',
    parse: positiveInteger,
    default: LABEL_LIMIT_DEFAULTS.hostnamesPerProcess,
  },
  { flags: '--summary-json <file>', description: 'also write the exit summary to this file as one JSON object' },
];

/** A commander Option of a spec. */
export function commanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) option.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.default !== undefined) option.default(spec.default);
  return option;
}

/** How a default reads in the README: sizes as 16M, the rest as they are. */
export function defaultText(spec: OptionSpec): string | null {
  const value = spec.default;
  if (value === undefined || Array.isArray(value) || typeof value === 'boolean') return null;
  if (spec.parse === byteSize && typeof value === 'number') {
    for (const [unit, size] of [
      ['G', 1024 ** 3],
      ['M', 1024 ** 2],
      ['K', 1024],
    ] as const)
      if (value % size === 0) return `${value / size}${unit}`;
  }
  return String(value);
}
