/**
 * What this process may do with BPF, read from /proc/self/status. Root
 * normally has everything; a non-root user needs CAP_BPF, CAP_PERFMON and
 * CAP_NET_ADMIN (or CAP_SYS_ADMIN) for what hostflow attaches.
 */
import { readFileSync } from 'node:fs';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;

/** Parses the CapEff line of a /proc/<pid>/status text. */
export function effectiveCapabilities(statusText: string): bigint {
  const match = /^CapEff:\s*([0-9a-f]+)$/im.exec(statusText);
  return match ? BigInt(`0x${match[1]}`) : 0n;
}

export function hasCapability(mask: bigint, capability: number): boolean {
  return (mask & (1n << BigInt(capability))) !== 0n;
}

/** Names of the capabilities hostflow lacks, empty when it can run. */
export function missingCapabilities(mask: bigint): string[] {
  if (hasCapability(mask, CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!hasCapability(mask, CAP_BPF)) missing.push('CAP_BPF');
  if (!hasCapability(mask, CAP_PERFMON)) missing.push('CAP_PERFMON');
  if (!hasCapability(mask, CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  return missing;
}

export function currentCapabilities(): bigint {
  return effectiveCapabilities(readFileSync('/proc/self/status', 'utf8'));
}

/** One line saying what is missing, or null when nothing is. */
export function privilegeProblem(mask = currentCapabilities()): string | null {
  const missing = missingCapabilities(mask);
  if (missing.length === 0) return null;
  return `hostflow needs root, or ${missing.join(' + ')} (missing); run it with sudo or grant them: setcap cap_bpf,cap_perfmon,cap_net_admin+ep $(command -v node)`;
}
