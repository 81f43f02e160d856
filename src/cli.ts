#!/usr/bin/env node
/**
 * The hostflow command line: `hostflow [options]` traces, `hostflow doctor`
 * checks the machine. Bad options and known failures are one line on
 * stderr and a non-zero exit, never a stack trace.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runDoctor } from './doctor.js';
import { HostflowError, firstLine } from './errors.js';
import { CONNECT_PROBE_REQUESTS, type ConnectProbeRequest } from './kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS } from './kernel/tracer.js';
import { runHeadless } from './run.js';
import { privilegeProblem } from './system/capabilities.js';
import { defaultInterfaces } from './system/interfaces.js';
import { libcTargets } from './system/libc.js';

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

interface RunFlags {
  iface: string[];
  connectProbe: ConnectProbeRequest;
  libc: string[];
  defaultLibc: boolean;
  flows: boolean;
  wireDns: boolean;
  flowInterval: number;
  flowTableSize: number;
  duration?: number;
  output?: string;
  headless?: boolean;
}

export function buildProgram(): Command {
  const program = new Command('hostflow')
    .description('Which process talked to which hostname, and how much: a DNS-correlating connection tracer')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`hostflow: ${text.replace(/^error: /, '')}`) })
    .option('-i, --iface <name>', 'interface to count flows and capture DNS on (repeatable; default: the default route\'s)', collect, [])
    .addOption(new Option('--connect-probe <mode>', 'connect probe: auto picks kprobe, then fentry, then the tracepoint').choices(CONNECT_PROBE_REQUESTS).default('auto'))
    .option('--libc <path>', 'also trace getaddrinfo in this libc (repeatable)', collect, [])
    .option('--no-default-libc', 'trace only the --libc files, not the system libc')
    .option('--no-flows', 'do not count flows (XDP/TC still capture DNS unless --no-wire-dns)')
    .option('--no-wire-dns', 'do not capture DNS responses on the interfaces')
    .option('--flow-interval <seconds>', 'seconds covered by one flow record', positiveNumber, 10)
    .option('--flow-table-size <entries>', 'entries of the kernel flow table (LRU)', positiveInteger, DEFAULT_TRACER_OPTIONS.flowTableSize)
    .option('--duration <seconds>', 'trace this long, then exit cleanly', positiveNumber)
    .option('-o, --output <file>', 'append JSON lines to this file instead of stdout')
    .option('--headless', 'write JSON lines (the only mode so far)')
    .action(async (flags: RunFlags) => {
      const problem = privilegeProblem();
      if (problem) throw new HostflowError(problem);
      const interfaces = flags.iface.length > 0 ? flags.iface : defaultInterfaces();
      const code = await runHeadless({
        tracer: {
          ...DEFAULT_TRACER_OPTIONS,
          connectProbe: flags.connectProbe,
          interfaces: flags.flows || flags.wireDns ? interfaces : [],
          libcs: libcTargets(flags.libc, !flags.defaultLibc),
          flows: flags.flows,
          dnsCapture: flags.wireDns,
          flowTableSize: flags.flowTableSize,
        },
        flowIntervalSeconds: flags.flowInterval,
        durationSeconds: flags.duration,
        output: flags.output,
        log,
      });
      process.exitCode = code;
    });

  program
    .command('doctor')
    .description('check what this kernel offers hostflow, and whether it can run')
    .action(() => {
      process.exitCode = runDoctor();
    });
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    log(firstLine(error));
    if (!(error instanceof HostflowError) && process.env.HOSTFLOW_DEBUG) console.error(error);
    process.exitCode = 1;
  }
}

await main();
