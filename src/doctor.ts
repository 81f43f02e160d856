/**
 * `hostflow doctor`: what this kernel and this process offer hostflow, and
 * whether it can run. Each check is one line; a blocker makes the exit
 * code non-zero. Beyond what each connect mode and the kernel offer, it
 * makes the start that `hostflow` with the same options would make, for
 * real: the same interfaces (XDP in the mode each accepts, TC), the same
 * libc files, the control socket; then takes it all down. What doctor
 * calls ok starts. Gathering the facts (I/O) is kept apart from judging
 * them (`judge`, pure) so the judgement is tested without root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { firstLine } from './errors.js';
import { checkPrivileges, privilegeWants } from './system/capabilities.js';
import type { MissingCapability } from './system/capability-needs.js';
import { defaultInterfaces } from './system/interfaces.js';
import { systemLibc } from './system/libc.js';
import { bpffsMounted, tracefsPath } from './system/mounts.js';
import type { ConnectProbeName } from './kernel/layout.js';
import { loadNative } from './kernel/native.js';
import type { NativeAddon } from './kernel/native-api.js';
import { kernelHasKprobes, tryConnectProbe } from './kernel/kernel-probes.js';
import { listLibcs } from './kernel/libc-probes.js';
import { Tracer, type TracedInterface } from './kernel/tracer.js';
import { describeXdp } from './kernel/xdp-mode.js';
import { resolveControlGroup } from './control/control-group.js';
import { ControlServer } from './control/server.js';
import { metricsUrl, parseMetricsAddress } from './metrics/metrics-address.js';
import { MetricsServer } from './metrics/metrics-server.js';
import { planRun, planRunUnchecked, type RunFlags } from './run-plan.js';
import { describeLibc, type LibcFile } from './system/libc-registry.js';
import { describeSocketHooks, type SocketHooksReport } from './kernel/socket-hooks.js';

export interface DoctorFacts {
  kernel: string;
  btf: boolean;
  /** Capabilities these options use that this process lacks, one line each. */
  missingCapabilities: MissingCapability[];
  /** Where tracefs is mounted, null when it is not (hostflow does not need it). */
  tracefs: string | null;
  bpffs: boolean;
  /** Addon load error, null when it loaded. */
  addon: string | null;
  libbpf: string | null;
  kprobePmu: boolean;
  /** Per connect mode: null when it attached here, else why not. Undefined when not tried. */
  connectModes: Partial<Record<ConnectProbeName, string | null>>;
  tracepoint: boolean;
  uprobes: boolean;
  tcx: boolean;
  libc: string | null;
  /** Every libc the system and its processes map, each attached for real when it could be tried (the start's; else listed only). */
  libcs?: LibcFile[];
  defaultInterface: string;
  /** The start these options make, tried for real; undefined when it could not be tried. */
  start?: StartTrial;
  /** The control socket: null when it binds, else why not; undefined without one (--no-control). */
  control?: string | null;
  /** The metrics endpoint (--metrics): its URL when it binds, else why not; undefined without one. */
  metrics?: { url: string | null; error: string | null };
}

/** What trying the start showed. */
export interface StartTrial {
  /** The one line `hostflow` would print and exit with; null when everything attached. */
  error: string | null;
  /** The interfaces the start uses, with the XDP mode each got (xdp null when it failed first). */
  interfaces: TracedInterface[];
  /** The socket hooks of the start: attached on the cgroup v2 root, or why not (null when the start failed first). */
  socketHooks?: SocketHooksReport | null;
  /** Warnings the start printed (a libc that could not be traced, ...). */
  warnings: string[];
  /** BPF links it made. */
  links: number;
}

export interface Check {
  name: string;
  status: 'ok' | 'no' | 'FAIL';
  detail: string;
}

const AUTO_ORDER: ConnectProbeName[] = ['kprobe', 'fentry', 'tracepoint'];

/** The oldest kernel hostflow runs on: the packet programs copy bytes with bpf_xdp_load_bytes (5.18). */
export const MINIMUM_KERNEL: readonly [number, number] = [5, 18];

/** Why `kernel` ('Linux 6.1.0-57-amd64 x64') is too old, null when it is new enough or unreadable. */
export function kernelTooOld(kernel: string): string | null {
  const match = /(\d+)\.(\d+)/.exec(kernel);
  if (!match) return null;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const [needMajor, needMinor] = MINIMUM_KERNEL;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return null;
  return `${kernel}: hostflow needs Linux ${needMajor}.${needMinor} or newer (bpf_xdp_load_bytes)`;
}

