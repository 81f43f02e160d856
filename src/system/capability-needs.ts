/**
 * Which capability each part of hostflow needs, as measured on Linux 6.18
 * by running hostflow as `nobody` with setpriv and one capability less at a
 * time (test/privileged/least-privilege.test.ts runs it with exactly these).
 * Pure: the table, what a planned run wants from it, the one line per
 * missing capability, and the set kept once everything is attached.
 *
 * Facts behind the table (kernel source and the runs):
 * - kernel.unprivileged_bpf_disabled (1 or 2 on every distribution) makes
 *   every bpf() call need CAP_BPF, map reads of fds already held included:
 *   flow dumps, counters, blocklist updates all run on it.
 * - Tracing programs (raw tracepoints, kprobes, fentry) and the kernel
 *   memory they read load with CAP_PERFMON.
 * - Uprobes need CAP_SYS_ADMIN since Linux 6.16 and the stable kernels that
 *   took the same fix in 2025 ("perf: Revert to requiring CAP_SYS_ADMIN
 *   for uprobes"; Debian's 6.1.0-57 refuses them with CAP_PERFMON too);
 *   older kernels accept CAP_PERFMON, so hostflow tries either way and
 *   reports a refused attach per libc file. Debian's 6.1 also refused the
 *   kprobe PMU to CAP_PERFMON alone (EACCES): auto then takes fentry, which
 *   like raw tracepoints needs no perf_event_open.
 * - XDP, TC and the cgroup socket programs are network program types: they
 *   load and attach with CAP_NET_ADMIN.
 * - /proc/<pid>/maps, /exe, /root and /ns of another user's process are
 *   behind ptrace access checks: CAP_SYS_PTRACE (CAP_DAC_READ_SEARCH does
 *   not open them).
 * - Mounting cgroup2 in a mount namespace of one's own (`ip netns exec`)
 *   needs CAP_SYS_ADMIN. tracefs is not needed at all: the lifecycle
 *   programs are raw tracepoints, and kprobes and uprobes attach through
 *   their PMUs, which every kernel of 5.18+ with kprobes/uprobes has.
 * - RLIMIT_MEMLOCK: libbpf raises it only on kernels without memory cgroup
 *   accounting of BPF (before 5.11); hostflow needs 5.18, so never, and
 *   CAP_SYS_RESOURCE is not needed.
 */

/** The capabilities hostflow uses, with their numbers (linux/capability.h). */
export const CAPABILITY_NUMBERS = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type CapabilityName = keyof typeof CAPABILITY_NUMBERS;

/** What a planned run uses that needs a capability. */
export interface PrivilegeWants {
  /** XDP and TC on at least one interface (flows, wire DNS, blocklist, capture). */
  packets: boolean;
  /** The cgroup socket programs (--socket-hooks, the default). */
  socketHooks: boolean;
  /** This mount namespace has no cgroup2 mount, so the socket hooks mount one (`ip netns exec`). */
  cgroup2Mount: boolean;
  /** getaddrinfo probes on at least one libc. */
  getaddrinfo: boolean;
  /** New processes' libc files are found and attached while running (--libc-discovery). */
  libcDiscovery: boolean;
}

export interface CapabilityNeed {
  capability: CapabilityName;
  /** What needs it, as the line names it. */
  feature: string;
  /** Without it: null when hostflow cannot start, else what is off. */
  degrades: string | null;
  /** Still used once everything is attached, so kept by the drop after start. */
  keep: boolean;
  wanted(wants: PrivilegeWants): boolean;
}

const always = () => true;

/** Every need, in the order the lines are printed. The README's table is this table. */
export const CAPABILITY_NEEDS: readonly CapabilityNeed[] = [
  {
    capability: 'CAP_BPF',
    feature: 'loading the BPF programs and maps, and reading them while running (flows, counters, blocklist)',
    degrades: null,
    keep: true,
    wanted: always,
  },
  {
    capability: 'CAP_PERFMON',
    feature: 'the connect and TCP lifecycle probes (tracing programs)',
    degrades: null,
    keep: false,
    wanted: always,
  },
  {
    capability: 'CAP_PERFMON',
    feature: 'getaddrinfo probes on libc files found while running',
    degrades: null,
    keep: true,
    wanted: (wants) => wants.getaddrinfo && wants.libcDiscovery,
  },
  {
    capability: 'CAP_NET_ADMIN',
    feature: 'XDP and TC on the traced interfaces, attached again when an interface comes back',
    degrades: null,
    keep: true,
    wanted: (wants) => wants.packets,
  },
  {
    capability: 'CAP_NET_ADMIN',
    feature: 'the cgroup socket hooks',
    degrades: 'DNS only at traced interfaces, no UDP conversations',
    keep: false,
    wanted: (wants) => wants.socketHooks,
  },
  {
    capability: 'CAP_SYS_ADMIN',
    feature: 'getaddrinfo uprobes (Linux 6.16+ and the 2025 stable kernels; older ones accept CAP_PERFMON)',
    degrades: 'lookups are named from DNS messages only, not from getaddrinfo',
    keep: false,
    wanted: (wants) => wants.getaddrinfo && !wants.libcDiscovery,
  },
  {
    capability: 'CAP_SYS_ADMIN',
    feature: 'getaddrinfo uprobes (Linux 6.16+ and the 2025 stable kernels; older ones accept CAP_PERFMON), also on libc files found while running',
    degrades: 'lookups are named from DNS messages only, not from getaddrinfo',
    keep: true,
    wanted: (wants) => wants.getaddrinfo && wants.libcDiscovery,
  },
  {
    capability: 'CAP_SYS_ADMIN',
    feature: 'mounting cgroup2 in this mount namespace for the socket hooks',
    degrades: 'no socket hooks: DNS only at traced interfaces, no UDP conversations',
    keep: false,
    wanted: (wants) => wants.socketHooks && wants.cgroup2Mount,
  },
  {
    capability: 'CAP_SYS_PTRACE',
    feature: "reading other users' processes: their libc files (discovery) and executables",
    degrades: "libc files only other users' processes map are not traced, and their exe is null (counted in the summary)",
    keep: true,
    wanted: always,
  },
];

