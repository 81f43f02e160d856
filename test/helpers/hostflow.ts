/**
 * Running the real hostflow CLI (dist/src/cli.js) in a test, usually inside
 * a topology's client namespace, and reading back the JSON lines it wrote.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { withConnectProbe } from './connect-probe.js';
import { ManagedProcess } from './process.js';
import type { RunSummary } from '../../src/run.js';

export const CLI = join(packageRoot(), 'dist/src/cli.js');

export type JsonLine = Record<string, unknown>;

export interface StoppedHostflow {
  code: number | null;
  /** Every JSON line written (none with --format text). */
  lines: JsonLine[];
  /** The output as text. */
  text: string;
  stderr: string;
  /** The exit summary it wrote (--summary-json), null when it wrote none. */
  summary: RunSummary | null;
}

export interface RunningHostflow {
  process: ManagedProcess;
  output: string;
  /** Signals it (SIGINT unless told; a run that already ended is only waited for), then what it wrote. */
  stop(signal?: NodeJS.Signals): Promise<StoppedHostflow>;
}

export interface StartHostflowOptions {
  /** Network namespace to run in (`ip netns exec`). */
  ns?: string;
  env?: NodeJS.ProcessEnv;
  /** A command that runs node, e.g. ['nsenter', '--net=/run/netns/x']. */
  launcher?: readonly string[];
  /** Node's own options, e.g. ['--cpu-prof']. */
  nodeOptions?: readonly string[];
}

/**
 * Starts `hostflow --headless -o <tmp file> ...args` and waits until it
 * traces; with the connect probe HOSTFLOW_TEST_CONNECT_PROBE forces, unless
 * args choose one.
 */
export async function startHostflow(args: readonly string[], options: StartHostflowOptions = {}): Promise<RunningHostflow> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-test-'));
  const output = join(dir, 'records.jsonl');
  const summaryFile = join(dir, 'summary.json');
  // Under software emulation (the kernel matrix's guest) events reach user
  // space far later than on hardware: the matrix widens the reorder window.
  const reorder = process.env.HOSTFLOW_TEST_REORDER_WINDOW_MS;
  const extra = reorder && !args.includes('--reorder-window') ? ['--reorder-window', reorder] : [];
  const nodeArgs = [...(options.nodeOptions ?? []), CLI, '--headless', '-o', output, '--summary-json', summaryFile, ...extra, ...withConnectProbe(args)];
  const [command, ...launcherArgs] = [...(options.launcher ?? []), process.execPath];
  const child = ManagedProcess.start(command ?? process.execPath, [...launcherArgs, ...nodeArgs], { ns: options.ns, env: options.env });
  try {
    await child.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
  } catch (error) {
    await child.stop({ signal: 'SIGKILL' });
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    process: child,
    output,
    stop: async (signal: NodeJS.Signals = 'SIGINT') => {
      const status = child.running ? await child.stop({ signal, timeoutMs: 15_000 }) : await child.exited;
      const text = readText(output);
      const lines = args.join(' ').includes('--format text') ? [] : parseJsonLines(text);
      const summaryText = readText(summaryFile);
      rmSync(dir, { recursive: true, force: true });
      return { code: status.code, lines, text, stderr: child.output(200), summary: summaryText ? (JSON.parse(summaryText) as RunSummary) : null };
    },
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function parseJsonLines(text: string): JsonLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as JsonLine);
}

/** The summary lines of hostflow's stderr, one per line (for diagnostics and matches). */
export function summaryOf(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.includes('summary:'))
    .join('\n');
}
