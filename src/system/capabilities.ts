/**
 * What this process may do, read from /proc/self/status, held against what
 * a planned run wants (capability-needs.ts, the table). The check before
 * start: one line per missing capability, an error when hostflow cannot
 * start without one.
 */
import { readFileSync } from 'node:fs';
import { HostflowError } from '../errors.js';
import { packetProgramsWanted, socketHooksWanted, type TracerOptions } from '../kernel/tracer-options.js';
import { cgroup2Root } from '../kernel/socket-hooks.js';
import { missingCapabilities, type MissingCapability, type PrivilegeWants } from './capability-needs.js';

/** Parses one capability line (CapEff, CapPrm, ...) of a /proc/<pid>/status text; 0 when absent. */
export function capabilitySet(statusText: string, field: 'CapEff' | 'CapPrm' | 'CapInh' | 'CapAmb' | 'CapBnd' = 'CapEff'): bigint {
  const match = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'im').exec(statusText);
  return match ? BigInt(`0x${match[1]}`) : 0n;
}

export function currentCapabilities(): bigint {
  return capabilitySet(readFileSync('/proc/self/status', 'utf8'));
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** What the tracer these options start wants from the table, with the mount facts of this process. */
export function privilegeWants(options: TracerOptions, mountinfo = readOrEmpty('/proc/self/mountinfo')): PrivilegeWants {
  const libcDiscovery = options.libcDiscovery === true;
  return {
    packets: packetProgramsWanted(options),
    socketHooks: socketHooksWanted(options),
    cgroup2Mount: cgroup2Root(mountinfo) === null,
    getaddrinfo: options.libcs.length > 0 || libcDiscovery,
    libcDiscovery,
  };
}

/** The check before start: what is missing, split into what stops hostflow and what only turns something off. */
export interface PrivilegeCheck {
  fatal: MissingCapability[];
  degraded: MissingCapability[];
}

export function checkPrivileges(wants: PrivilegeWants, mask = currentCapabilities()): PrivilegeCheck {
  const missing = missingCapabilities(wants, mask);
  return { fatal: missing.filter((entry) => entry.fatal), degraded: missing.filter((entry) => !entry.fatal) };
}

/**
 * Thrown when a capability hostflow cannot start without is missing: its
 * message has one line per such capability (the CLI prints each).
 */
export class MissingCapabilityError extends HostflowError {
  constructor(readonly missing: MissingCapability[]) {
    super(missing.map((entry) => entry.line).join('\n'));
    this.name = 'MissingCapabilityError';
  }
}