/** The checks, in display order, from the facts. */
export function judge(facts: DoctorFacts): { checks: Check[]; autoMode: ConnectProbeName | null } {
  const checks: Check[] = [];
  const add = (name: string, status: Check['status'], detail: string) => checks.push({ name, status, detail });

  const tooOld = kernelTooOld(facts.kernel);
  add('kernel', tooOld ? 'FAIL' : 'ok', tooOld ?? facts.kernel);
  add(
    'btf',
    facts.btf ? 'ok' : 'FAIL',
    facts.btf ? '/sys/kernel/btf/vmlinux' : 'no /sys/kernel/btf/vmlinux: CO-RE needs a kernel built with CONFIG_DEBUG_INFO_BTF=y',
  );
  if (facts.missingCapabilities.length === 0) add('privileges', 'ok', 'every capability these options use (see the README for the table)');
  for (const missing of facts.missingCapabilities) add('privileges', missing.fatal ? 'FAIL' : 'no', missing.line);
  add('tracefs', 'ok', `not needed (raw tracepoints, kprobe and uprobe PMUs)${facts.tracefs ? `; mounted at ${facts.tracefs}` : ''}`);
  add('bpffs', facts.bpffs ? 'ok' : 'no', facts.bpffs ? '/sys/fs/bpf' : 'not mounted (not needed: hostflow pins nothing)');
  add('addon', facts.addon === null ? 'ok' : 'FAIL', facts.addon === null ? `libbpf ${facts.libbpf}` : facts.addon);

  for (const mode of AUTO_ORDER) {
    const result = facts.connectModes[mode];
    if (mode === 'kprobe' && !facts.kprobePmu && result === undefined) {
      add('kprobe', 'no', 'the kernel has no kprobes (CONFIG_KPROBES unset)');
    } else if (result === undefined) {
      add(mode, 'no', 'not tried (needs the addon and privileges)');
    } else {
      add(mode, result === null ? 'ok' : 'no', result === null ? `connect probe attaches (${describeMode(mode)})` : result);
    }
  }
  add(
    'lifecycle',
    facts.tracepoint ? 'ok' : 'FAIL',
    facts.tracepoint ? 'raw tracepoints inet_sock_set_state, tcp_retransmit_skb, tcp_destroy_sock' : 'the kernel has no inet_sock_set_state tracepoint',
  );
  add('uprobe', facts.uprobes ? 'ok' : 'no', facts.uprobes ? 'uprobe PMU' : 'no uprobe PMU: getaddrinfo lookups will not be traced');
  add(
    'tcx',
    facts.tcx ? 'ok' : 'no',
    facts.tcx ? 'TC egress attaches as a bpf_link' : 'no tcx (kernel < 6.6): TC egress uses a netlink filter, removed on exit',
  );
  if (facts.libcs && facts.libcs.length > 0) {
    for (const file of facts.libcs) add('libc', file.attached ? 'ok' : 'no', describeLibc(file));
  } else {
    add('libc', facts.libc ? 'ok' : 'no', facts.libc ?? 'no libc found: use --libc PATH');
  }
  const autoMode = AUTO_ORDER.find((mode) => facts.connectModes[mode] === null) ?? null;
  add('connect', autoMode ? 'ok' : 'FAIL', autoMode ? `auto chooses ${autoMode}` : 'no connect probe mode works here');
  const interfaces = facts.start?.interfaces ?? [];
  if (interfaces.length === 0) add('interface', 'ok', `${facts.defaultInterface} (default route; -i to choose)`);
  for (const { name, xdp } of interfaces) {
    const where = `${name}${name === facts.defaultInterface ? ' (default route; -i to choose)' : ''}`;
    add('interface', xdp ? 'ok' : 'no', xdp ? where : `${where}: nothing attached, see start`);
    if (xdp) add('xdp', 'ok', `${describeXdp(name, xdp)}, TC egress attached`);
  }
  if (facts.start?.socketHooks) {
    const hooks = facts.start.socketHooks;
    add('sockets', hooks.attached ? 'ok' : 'no', describeSocketHooks(hooks).replace(/^socket hooks: /, ''));
  }
  if (facts.metrics) add('metrics', facts.metrics.error === null ? 'ok' : 'FAIL', facts.metrics.error ?? `${facts.metrics.url} binds`);
  if (facts.control !== undefined) add('control', facts.control === null ? 'ok' : 'FAIL', facts.control ?? 'the control socket binds');
  // Not tried only when the addon or a capability is missing: each is a blocker above.
  if (facts.start === undefined) add('start', 'no', 'not tried (needs the addon and the capabilities above)');
  else if (facts.start.error !== null) add('start', 'FAIL', facts.start.error);
  else
    add(
      'start',
      'ok',
      `everything attached and was taken down again (${facts.start.links} links${facts.start.warnings.length > 0 ? `; warnings: ${facts.start.warnings.join('; ')}` : ''})`,
    );

  return { checks, autoMode };
}

function describeMode(mode: ConnectProbeName): string {
  if (mode === 'kprobe') return 'kprobe+kretprobe on tcp_v4_connect/tcp_v6_connect';
  if (mode === 'fentry') return 'fexit on tcp_v4_connect/tcp_v6_connect';
  return 'sock:inet_sock_set_state CLOSE->SYN_SENT';
}

