/**
 * Which container a process runs in, read from its cgroup path, the one
 * thing every runtime writes the container id into. Paths as the runtimes
 * make them (systemd driver first, then cgroupfs):
 *
 *   docker      /system.slice/docker-<id>.scope          /docker/<id>
 *   containerd  .../cri-containerd-<id>.scope            /containerd/<id>
 *               /system.slice/nerdctl-<id>.scope
 *   cri-o       .../crio-<id>.scope                      .../crio-<id>
 *   podman      /machine.slice/libpod-<id>.scope         /libpod_parent/libpod-<id>
 *               /user.slice/.../user@1000.service/user.slice/libpod-<id>.scope
 *   kubernetes  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/<runtime scope>
 *               /kubepods/burstable/pod<uid>/<id>
 *
 * A pod's container whose path names its runtime (a scope) gets that
 * runtime; under the cgroupfs driver a bare id says nothing about the
 * runtime, so it is `kubernetes`, as is a process known only by its pod
 * (id = the pod's uid).
 *
 * The conmon monitors of cri-o and podman live beside their container
 * (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`) but run on the host
 * and are not containers: they yield null, even under a pod's slice.
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'kubernetes';

export interface Container {
  id: string;
  runtime: ContainerRuntime;
}

/** Every runtime here names containers by 64 hex digits (256 random bits or a sha256). */
const HEX_ID = /^[0-9a-f]{64}$/;

/** Units a runtime creates per container through systemd; the id is group 1. */
const RUNTIME_SCOPES: ReadonlyArray<readonly [RegExp, ContainerRuntime]> = [
  [/^docker-([0-9a-f]{64})\.scope$/, 'docker'],
  [/^cri-containerd-([0-9a-f]{64})\.scope$/, 'containerd'],
  [/^nerdctl-([0-9a-f]{64})\.scope$/, 'containerd'],
  // cri-o and podman use the same name without `.scope` under cgroupfs.
  [/^crio-([0-9a-f]{64})(?:\.scope)?$/, 'cri-o'],
  [/^libpod-([0-9a-f]{64})(?:\.scope)?$/, 'podman'],
];

const CONMON = /^(?:crio|libpod)-conmon-/;

/** containerd's identifier rule (pkg/identifiers): alphanumerics joined by single `.`, `_` or `-`, at most 76. */
const CONTAINERD_ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const CONTAINERD_ID_MAX = 76;

/**
 * A pod's cgroup: `pod<uid>` (cgroupfs) or `kubepods[-<qos>]-pod<uid>.slice`
 * (systemd, which escapes the uid's dashes as underscores). Static pods have
 * a 32-hex config hash as uid, with no dashes.
 */
const POD_CGROUPFS = /^pod([0-9a-f-]{32,36})$/;
const POD_SYSTEMD = /^kubepods(?:-[a-z]+)?-pod([0-9a-f_]{32,36})\.slice$/;

/** The kernel marks a dead cgroup v2 path this way in /proc/<pid>/cgroup. */
const DELETED_SUFFIX = ' (deleted)';

/**
 * The container of a process, from the text of /proc/<pid>/cgroup (v1
 * `<id>:<controllers>:<path>` lines, the v2 `0::<path>` line, or both in
 * hybrid mode); null for a host process.
 */
export function parseContainer(cgroupText: string): Container | null {
  let podUid: string | null = null;
  // Hybrid hosts give containers their v1 paths and leave the v2 line at the
  // runtime's own service, so every line is read and a container wins.
  for (const line of cgroupText.split('\n')) {
    const path = cgroupPath(line);
    if (path === null) continue;
    const found = walkPath(path);
    if (found.container) return found.container;
    podUid ??= found.podUid;
  }
  return podUid ? { id: podUid, runtime: 'kubernetes' } : null;
}

/** The path of one line, after the hierarchy id and controller list (a path may contain ':'). */
function cgroupPath(line: string): string | null {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0) return null;
  const path = line.slice(second + 1).trimEnd();
  return path.endsWith(DELETED_SUFFIX) ? path.slice(0, -DELETED_SUFFIX.length) : path;
}

/**
 * Walks a path from the root; the deepest container wins, so a container
 * nested in another (docker in docker) is reported as the inner one.
 */
function walkPath(path: string): { container: Container | null; podUid: string | null } {
  let container: Container | null = null;
  let podUid: string | null = null;
  let inKubepods = false;
  let parent = '';
  for (const segment of path.split('/')) {
    if (segment.startsWith('kubepods')) inKubepods = true;
    const found = containerOfSegment(segment, parent, inKubepods && podUid !== null);
    if (found) container = found;
    else if (CONMON.test(segment)) podUid = null;
    else if (inKubepods) podUid = podUidOf(segment) ?? podUid;
    parent = segment;
  }
  return { container, podUid };
}

function containerOfSegment(segment: string, parent: string, inPod: boolean): Container | null {
  for (const [pattern, runtime] of RUNTIME_SCOPES) {
    const id = pattern.exec(segment)?.[1];
    if (id) return { id, runtime };
  }
  if (parent === 'docker' && HEX_ID.test(segment)) return { id: segment, runtime: 'docker' };
  if (parent === 'containerd' && segment.length <= CONTAINERD_ID_MAX && CONTAINERD_ID.test(segment)) {
    return { id: segment, runtime: 'containerd' };
  }
  // cgroupfs driver: the runtime wrote nothing but the id.
  if (inPod && HEX_ID.test(segment)) return { id: segment, runtime: 'kubernetes' };
  return null;
}

function podUidOf(segment: string): string | null {
  const raw = POD_CGROUPFS.exec(segment)?.[1] ?? POD_SYSTEMD.exec(segment)?.[1];
  if (!raw) return null;
  const uid = raw.replaceAll('_', '-');
  return uid.replaceAll('-', '').length === 32 ? uid : null;
}

export interface ContainerResolverOptions {
  /** Processes remembered. @default 4096 */
  max?: number;
  /**
   * How long an answer is trusted, in milliseconds: pids are reused, and a
   * process can move to another cgroup (`docker exec`, `systemd-run`).
   * @default 60000
   */
  ttlMs?: number;
  /** The text of /proc/<pid>/cgroup, or null when the process is gone. @default reads /proc */
  readCgroup?: (pid: number) => string | null;
  /** Time source of the TTL, in milliseconds (tests). @default performance */
  clock?: { now(): number };
}

/** The cache holds this wrapper because lru-cache cannot hold null. */
interface Entry {
  container: Container | null;
}

/** Container of a pid, cached; never throws. */
export class ContainerResolver {
  private readonly cache: LRUCache<number, Entry>;
  private readonly readCgroup: (pid: number) => string | null;

  constructor(options: ContainerResolverOptions = {}) {
    this.readCgroup = options.readCgroup ?? readProcCgroup;
    this.cache = new LRUCache<number, Entry>({
      max: options.max ?? 4096,
      ttl: options.ttlMs ?? 60_000,
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
    });
  }

  /** null for a host process, a gone one, or a pid that cannot be one (<= 0). */
  lookup(pid: number): Container | null {
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const cached = this.cache.get(pid);
    if (cached) return cached.container;
    let text: string | null;
    try {
      text = this.readCgroup(pid);
    } catch {
      text = null;
    }
    // A gone process is not remembered: its pid may be reused by the very
    // next event, and failing to read is cheap.
    if (text === null) return null;
    const container = parseContainer(text);
    this.cache.set(pid, { container });
    return container;
  }
}

function readProcCgroup(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
}
