/**
 * The JavaScript surface of the native addon (addon/), declared once.
 * Every method runs on the JavaScript thread unless its comment says
 * otherwise; every failure is thrown as an Error whose message names the
 * program or map, the libbpf call and the errno (`code` carries the errno
 * name, e.g. 'EPERM').
 */

/** Options of `new BpfObject()`; all applied between open and load. */
export interface BpfObjectOptions {
  /**
   * ELF bytes of a BPF object to open. Default: the hostflow object embedded
   * in the addon at build time (from build/bpf/hostflow.skel.h).
   */
  object?: Buffer;
  /** Name used in error messages and bpftool listings. @default 'hostflow' */
  name?: string;
}

/** A link the addon holds; detached by `detach()` or `close()`. */
export interface ProgramStats {
  name: string;
  /** Runs the kernel skipped because a BPF program was already running on that CPU. */
  recursionMisses: number;
  /** 0 unless kernel.bpf_stats_enabled is set. */
  runCount: number;
  runTimeNs: number;
}

export interface LinkInfo {
  /** Handle for `detach()`; unique within one BpfObject. */
  id: number;
  program: string;
  /** 'tracepoint' | 'kprobe' | 'kretprobe' | 'fentry' | 'fexit' | 'uprobe' | 'uretprobe' | 'xdp' | 'tcx' | 'tc-netlink' */
  kind: string;
  /** Human description of the target: 'sock/inet_sock_set_state', 'lo', '/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo'. */
  target: string;
  /** Kernel link id from bpf_link_get_info_by_fd, 0 when the attachment is not a bpf_link (tc-netlink). */
  kernelLinkId: number;
}

/** Result of one BPF_PROG_TEST_RUN. */
export interface TestRunResult {
  retval: number;
  /** Average run time per repetition reported by the kernel, in ns. */
  durationNs: number;
  /** Packet bytes after the program ran. */
  dataOut: Buffer;
}

/** Entries of a map read in one pass (bpf_map_lookup_batch, or iteration when batch ops are missing). */
export interface MapDump {
  count: number;
  keySize: number;
  /** Bytes per entry in `values`: value size rounded up to 8, times the possible CPUs for per-CPU maps. */
  valueStride: number;
  /** Possible CPUs for per-CPU maps, 1 otherwise. */
  cpus: number;
  keys: Buffer;
  values: Buffer;
}

export interface BpfObject {
  /** Program names (C function names) in the object. */
  programs(): string[];
  /** The kernel's counts for each loaded program (bpf_prog_info). */
  programStats(): ProgramStats[];
  /** Map names in the object (including .rodata/.bss internal maps). */
  maps(): string[];

  /* --- between open and load --- */
  /** Whether `load()` loads this program; programs not loaded cannot attach. */
  setAutoload(program: string, load: boolean): void;
  /** Sets a `const volatile` global in .rodata by name; `value` must be exactly the variable's size. */
  setConst(name: string, value: Buffer): void;
  /** Overrides a map's max_entries (ring buffers: bytes, a power of 2 and multiple of the page size). */
  setMaxEntries(map: string, entries: number): void;
  /** Loads every autoload program; on verifier rejection throws with the tail of the log in the message and the whole log in `error.verifierLog`. */
  load(): void;

  /* --- after load --- */
  attachTracepoint(program: string, category: string, name: string): LinkInfo;
  /** A raw tracepoint: its own recursion guard, not the one classic tracepoints share per CPU. */
  attachRawTracepoint(program: string, name: string): LinkInfo;
  attachKprobe(program: string, func: string, retprobe: boolean): LinkInfo;
  /** fentry/fexit: the target is in the program's section name. */
  attachTracing(program: string): LinkInfo;
  /** pid -1: every process. `func` is resolved by libbpf in the ELF's symbol tables. */
  attachUprobe(program: string, binaryPath: string, func: string, retprobe: boolean, pid?: number): LinkInfo;
  /**
   * XDP as a bpf_link. mode 'native' (the driver's XDP) or 'generic' (the
   * kernel's, after the socket buffer is built) asks for that mode and fails
   * when the device refuses it; 'kernel' (the default) lets the kernel pick:
   * native where the driver has XDP at all, generic otherwise.
   */
  attachXdp(program: string, ifindex: number, mode?: 'native' | 'generic' | 'kernel'): LinkInfo;
  /** TC as a tcx bpf_link where the kernel has tcx (6.6+); otherwise a clsact netlink filter (kind 'tc-netlink'), removed by detach/close. */
  attachTc(program: string, ifindex: number, direction: 'ingress' | 'egress'): LinkInfo;
  /** A cgroup program (cgroup/*, cgroup_skb/*) on the cgroup v2 directory `path`, as a multi-attach bpf_link. */
  attachCgroup(program: string, path: string): LinkInfo;
  detach(linkId: number): void;
  links(): LinkInfo[];

