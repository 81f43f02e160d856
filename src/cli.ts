#!/usr/bin/env node
/**
 * The hostflow command line: `hostflow [options]` traces, `hostflow doctor`
 * checks the machine. Bad options and known failures are one line on
 * stderr and a non-zero exit, never a stack trace.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runDoctor } from './doctor.js';
import { HostflowError, firstLine } from './errors.js';
import { CONNECT_PROBE_REQUESTS } from './kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS } from './kernel/tracer.js';
import { XDP_MODE_REQUESTS } from './kernel/xdp-mode.js';
import { RECORD_TYPES, type RecordType } from './records/types.js';
import { runHostflow } from './run.js';
import { headless } from './headless.js';
import { planRun, type RunFlags } from './run-plan.js';
import { DEFAULT_LATE_NAME_WINDOW_MS } from './correlate/correlator.js';
import { parseCaptureSpec, type CaptureSpec } from './capture/filter.js';
import { DEFAULT_CONTROL_SOCKET } from './control/server.js';
import { runCtl } from './control/client.js';
import { CAPTURE_MAX } from './kernel/layout.js';
import { parsePrefix } from './kernel/prefix.js';
import { STORAGE_DEFAULTS } from './storage/index.js';
import { terminalUi } from './ui/run-ui.js';

const log = (line: string) => process.stderr.write(`hostflow: ${line}\n`);

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
}

function positiveInteger(value: string): number {
  const number = positiveNumber(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('must be a positive integer');
  return number;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Repeatable, and each value may be a comma-separated list. */
function collectList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((item) => item.trim()).filter(Boolean)];
}

function collectIntegers(label: string, max: number) {
  return (value: string, previous: number[]): number[] =>
    [...previous, ...collectList(value, []).map((item) => {
      const number = Number(item);
      if (!Number.isInteger(number) || number < 0 || number > max) throw new InvalidArgumentError(`${item} is not a ${label}`);
      return number;
    })];
}