function kallsymsHas(symbol: string): boolean {
  try {
    return new RegExp(`\\s${symbol}$`, 'm').test(readFileSync('/proc/kallsyms', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Reads every fact; loads and attaches each connect mode for real, then
 * makes the start `flags` would make and takes it down again.
 */
export async function gatherFacts(flags: RunFlags): Promise<DoctorFacts> {
  const missing = missingCapabilitiesOf(flags);
  let native: NativeAddon | null = null;
  let addon: string | null = null;
  try {
    native = loadNative();
  } catch (error) {
    addon = firstLine(error);
  }
  const facts: DoctorFacts = {
    kernel: `Linux ${release()} ${process.arch}`,
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    missingCapabilities: missing,
    tracefs: tracefsPath(),
    bpffs: bpffsMounted(),
    addon,
    libbpf: native?.libbpfVersion() ?? null,
    kprobePmu: kernelHasKprobes(),
    connectModes: {},
    // Raw tracepoints are found by name in the kernel, not in tracefs.
    tracepoint: kallsymsHas('(__traceiter_|__tracepoint_)inet_sock_set_state'),
    uprobes: existsSync('/sys/bus/event_source/devices/uprobe'),
    tcx: kallsymsHas('tcx_link_attach'),
    libc: systemLibc(),
    defaultInterface: defaultInterfaces()[0] ?? 'lo',
  };
  const canTry = native !== null && !missing.some((entry) => entry.fatal);
  if (canTry && native) {
    for (const mode of AUTO_ORDER) {
      if (mode === 'kprobe' && !facts.kprobePmu) continue;
      facts.connectModes[mode] = tryConnectProbe(native, mode);
    }
  }
  if (flags.control !== false) facts.control = await tryControl(flags.control, flags.controlGroup);
  if (flags.metrics !== undefined) facts.metrics = await tryMetrics(flags.metrics);
  if (canTry) {
    const { start, libcs } = await tryStart(flags);
    facts.start = start;
    facts.libcs = libcs;
  } else {
    facts.libcs = listLibcs();
  }
  return facts;
}

/** The capabilities the start these flags make would miss (none planned when the flags themselves are wrong: the start says so). */
function missingCapabilitiesOf(flags: RunFlags): MissingCapability[] {
  let wants;
  try {
    wants = privilegeWants(planRunUnchecked(flags, () => {}).session.tracer);
  } catch {
    return [];
  }
  const { fatal, degraded } = checkPrivileges(wants);
  return [...fatal, ...degraded];
}

/** Binds the control socket where the run would, and closes it: null when it binds, else why not. */
async function tryControl(path: string, groupName: string | undefined): Promise<string | null> {
  try {
    const group = groupName === undefined ? undefined : resolveControlGroup(groupName);
    const server = await ControlServer.start({ path, backend: {}, group });
    await server.close();
    return null;
  } catch (error) {
    return firstLine(error);
  }
}

/** Binds the metrics endpoint where the run would, and closes it. */
async function tryMetrics(text: string): Promise<{ url: string | null; error: string | null }> {
  try {
    const server = await MetricsServer.listen(parseMetricsAddress(text), async () => '');
    const url = metricsUrl(server.address);
    await server.close();
    return { url, error: null };
  } catch (error) {
    return { url: null, error: firstLine(error) };
  }
}

/** The start `flags` make, for real, then stopped: what attached, and the libc files it traced. */
async function tryStart(flags: RunFlags): Promise<{ start: StartTrial; libcs: LibcFile[] | undefined }> {
  const warnings: string[] = [];
  let planned: TracedInterface[] = [];
  let tracer: Tracer;
  try {
    // The missing capabilities have their own lines above: not repeated as warnings.
    const plan = planRun(flags, (line) => (line.startsWith('missing CAP_') ? undefined : warnings.push(line)));
    planned = plan.session.tracer.interfaces.map((name) => ({ name, ifindex: 0, xdp: null }));
    tracer = Tracer.start({ ...plan.session.tracer, onWarning: (line) => warnings.push(line) }, () => {});
  } catch (error) {
    return { start: { error: firstLine(error), interfaces: planned, warnings, links: 0 }, libcs: undefined };
  }
  const { interfaces, links, socketHooks } = tracer.report;
  const libcs = tracer.libcFiles();
  await tracer.stop();
  return { start: { error: null, interfaces, warnings, links: links.length, socketHooks }, libcs };
}

/** Prints the report; returns the exit code. */
export async function runDoctor(flags: RunFlags, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const { checks } = judge(await gatherFacts(flags));
  for (const check of checks) write(`${check.status.padEnd(4)} ${check.name.padEnd(11)} ${check.detail}`);
  const blockers = checks.filter((check) => check.status === 'FAIL');
  if (blockers.length === 0) {
    write('hostflow can run here');
    return 0;
  }
  for (const blocker of blockers) write(`blocker: ${blocker.name}: ${blocker.detail}`);
  return 1;
}
