/**
 * The socket hooks (bpf/sockets.bpf.c): cgroup programs on the cgroup v2
 * root, which see every inet socket of every process in every network
 * namespace, and the raw tracepoint that remembers new processes' parents
 * for them. Attaching them is optional: where the host has no cgroup2 mount
 * or the kernel refuses, the tracer runs without them and the report says
 * why in one line. While they are attached, flow_xdp/flow_tc leave DNS to
 * them (`dns_seen_at`), so no message is copied twice.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { firstLine } from '../errors.js';
import { SeenAt } from './layout.js';
import type { BpfObject, LinkInfo } from './native-api.js';

/** What the socket hooks' attach came to, for the start lines, doctor and the summary. */
export interface SocketHooksReport {
  attached: boolean;
  /** The cgroup v2 directory they are attached to (the root of the hierarchy); null when none was found. */
  cgroup: string | null;
  /** Why they are not attached, one line; null when they are. */
  reason: string | null;
}

/** Every program of the family, in attach order: the fork tracepoint first, so that sockets of new processes find their parent. */
export const SOCKET_PROGRAMS: ReadonlyArray<{ program: string; kind: 'cgroup' | 'raw_tracepoint'; target?: string }> = [
  { program: 'process_fork', kind: 'raw_tracepoint', target: 'sched_process_fork' },
  { program: 'socket_create', kind: 'cgroup' },
  { program: 'socket_connect4', kind: 'cgroup' },
  { program: 'socket_connect6', kind: 'cgroup' },
  { program: 'socket_sendmsg4', kind: 'cgroup' },
  { program: 'socket_sendmsg6', kind: 'cgroup' },
  { program: 'socket_release', kind: 'cgroup' },
  { program: 'socket_egress', kind: 'cgroup' },
  { program: 'socket_ingress', kind: 'cgroup' },
];

/**
 * The mount point of the cgroup v2 hierarchy's root in /proc/self/mountinfo
 * text, or null. A mount of a subtree (root field other than '/', as inside
 * a container's cgroup namespace) sees only part of the host's sockets, so
 * the root mount is preferred; /sys/fs/cgroup (unified) wins over
 * /sys/fs/cgroup/unified (hybrid) only by coming first.
 */
export function cgroup2Root(mountinfo: string): string | null {
  let subtree: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const [mountFields, superFields] = line.split(' - ');
    if (!mountFields || !superFields) continue;
    if (superFields.split(' ')[0] !== 'cgroup2') continue;
    const fields = mountFields.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (!mountPoint) continue;
    const path = unescapeMountPath(mountPoint);
    if (root === '/') return path;
    subtree ??= path;
  }
  return subtree;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function readMountinfo(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** What finding the cgroup v2 root needs from the system; replaced in tests. */
export interface CgroupSystem {
  read(path: string): string;
  /** Mounts cgroup2 at `target`; null when done, else why not. */
  mount(target: string): string | null;
}

/**
 * Where a process whose mount namespace lost the cgroup2 mount mounts it
 * again: `ip netns exec` remounts /sys for the namespace, which hides the
 * cgroup mounts under it, but the new sysfs has this empty directory.
 */
export const CGROUP2_REMOUNT = '/sys/fs/cgroup';

const SYSTEM: CgroupSystem = {
  read: readMountinfo,
  mount: (target) => {
    try {
      execFileSync('mount', ['-t', 'cgroup2', 'cgroup2', target], { stdio: ['ignore', 'ignore', 'pipe'] });
      return null;
    } catch (error) {
      return firstLine((error as { stderr?: Buffer }).stderr?.toString() || error);
    }
  },
};

/**
 * The cgroup v2 root this process can open: its own mount of it, or, when
 * init's mounts have one and this process's do not (so it runs in a mount
 * namespace of its own, as under `ip netns exec`), the same hierarchy
 * mounted here again: the mount stays in this namespace. The reason when
 * neither works.
 */
export function findCgroup2Root(system: CgroupSystem = SYSTEM): { cgroup: string | null; reason: string | null } {
  const own = cgroup2Root(system.read('/proc/self/mountinfo'));
  if (own) return { cgroup: own, reason: null };
  const none = 'no cgroup2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup)';
  if (!cgroup2Root(system.read('/proc/1/mountinfo'))) return { cgroup: null, reason: none };
  const error = system.mount(CGROUP2_REMOUNT);
  if (error) return { cgroup: null, reason: `cgroup2 is mounted outside this mount namespace only, and mounting it here failed: ${error}` };
  return { cgroup: CGROUP2_REMOUNT, reason: null };
}

/** Why the socket hooks were left out before anything attached (options, or a failed load). */
export function socketHooksOff(reason: string): SocketHooksReport {
  return { attached: false, cgroup: null, reason };
}

/**
 * Attaches every socket program to the cgroup v2 root (findCgroup2Root)
 * and switches the interface DNS copy off. Never throws: on any failure
 * what attached is detached again, interface DNS stays on, and the report
 * says why.
 */
export function attachSocketHooks(object: BpfObject, root: { cgroup: string | null; reason: string | null } = findCgroup2Root()): SocketHooksReport {
  const { cgroup } = root;
  if (!cgroup) return { attached: false, cgroup: null, reason: root.reason ?? 'no cgroup2 file system is mounted' };
  const links: LinkInfo[] = [];
  try {
    for (const { program, kind, target } of SOCKET_PROGRAMS) {
      links.push(kind === 'cgroup' ? object.attachCgroup(program, cgroup) : object.attachRawTracepoint(program, target ?? ''));
    }
    setDnsSeenAt(object, SeenAt.socket);
    return { attached: true, cgroup, reason: null };
  } catch (error) {
    for (const link of links) {
      try {
        object.detach(link.id);
      } catch {
        // Already gone: nothing of it to undo.
      }
    }
    return { attached: false, cgroup, reason: `the kernel refused them: ${firstLine(error)}` };
  }
}

/** Tells flow_xdp and flow_tc whether DNS is copied at the sockets (SeenAt.socket) or by them. */
function setDnsSeenAt(object: BpfObject, seenAt: number): void {
  const value = Buffer.alloc(4);
  value.writeUInt32LE(seenAt);
  object.update('dns_seen_at', Buffer.alloc(4), value);
}

/** One line for the start lines, doctor and the summary. */
export function describeSocketHooks(report: SocketHooksReport): string {
  if (report.attached) return `socket hooks: cgroup2 root ${report.cgroup} (DNS and UDP with their process)`;
  return `socket hooks: off, ${report.reason ?? 'unknown reason'} (DNS only at traced interfaces, no UDP conversations)`;
}