  /** Reads every entry of a hash/LRU (per-CPU or not) map. */
  dumpMap(map: string): MapDump;
  /** Reads one key of an array or per-CPU array; per-CPU values come back concatenated with a stride of the value size rounded to 8. */
  lookup(map: string, key: Buffer): Buffer | null;
  update(map: string, key: Buffer, value: Buffer): void;
  delete(map: string, key: Buffer): boolean;
  /** Runs a loaded program once per repetition on `data` (XDP/TC/socket programs). */
  testRun(program: string, data: Buffer, repeat: number): TestRunResult;
  /** Runs a loaded program that takes no packet once (a raw tracepoint program left unattached); its return value. */
  run(program: string): number;

  /** Detaches every link, stops pollers created from this object, frees the object. Idempotent. */
  close(): void;
}

/** Options of `new RingPoller()`. */
export interface RingPollerOptions {
  /** Hand a batch to JavaScript once it holds this many bytes. @default 1048576 */
  batchBytes?: number;
  /** Longest wait in the kernel before a partial batch is handed over, in ms. @default 50 */
  flushMs?: number;
  /** Batches queued for JavaScript before the poll thread waits (and the kernel ring fills and counts drops). @default 64 */
  maxQueuedBatches?: number;
}

/**
 * One batch of ring-buffer records: a sequence of
 *   u32 byteLength, u32 ringIndex (index in the `maps` array), bytes,
 * each record padded to 8 bytes, little endian.
 */
export type BatchHandler = (batch: Buffer) => void;

export interface PollerStats {
  batches: number;
  records: number;
  bytes: number;
}

export interface RingPoller {
  /** Stops the thread after a final drain; resolves when every batch has reached the handler. */
  stop(): Promise<void>;
  stats(): PollerStats;
}

export interface NativeAddon {
  BpfObject: new (options?: BpfObjectOptions) => BpfObject;
  /** Starts a poll thread on the given ring-buffer maps of a loaded object. */
  RingPoller: new (object: BpfObject, maps: string[], onBatch: BatchHandler, options?: RingPollerOptions) => RingPoller;
  /** libbpf version the addon was built against, e.g. '1.1'. */
  libbpfVersion(): string;
  /** Number of possible CPUs (libbpf_num_possible_cpus). */
  possibleCpus(): number;
  /** ifindex of an interface in the calling thread's network namespace (if_nametoindex), null when there is none. */
  interfaceIndex(name: string): number | null;
  /** Every interface of the calling thread's network namespace (if_nameindex), by index. */
  interfaces(): Array<{ index: number; name: string }>;
  /** The interface's driver (ethtool), e.g. 'virtio_net'; null when it reports none (lo) or is gone. */
  interfaceDriver(name: string): string | null;
  /** The calling thread's network namespace cookie (SO_NETNS_COOKIE, 5.14+) as a decimal string; null where the kernel has none. */
  netnsCookie(): string | null;
  /**
   * Lowers the effective, permitted and inheritable sets of every thread of
   * the process to `keep` and clears their ambient sets (each thread drops
   * its own, signalled with glibc's SIGSETXID). Throws when the calling
   * thread cannot; the others' failures are counted.
   */
  dropCapabilities(keep: bigint): CapabilityDrop;
}

/** What dropCapabilities did in the other threads. */
export interface CapabilityDrop {
  /** Threads signalled to drop their own. */
  signalled: number;
  /** Threads that answered (dropped or failed). */
  answered: number;
  /** Threads whose capset was refused. */
  failed: number;
  /** Some thread did not answer within 2 s (its handler stays installed until it does). */
  timedOut: boolean;
}
