/**
 * Gate for tests that need root, tools or kernel features. Where something is
 * missing the test is skipped with the reason printed, except on CI
 * (process.env.CI set), where it fails instead: CI runs as root on a kernel
 * that has every feature, so a skip there could only hide a regression.
 *
 *   test('…', async (t) => {
 *     if (!privileged(t, { commands: ['dnsmasq'], features: ['tracefs'] })) return;
 *     …
 *   });
 */
import { existsSync, statfsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { hasCommand } from './process.js';

export { hasCommand } from './process.js';

/** Kernel and system features a test can require. */
export type Feature =
  /** tracefs mounted at /sys/kernel/tracing (tracepoints, uprobes by name). */
  | 'tracefs'
  /** bpffs mounted at /sys/fs/bpf (pinning). */
  | 'bpffs'
  /** Kernel BTF at /sys/kernel/btf/vmlinux (CO-RE). */
  | 'btf'
  /** Network namespaces can be created (root and /proc/self/ns/net). */
  | 'netns';

export interface Requirements {
  /** Need uid 0. @default true */
  root?: boolean;
  /** Executables that must be in $PATH or an sbin folder. */
  commands?: readonly string[];
  features?: readonly Feature[];
  /** Files that must exist (e.g. the built addon). */
  files?: readonly string[];
}

/** Commands a netns Topology needs (see netns.ts). */
export const TOPOLOGY_COMMANDS: readonly string[] = ['ip', 'dnsmasq', 'dig', 'python3'];

/** True when the environment says this is a CI run (CI set, not 'false' or '0'). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

const BPF_FS_MAGIC = 0xcafe4a11;

function isBpffsMounted(path = '/sys/fs/bpf'): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

const featureChecks: Record<Feature, () => string | undefined> = {
  tracefs: () =>
    existsSync('/sys/kernel/tracing/events') ? undefined : 'tracefs is not mounted at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing)',
  bpffs: () => (isBpffsMounted() ? undefined : 'bpffs is not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)'),
  btf: () => (existsSync('/sys/kernel/btf/vmlinux') ? undefined : 'the kernel has no BTF (/sys/kernel/btf/vmlinux)'),
  netns: () => (existsSync('/proc/self/ns/net') ? undefined : 'this kernel has no network namespaces (/proc/self/ns/net)'),
};

/** Why these requirements are not met here, one reason per missing thing; empty when all are met. */
export function missingRequirements(requirements: Requirements = {}): string[] {
  const reasons: string[] = [];
  const { root = true, commands = [], features = [], files = [] } = requirements;
  if (root && process.getuid?.() !== 0) reasons.push('needs root');
  const missingCommands = commands.filter((name) => !hasCommand(name));
  if (missingCommands.length > 0) {
    reasons.push(`missing command${missingCommands.length > 1 ? 's' : ''}: ${missingCommands.join(', ')} (scripts/setup.sh installs them)`);
  }
  for (const feature of features) {
    const reason = featureChecks[feature]();
    if (reason !== undefined) reasons.push(reason);
  }
  for (const file of files) {
    if (!existsSync(file)) reasons.push(`missing file: ${file}`);
  }
  return reasons;
}

/** The message of a requirement failure on CI. */
export function ciFailureMessage(reasons: readonly string[]): string {
  return `requirement not met on CI, where nothing may be skipped: ${reasons.join('; ')}`;
}

/**
 * Check requirements for one test. Returns true when the test can go on;
 * otherwise marks it skipped with the reasons and returns false (the test
 * must return), or on CI throws, which fails the test.
 */
export function privileged(t: TestContext, requirements: Requirements = {}): boolean {
  const reasons = missingRequirements(requirements);
  if (reasons.length === 0) return true;
  if (isCI()) throw new Error(ciFailureMessage(reasons));
  const reason = reasons.join('; ');
  t.diagnostic(`skipped: ${reason}`);
  t.skip(reason);
  return false;
}

/**
 * The same check for a whole suite or file, as `test()`/`describe()` options:
 *
 *   describe('connections', privilegedSuite({ commands: TOPOLOGY_COMMANDS }), () => { … });
 *
 * Returns `{ skip: reason }` when something is missing, `{}` otherwise; on CI
 * it throws instead, which fails the file.
 */
export function privilegedSuite(requirements: Requirements = {}): { skip?: string } {
  const reasons = missingRequirements(requirements);
  if (reasons.length === 0) return {};
  if (isCI()) throw new Error(ciFailureMessage(reasons));
  return { skip: reasons.join('; ') };
}