/**
 * A capability the kernel also accepts in its place: bpf_capable() and
 * perfmon_capable() take CAP_SYS_ADMIN too (how root on kernels before 5.8
 * had them).
 */
const ALSO_ACCEPTED: Partial<Record<CapabilityName, CapabilityName>> = { CAP_BPF: 'CAP_SYS_ADMIN', CAP_PERFMON: 'CAP_SYS_ADMIN' };

export function capabilityBit(name: CapabilityName): bigint {
  return 1n << BigInt(CAPABILITY_NUMBERS[name]);
}

/** The capability, or the one the kernel accepts in its place, is in `mask`. */
export function holds(mask: bigint, name: CapabilityName): boolean {
  const other = ALSO_ACCEPTED[name];
  return (mask & capabilityBit(name)) !== 0n || (other !== undefined && (mask & capabilityBit(other)) !== 0n);
}

/** The needs of a planned run. */
export function needsOf(wants: PrivilegeWants): CapabilityNeed[] {
  return CAPABILITY_NEEDS.filter((need) => need.wanted(wants));
}

/** One missing capability: every feature that needs it, and whether hostflow can start without it. */
export interface MissingCapability {
  capability: CapabilityName;
  /** hostflow cannot start without it. */
  fatal: boolean;
  line: string;
}

/**
 * One line per capability the run wants and `mask` lacks, naming it, the
 * features that need it and, when hostflow goes on without it, what is off.
 */
export function missingCapabilities(wants: PrivilegeWants, mask: bigint): MissingCapability[] {
  const byCapability = new Map<CapabilityName, CapabilityNeed[]>();
  for (const need of needsOf(wants)) {
    if (holds(mask, need.capability)) continue;
    byCapability.set(need.capability, [...(byCapability.get(need.capability) ?? []), need]);
  }
  return [...byCapability].map(([capability, needs]) => {
    const fatal = needs.some((need) => need.degrades === null);
    const features = [...new Set(needs.map((need) => need.feature))].join('; ');
    const off = [...new Set(needs.flatMap((need) => (need.degrades === null ? [] : [need.degrades])))].join('; ');
    const line = fatal ? `missing ${capability}: needed for ${features}` : `missing ${capability}: needed for ${features}; without it ${off}`;
    return { capability, fatal, line };
  });
}

/**
 * The capabilities to keep once everything is attached: those of the needs
 * still used while running, that the process holds. Everything else (the
 * rest of root's set included) is dropped.
 */
export function capabilitiesToKeep(wants: PrivilegeWants, mask: bigint): bigint {
  let keep = 0n;
  for (const need of needsOf(wants)) {
    if (!need.keep) continue;
    if ((mask & capabilityBit(need.capability)) !== 0n) keep |= capabilityBit(need.capability);
    // Held through the capability the kernel accepts in its place: keep that one.
    const other = ALSO_ACCEPTED[need.capability];
    if ((mask & capabilityBit(need.capability)) === 0n && other !== undefined && (mask & capabilityBit(other)) !== 0n) keep |= capabilityBit(other);
  }
  return keep;
}

/** Names of the capabilities in `mask` that hostflow knows; others as their numbers. */
export function capabilityNames(mask: bigint): string[] {
  const names: string[] = [];
  const known = new Map<number, string>(Object.entries(CAPABILITY_NUMBERS).map(([name, number]) => [number, name]));
  for (let bit = 0; bit < 64; bit++) {
    if ((mask & (1n << BigInt(bit))) !== 0n) names.push(known.get(bit) ?? `cap ${bit}`);
  }
  return names;
}
