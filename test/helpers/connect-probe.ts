/**
 * The connect probe mode the privileged tests force on every hostflow they
 * start: HOSTFLOW_TEST_CONNECT_PROBE=kprobe|fentry|tracepoint. The kernel
 * matrix (scripts/kernel-matrix) runs the privileged files once per mode on
 * kernels that have all three, so each mode goes through the same
 * assertions; unset, hostflow picks its own (`auto`). The one place that
 * reads the variable.
 */
import { ConnectProbe, type ConnectProbeName } from '../../src/kernel/layout.js';

export const CONNECT_PROBE_ENV = 'HOSTFLOW_TEST_CONNECT_PROBE';

const MODES = Object.keys(ConnectProbe) as ConnectProbeName[];

/**
 * The forced mode, or undefined when the variable is unset or empty. Any
 * other value throws: a typo must not quietly test `auto` instead.
 */
export function forcedConnectProbe(env: NodeJS.ProcessEnv = process.env): ConnectProbeName | undefined {
  const value = env[CONNECT_PROBE_ENV];
  if (value === undefined || value === '') return undefined;
  if (!(MODES as string[]).includes(value)) {
    throw new Error(`${CONNECT_PROBE_ENV}=${value}: expected one of ${MODES.join(', ')}`);
  }
  return value as ConnectProbeName;
}

/** CLI arguments with `--connect-probe <forced mode>` added, unless none is forced or the arguments choose one themselves. */
export function withConnectProbe(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const mode = forcedConnectProbe(env);
  if (mode === undefined || args.some((arg) => arg === '--connect-probe' || arg.startsWith('--connect-probe='))) return [...args];
  return ['--connect-probe', mode, ...args];
}

/** Matches the mode a record or a `connect probe:` line may name: the forced one, else any. */
export function connectProbeModes(env: NodeJS.ProcessEnv = process.env): string {
  return forcedConnectProbe(env) ?? MODES.join('|');
}
