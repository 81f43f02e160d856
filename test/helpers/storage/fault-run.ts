/**
 * The real hostflow CLI for the fault tests, with the output file, spool
 * and control socket where the test puts them (a small disk, a folder kept
 * across runs), a workload of loopback TCP connections from this process,
 * and `ctl stats` read while it runs.
 */
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { withConnectProbe } from '../connect-probe.js';
import { CLI } from '../hostflow.js';
import { ManagedProcess, run } from '../process.js';
import type { RunSummary } from '../../../src/run.js';

export interface FaultRun {
  process: ManagedProcess;
  /** Its counters, as `hostflow ctl stats --json` answers. */
  stats(): Promise<Record<string, number | string>>;
  /** SIGINT and the exit status; the summary it wrote. */
  stop(): Promise<{ code: number | null; stderr: string; summary: RunSummary | null }>;
}

/** Starts `hostflow --headless -o output --control socket --summary-json summary ...args` and waits until it traces. */
export async function startFaultRun(
  options: { output: string; socket: string; summaryJson: string; env?: NodeJS.ProcessEnv },
  args: readonly string[],
): Promise<FaultRun> {
  const child = ManagedProcess.start(
    process.execPath,
    [CLI, '--headless', '-o', options.output, '--control', options.socket, '--summary-json', options.summaryJson, ...withConnectProbe(args)],
    { env: options.env },
  );
  try {
    await child.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
  } catch (error) {
    await child.stop({ signal: 'SIGKILL' });
    throw error;
  }
  return {
    process: child,
    stats: async () => {
      const result = await run(process.execPath, [CLI, 'ctl', '--socket', options.socket, '--json', 'stats']);
      return (JSON.parse(result.stdout) as { result: Record<string, number | string> }).result;
    },
    stop: async () => {
      const status = child.running ? await child.stop({ signal: 'SIGINT', timeoutMs: 30_000 }) : await child.exited;
      let summary: RunSummary | null = null;
      try {
        summary = JSON.parse(readFileSync(options.summaryJson, 'utf8')) as RunSummary;
      } catch {
        summary = null;
      }
      return { code: status.code, stderr: child.output(200), summary };
    },
  };
}

/** A loopback TCP server that answers one byte and closes: each connection to it is one conn record per end. */
export async function startEchoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((socket) => socket.end('x'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `count` connections to the port, `parallel` at a time, each read to its end. */
export async function connections(port: number, count: number, parallel = 10): Promise<void> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('data', () => undefined);
      socket.once('end', () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
  for (let done = 0; done < count; done += parallel) await Promise.all(Array.from({ length: Math.min(parallel, count - done) }, one));
}

/** Waits until `check` holds, polling every 100 ms; throws with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