function collectTypes(value: string, previous: RecordType[]): RecordType[] {
  return [...previous, ...collectList(value, []).map((item) => {
    if (!(RECORD_TYPES as readonly string[]).includes(item)) throw new InvalidArgumentError(`${item} is not one of ${RECORD_TYPES.join(', ')}`);
    return item as RecordType;
  })];
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


export function buildProgram(): Command {
  const program = new Command('hostflow')
    .description('Which process talked to which hostname, and how much: a DNS-correlating connection tracer')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`hostflow: ${text.replace(/^error: /, '')}`) })
    .option('-i, --iface <name>', 'interface to count flows and capture DNS on (repeatable; default: the default route\'s)', collect, [])
    .addOption(new Option('--xdp-mode <mode>', 'XDP mode: auto takes native where the driver accepts it, else generic').choices(XDP_MODE_REQUESTS).default('auto'))
    .addOption(new Option('--connect-probe <mode>', 'connect probe: auto picks kprobe, then fentry, then the tracepoint').choices(CONNECT_PROBE_REQUESTS).default('auto'))
    .option('--libc <path>', 'also trace getaddrinfo in this libc (repeatable)', collect, [])
    .option('--no-default-libc', 'trace only the --libc files: not the system libc, no discovery')
    .option('--no-libc-discovery', 'trace the system libc and the --libc files only, not every libc processes map')
    .option('--no-flows', 'do not count flows (XDP/TC still capture DNS unless --no-wire-dns)')
    .option('--no-wire-dns', 'do not capture DNS responses on the interfaces')
    .option('--flow-interval <seconds>', 'seconds covered by one flow record', positiveNumber, 10)
    .option('--flow-table-size <entries>', 'entries of the kernel flow table (LRU)', positiveInteger, DEFAULT_TRACER_OPTIONS.flowTableSize)
    .option('--duration <seconds>', 'trace this long, then exit cleanly', positiveNumber)
    .option('-o, --output <file>', 'append records to this file instead of stdout')
    .option('--rotate-size <size>', 'rotate the output file before it grows past this size (e.g. 100M)', byteSize)
    .option('--rotate-keep <count>', 'rotated output files kept', positiveInteger, 5)
    .addOption(new Option('--format <format>', 'json: one JSON object per line; text: one readable line per record').choices(['json', 'text']).default('json'))
    .option('--ui', 'open the terminal UI (the default when stdout is a terminal)')
    .option('--headless', 'write records to stdout or --output, never the UI')
    .option('--pid <pids>', 'only records of these processes (repeatable, comma-separated)', collectIntegers('pid', 2 ** 32 - 1), [])
    .option('--comm <names>', 'only records of processes with these names (repeatable, comma-separated)', collectList, [])
    .option('--host <globs>', 'only records whose hostname matches one of these globs, e.g. \'*.example.com\'', collectList, [])
    .option('--port <ports>', 'only records with one of these ports at either end', collectIntegers('port', 65535), [])
    .option('--type <types>', `only these record types (${RECORD_TYPES.join(',')})`, collectTypes, [])
    .option('--dns-min-ttl <seconds>', 'shortest time a name stays attached to an address (and the time for lookups without a TTL)', positiveNumber, 300)
    .option('--process-cache-size <entries>', 'entries of the per-process (pid, address) name index', positiveInteger, 65536)
    .option('--global-cache-size <entries>', 'entries of the global address name index', positiveInteger, 65536)
    .option('--reorder-window <ms>', 'how long events wait for older ones from other CPUs and rings before correlation (raise it on a slow or overloaded machine)', positiveNumber, 250)
    .option('--late-name-window <ms>', 'how long after a connection opened unnamed a DNS answer for its address still names it', positiveNumber, DEFAULT_LATE_NAME_WINDOW_MS)
    .option('--trace-self', 'also trace hostflow\'s own lookups and connections')
    .option('--block <prefixes>', 'drop packets from these source addresses or CIDRs in XDP (repeatable, comma-separated)', collectPrefixes, [])
    .option('--control <path>', 'control socket for hostflow ctl', DEFAULT_CONTROL_SOCKET)
    .option('--no-control', 'no control socket (and no run-time blocklist unless --block)')
    .option('--pcap <file>', 'write captured packets to this file')
    .option('--capture <spec>', 'what --pcap captures: dropped, all, or a filter such as \'udp and port 53\' (default: all)', captureSpec)
    .addOption(new Option('--pcap-format <format>', 'classic pcap, or pcapng with the process and hostname as a comment per packet').choices(['pcap', 'pcapng']).default('pcap'))
    .option('--snaplen <bytes>', 'bytes of each packet captured (longer ones keep their real length)', positiveInteger, CAPTURE_MAX)
    .option('--capture-ring-size <size>', 'kernel ring buffer for captured packets (a power of 2, e.g. 16M)', byteSize, 16 << 20)
    .option('--storage-bucket <bucket>', 'also upload records to this S3 bucket (credentials: the AWS SDK\'s default chain)')
    .option('--storage-endpoint <url>', 'S3-compatible endpoint (path-style addressing)')
    .option('--storage-region <region>', 'S3 region')
    .option('--storage-dir <dir>', 'write the same objects to this local directory instead of S3')
    .option('--storage-prefix <prefix>', 'key prefix in the bucket', STORAGE_DEFAULTS.prefix)
    .addOption(new Option('--storage-format <format>', 'object format: gzip NDJSON or Parquet').choices(['ndjson', 'parquet']).default(STORAGE_DEFAULTS.format))
    .option('--storage-flush-interval <seconds>', 'seconds a batch stays open before it is uploaded', positiveNumber, STORAGE_DEFAULTS.flushIntervalSeconds)
    .option('--storage-max-object-mb <mb>', 'largest object written', positiveNumber, STORAGE_DEFAULTS.maxObjectMb)
    .option('--spool-dir <dir>', 'batches wait here until uploaded (survives crashes)', STORAGE_DEFAULTS.spoolDir)
    .option('--spool-max-mb <mb>', 'spool size at which new records are refused (counted and reported)', positiveNumber, STORAGE_DEFAULTS.spoolMaxMb)
    .option('--summary-json <file>', 'also write the exit summary to this file as one JSON object')
    .action(async (flags: RunFlags) => {
      const plan = planRun(flags, log);
      const frontEnd = plan.ui
        ? terminalUi({ flowIntervalSeconds: flags.flowInterval, output: flags.output ? { line: plan.output, format: flags.format } : undefined })
        : headless(plan.output, flags.format);
      process.exitCode = await runHostflow({ plan, frontEnd, durationSeconds: flags.duration, summaryJson: flags.summaryJson, log });
    });

  program
    .command('doctor')
    .description('check what this kernel offers hostflow, and that a start with these options (given before `doctor`) attaches')
    .action(async () => {
      process.exitCode = await runDoctor(program.opts<RunFlags>());
    });
  return program;
}

async function main(): Promise<void> {
  // `hostflow ctl ...` is the control socket's client: no privileges, no tracing, its own arguments.
  if (process.argv[2] === 'ctl') {
    process.exitCode = await runCtl(process.argv.slice(3));
    return;
  }
  // The SDK warns on every Node 20 start about its future releases; the
  // lock file pins the one hostflow was tested with, so the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    log(firstLine(error));
    if (!(error instanceof HostflowError) && process.env.HOSTFLOW_DEBUG) console.error(error);
    process.exitCode = 1;
  }
}

await main();
