#!/usr/bin/env node
/**
 * The hostflow command line: `hostflow [options]` traces, `hostflow doctor`
 * checks the machine, `hostflow query` and `hostflow schema` read what
 * storage wrote. Bad options and known failures are one line on
 * stderr and a non-zero exit, never a stack trace.
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { RUN_OPTIONS, commanderOption } from './cli-options.js';
import { runDoctor } from './doctor.js';
import { HostflowError, firstLine } from './errors.js';
import { runHostflow } from './run.js';
import { headless } from './headless.js';
import { planRun, type RunFlags } from './run-plan.js';
import { runCtl } from './control/client.js';
import { MissingCapabilityError } from './system/capabilities.js';

const log = (line: string) => process.stderr.write(`hostflow: ${line}\n`);

/**
 * The tracer's live heap is bounded by its tables; V8 lets the heap grow to
 * up to four times the live size between full collections when it judges
 * collection cheap, and a tracer allocating a record per event made it do
 * just that: 400 MB resident for under 100 MB live at 5 k connections/s.
 * Growing by half the live size at most held it near 230 MB, for 5-20% more
 * CPU in our runs (bench/README.md, the soak). V8 reads it whenever it sets
 * the next limit, so setting it at start is enough (measured: it takes).
 */
function holdHeapNearLive(): void {
  setFlagsFromString('--heap-growing-percent=50');
}

export function buildProgram(): Command {
  const program = new Command('hostflow')
    .description('Which process talked to which hostname, and how much: a DNS-correlating connection tracer')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`hostflow: ${text.replace(/^error: /, '')}`) });
  for (const spec of RUN_OPTIONS) program.addOption(commanderOption(spec));
  program.action(async (flags: RunFlags) => {
    const plan = planRun(flags, log);
    holdHeapNearLive();
    // The terminal UI is loaded only for a terminal: headless, it is memory for nothing.
    const frontEnd = plan.ui
      ? (await import('./ui/run-ui.js')).terminalUi({
          flowIntervalSeconds: flags.flowInterval,
          output: flags.output ? { line: plan.output, format: flags.format } : undefined,
        })
      : headless(plan.output, flags.format);
    process.exitCode = await runHostflow({ plan, frontEnd, durationSeconds: flags.duration, summaryJson: flags.summaryJson, log });
  });

  program
    .command('doctor')
    .description('check what this kernel offers hostflow, and that a start with these options (given before `doctor`) attaches')
    .action(async () => {
      process.exitCode = await runDoctor(program.opts<RunFlags>());
    });
  program.addHelpText(
    'after',
    '\nAlso:\n  hostflow ctl ...        the control socket of a running hostflow (hostflow ctl help)\n  hostflow query ...      SQL over stored records (hostflow query --help)\n  hostflow schema ...     CREATE statements for Athena, Trino, Spark, DuckDB (hostflow schema --help)',
  );
  return program;
}

async function main(): Promise<void> {
  // `hostflow ctl ...` is the control socket's client: no privileges, no tracing, its own arguments.
  if (process.argv[2] === 'ctl') {
    process.exitCode = await runCtl(process.argv.slice(3));
    return;
  }
  // `query` and `schema` read what storage wrote: their own flags, and DuckDB loaded only for them.
  if (process.argv[2] === 'query') {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    process.exitCode = await (await import('./query/cli.js')).runQueryCli(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'schema') {
    process.exitCode = (await import('./schema/cli.js')).runSchemaCli(process.argv.slice(3));
    return;
  }
  // The SDK warns on every Node 20 start about its future releases; the
  // lock file pins the one hostflow was tested with, so the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    // A missing capability is one line each; every other error is one line.
    for (const line of error instanceof MissingCapabilityError ? error.message.split('\n') : [firstLine(error)]) log(line);
    if (!(error instanceof HostflowError) && process.env.HOSTFLOW_DEBUG) console.error(error);
    process.exitCode = 1;
  }
}

await main();
