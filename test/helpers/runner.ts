/**
 * The capture runner (capture-runner.ts) as a child process, usually in a
 * topology's client namespace: started until it traces, stopped with a
 * signal, its summary line parsed.
 */
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { forcedConnectProbe, withConnectProbe } from './connect-probe.js';
import { ManagedProcess } from './process.js';

export const RUNNER = join(packageRoot(), 'dist/test/helpers/capture-runner.js');

export interface RunnerSummary {
  /** The connect probe mode that attached. */
  connectProbe: string;
  capture: { packets: number; bytes: number; lost: number; malformed: number };
  written: { packets: number; fileBytes: number; annotated: number; annotateErrors: number } | null;
  counters: Record<string, number>;
  blocklist: Array<{ prefix: string; packets: number; bytes: number }>;
  control: { connections: number; open: number; requests: number; errors: number } | null;
}

export interface RunningRunner {
  process: ManagedProcess;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; summary: RunnerSummary; output: string }>;
}

/** Starts the runner with the connect probe HOSTFLOW_TEST_CONNECT_PROBE forces, and waits until it traces. */
export async function startRunner(args: readonly string[], options: { ns?: string } = {}): Promise<RunningRunner> {
  const child = ManagedProcess.start(process.execPath, [RUNNER, ...withConnectProbe(args)], { ns: options.ns });
  try {
    await child.waitForLine(/^tracing$/, { stream: 'stderr', timeoutMs: 30_000 });
  } catch (error) {
    await child.stop({ signal: 'SIGKILL' });
    throw error;
  }
  return {
    process: child,
    stop: async (signal: NodeJS.Signals = 'SIGINT') => {
      const status = child.running ? await child.stop({ signal, timeoutMs: 15_000 }) : await child.exited;
      const line = child
        .output(2000)
        .split('\n')
        .reverse()
        .find((candidate) => candidate.startsWith('{"connectProbe"'));
      if (!line) throw child.failure('printed no summary');
      const summary = JSON.parse(line) as RunnerSummary;
      const forced = forcedConnectProbe();
      if (forced !== undefined && summary.connectProbe !== forced) throw child.failure(`attached connect probe ${summary.connectProbe}, not the forced ${forced}`);
      return { code: status.code, summary, output: child.output(50) };
    },
  };
}
