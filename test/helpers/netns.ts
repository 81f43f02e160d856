/**
 * A two-host test network: a client and a server network namespace joined by
 * a veth pair, with dnsmasq in the server answering the names a test asks
 * for, and the client's resolver (/etc/netns/<client>/resolv.conf) pointing
 * at it. Nothing leaves the two namespaces.
 *
 *   const topo = await Topology.create({ hosts: [{ name: 'api.test', ipv4: '10.213.7.1' }] });
 *   t.after(() => topo.destroy());
 *   await topo.exec(topo.client, 'getent', ['ahosts', 'api.test']);
 *
 * Several topologies (one per test file or test) can live at once: names and
 * subnets are random and the namespaces are separate. destroy() removes
 * everything, and so does a safety net at process exit; a topology left by a
 * killed test process is swept by the next create().
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DnsCname, type DnsHost, type DnsQuery, dnsmasqArgs, parseDnsmasqLog } from './dnsmasq.js';
import { findCommand, ManagedProcess, run, type RunOptions, type RunResult, type StartOptions } from './process.js';

/** One side of the veth pair. */
export interface Endpoint {
  /** Network namespace name, e.g. 'hf-3fa9c1-s'. */
  ns: string;
  /** The veth interface inside `ns` (same name as the namespace). */
  iface: string;
  /** 10.213.<k>.1 (server) or .2 (client). */
  ipv4: string;
  /** fd00:213:<k>::1 (server) or ::2 (client). */
  ipv6: string;
  ipv4PrefixLength: 24;
  ipv6PrefixLength: 64;
}

/** Names and addresses of one topology, before anything exists. */
export interface TopologyPlan {
  /** 6 hex digits shared by every name of the topology. */
  id: string;
  /** Third octet of the IPv4 subnet and the fourth group of the IPv6 one, 1..254. */
  k: number;
  server: Endpoint;
  client: Endpoint;
}

export interface TopologyOptions {
  /**
   * Names dnsmasq answers with A/AAAA records; a function gets the plan, to
   * point names at the topology's own addresses:
   * `hosts: ({ server }) => [{ name: 'api.test', ipv4: server.ipv4, ipv6: server.ipv6 }]`.
   */
  hosts?: readonly DnsHost[] | ((plan: TopologyPlan) => readonly DnsHost[]);
  /** CNAMEs dnsmasq answers; targets must be hosts or CNAMEs. */
  cnames?: readonly DnsCname[];
  /** TTL of records without their own, in seconds. @default 60 */
  ttl?: number;
  /** Run dnsmasq at all. @default true */
  dns?: boolean;
  /** Extra dnsmasq arguments, or a function of the addresses, as for `hosts`. */
  dnsmasqArgs?: readonly string[] | ((plan: TopologyPlan) => readonly string[]);
  /** How long to wait for dnsmasq to answer. @default 10000 */
  readyTimeoutMs?: number;
}

/** A namespace: its name or the Endpoint inside it. */
export type Namespace = string | Endpoint;

const NAME_PREFIX = 'hf-';
/** Where live topologies are recorded, so a later run can sweep leftovers. */
const STATE_DIR = '/run/hostflow-test';

const QUIET_IPV6 = ['echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad', 'echo 0 > /proc/sys/net/ipv6/conf/default/router_solicitations'].join(' && ');

/** Pure: names and addresses for a topology with this id and subnet number. */
export function planTopology(id: string, k: number): TopologyPlan {
  if (!/^[0-9a-f]{6}$/.test(id)) throw new RangeError(`topology id must be 6 hex digits, got '${id}'`);
  if (!Number.isInteger(k) || k < 1 || k > 254) throw new RangeError(`subnet number must be 1..254, got ${k}`);
  const endpoint = (side: 's' | 'c', host: 1 | 2): Endpoint => ({
    ns: `${NAME_PREFIX}${id}-${side}`,
    iface: `${NAME_PREFIX}${id}-${side}`,
    ipv4: `10.213.${k}.${host}`,
    ipv6: `fd00:213:${k}::${host}`,
    ipv4PrefixLength: 24,
    ipv6PrefixLength: 64,
  });
  return { id, k, server: endpoint('s', 1), client: endpoint('c', 2) };
}

/**
 * Pure: a fresh plan whose names and subnet are not among those taken.
 * `random` returns random bytes (crypto.randomBytes in real use).
 */
export function allocateTopology(
  taken: { namespaces?: Iterable<string>; subnets?: Iterable<number> } = {},
  random: (size: number) => Uint8Array = randomBytes,
): TopologyPlan {
  const namespaces = new Set(taken.namespaces ?? []);
  const subnets = new Set(taken.subnets ?? []);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const bytes = random(4);
    const id = Buffer.from(bytes.subarray(0, 3)).toString('hex');
    // 1..254; a taken subnet is only avoided while free ones are likely.
    let k = ((bytes[3] ?? 0) % 254) + 1;
    for (let step = 0; step < 254 && subnets.has(k); step++) k = (k % 254) + 1;
    const plan = planTopology(id, k);
    if (!namespaces.has(plan.server.ns) && !namespaces.has(plan.client.ns)) return plan;
  }
  throw new Error('could not find free topology names');
}

/** Pure: the resolv.conf that points a namespace at the topology's dnsmasq. */
export function resolvConf(nameserver: string): string {
  return ['# written by hostflow test/helpers/netns.ts', `nameserver ${nameserver}`, 'options attempts:1 timeout:1', ''].join('\n');
}

/** Network namespaces that `ip netns list` shows. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

interface StateRecord {
  pid: number;
  k: number;
  namespaces: string[];
}

function readStates(): Array<{ file: string; state: StateRecord }> {
  if (!existsSync(STATE_DIR)) return [];
  const states: Array<{ file: string; state: StateRecord }> = [];
  for (const name of readdirSync(STATE_DIR)) {
    if (!name.endsWith('.json')) continue;
    const file = join(STATE_DIR, name);
    try {
      states.push({ file, state: JSON.parse(readFileSync(file, 'utf8')) as StateRecord });
    } catch {
      // Being written or removed by another process: not ours to judge.
    }
  }
  return states;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Synchronous teardown of namespaces, for exit hooks and sweeping. */
function removeNamespacesSync(namespaces: readonly string[]): void {
  const ip = findCommand('ip') ?? 'ip';
  for (const ns of namespaces) {
    try {
      const pids = execFileSync(ip, ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const pid of pids.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    } catch {
      // namespace already gone
    }
    try {
      execFileSync(ip, ['netns', 'delete', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(join('/etc/netns', ns), { recursive: true, force: true });
  }
}

/**
 * Remove topologies recorded by test processes that no longer run (killed
 * before their cleanup). Returns the namespaces removed.
 */
export function sweepStaleTopologies(): string[] {
  const removed: string[] = [];
  for (const { file, state } of readStates()) {
    if (isAlive(state.pid)) continue;
    removeNamespacesSync(state.namespaces);
    rmSync(file, { force: true });
    removed.push(...state.namespaces);
  }
  return removed;
}

const live = new Set<Topology>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanupAll = (): void => {
    for (const topology of live) topology.destroySync();
  };
  process.on('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupAll();
      // Die of the same signal, as without this handler.
      process.kill(process.pid, signal);
    });
  }
}

export class Topology {
  readonly id: string;
  /** Subnet number: 10.213.<k>.0/24 and fd00:213:<k>::/64 (k's decimal digits read as hex). */
  readonly k: number;
  readonly server: Endpoint;
  readonly client: Endpoint;
  /** Temporary folder of this topology (dnsmasq log), removed by destroy(). */
  readonly workDir: string;
  /** dnsmasq's query log, when dns is on. */
  readonly dnsLogFile: string | undefined;
  /** The dnsmasq process, when dns is on. */
  dnsmasq: ManagedProcess | undefined;
  private readonly processes = new Set<ManagedProcess>();
  private readonly stateFile: string;
  private destroyed = false;

  private constructor(plan: TopologyPlan, workDir: string, dns: boolean) {
    this.id = plan.id;
    this.k = plan.k;
    this.server = plan.server;
    this.client = plan.client;
    this.workDir = workDir;
    this.dnsLogFile = dns ? join(workDir, 'dnsmasq.log') : undefined;
    this.stateFile = join(STATE_DIR, `${plan.id}.json`);
  }

  /** Both namespace names, server first. */
  get namespaces(): string[] {
    return [this.server.ns, this.client.ns];
  }

  /**
   * Build the topology and wait until it works: links up and, with dns, until
   * dnsmasq answers the client on both addresses. Cleans up after itself
   * when any step fails.
   */
  static async create(options: TopologyOptions = {}): Promise<Topology> {
    const { dns = true, readyTimeoutMs = 10_000 } = options;
    sweepStaleTopologies();
    const taken = {
      namespaces: await listNamespaces(),
      subnets: readStates().map(({ state }) => state.k),
    };
    const plan = allocateTopology(taken);
    const workDir = await mkdtemp(join(tmpdir(), `hostflow-${plan.id}-`));
    const topology = new Topology(plan, workDir, dns);
    live.add(topology);
    installHooks();
    try {
      await topology.build(options, readyTimeoutMs);
    } catch (error) {
      await topology.destroy();
      throw error;
    }
    return topology;
  }

  /** Run a command to its end inside a namespace (`ip netns exec`). Rejects on a non-zero exit unless `check: false`. */
  exec(ns: Namespace, cmd: string, args: readonly string[] = [], options: Omit<RunOptions, 'ns'> = {}): Promise<RunResult> {
    return run(cmd, args, { ...options, ns: nsName(ns) });
  }

  /** Start a long-running command inside a namespace; destroy() stops it. */
  spawn(ns: Namespace, cmd: string, args: readonly string[] = [], options: Omit<StartOptions, 'ns'> = {}): ManagedProcess {
    const managed = ManagedProcess.start(cmd, args, { ...options, ns: nsName(ns) });
    this.processes.add(managed);
    void managed.exited.then(() => this.processes.delete(managed));
    return managed;
  }

  /** dnsmasq's log so far ('' without dns). */
  async dnsLog(): Promise<string> {
    if (this.dnsLogFile === undefined) return '';
    try {
      return await readFile(this.dnsLogFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The queries dnsmasq received so far, readiness probes included. */
  async dnsQueries(): Promise<DnsQuery[]> {
    return parseDnsmasqLog(await this.dnsLog());
  }

  /**
   * Stop everything started in the namespaces, delete them and their
   * /etc/netns folders and the work folder. Idempotent; never throws for
   * something already gone.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.processes].map((managed) => managed.stop({ timeoutMs: 2000 })));
    for (const ns of this.namespaces) {
      // Anything else a test started in there (hostflow, a client) too.
      const pids = await namespacePids(ns);
      for (const pid of pids) signal(pid, 'SIGTERM');
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && (await namespacePids(ns)).length > 0) await sleep(25);
      for (const pid of await namespacePids(ns)) signal(pid, 'SIGKILL');
      await run('ip', ['netns', 'delete', ns], { check: false });
      await rm(join('/etc/netns', ns), { recursive: true, force: true });
    }
    await rm(this.workDir, { recursive: true, force: true });
    await rm(this.stateFile, { force: true });
    live.delete(this);
  }

  /** destroy() for exit hooks, where nothing asynchronous runs any more. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const managed of this.processes) managed.child.kill('SIGKILL');
    removeNamespacesSync(this.namespaces);
    rmSync(this.workDir, { recursive: true, force: true });
    rmSync(this.stateFile, { force: true });
    live.delete(this);
  }

  private async build(options: TopologyOptions, readyTimeoutMs: number): Promise<void> {
    // Record first, so a test process killed halfway leaves a trace to sweep.
    mkdirSync(STATE_DIR, { recursive: true });
    const state: StateRecord = { pid: process.pid, k: this.k, namespaces: this.namespaces };
    writeFileSync(this.stateFile, JSON.stringify(state));

    const { server, client } = this;
    for (const end of [server, client]) {
      await run('ip', ['netns', 'add', end.ns]);
      // Quiet, instantly usable IPv6 on the interfaces made next: no duplicate
      // address detection (link-local addresses are never 'tentative') and no
      // router solicitations adding packets that tests would have to ignore.
      await run('sh', ['-c', QUIET_IPV6], { ns: end.ns });
    }
    await run('ip', ['link', 'add', client.iface, 'netns', client.ns, 'type', 'veth', 'peer', 'name', server.iface, 'netns', server.ns]);
    for (const end of [server, client]) {
      await ip(end.ns, ['link', 'set', 'lo', 'up']);
      await ip(end.ns, ['addr', 'add', `${end.ipv4}/${end.ipv4PrefixLength}`, 'dev', end.iface]);
      // nodad: usable at once, no duplicate address detection to wait for.
      await ip(end.ns, ['-6', 'addr', 'add', `${end.ipv6}/${end.ipv6PrefixLength}`, 'dev', end.iface, 'nodad']);
      await ip(end.ns, ['link', 'set', end.iface, 'up']);
    }
    await this.waitForLinks(readyTimeoutMs);

    // Both namespaces resolve through dnsmasq; without a file of their own
    // they would use the host's resolver, which is unreachable from here.
    for (const end of [server, client]) {
      await mkdir(join('/etc/netns', end.ns), { recursive: true });
      await writeFile(join('/etc/netns', end.ns, 'resolv.conf'), resolvConf(server.ipv4));
    }

    if (this.dnsLogFile !== undefined) await this.startDns(options, this.dnsLogFile, readyTimeoutMs);
  }

  private async waitForLinks(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const end of [this.server, this.client]) {
      for (;;) {
        const { stdout } = await ip(end.ns, ['-o', 'link', 'show', 'dev', end.iface]);
        if (/state UP/.test(stdout)) break;
        if (Date.now() > deadline) throw new Error(`${end.iface} in ${end.ns} is not up after ${timeoutMs} ms: ${stdout.trim()}`);
        await sleep(20);
      }
    }
  }

  /** The plan this topology was built from. */
  get plan(): TopologyPlan {
    return { id: this.id, k: this.k, server: this.server, client: this.client };
  }

  private async startDns(options: TopologyOptions, logFile: string, timeoutMs: number): Promise<void> {
    const hosts = typeof options.hosts === 'function' ? options.hosts(this.plan) : options.hosts;
    const args = dnsmasqArgs({
      listen: [this.server.ipv4, this.server.ipv6],
      hosts,
      cnames: options.cnames,
      ttl: options.ttl,
      logFile,
      extraArgs: typeof options.dnsmasqArgs === 'function' ? options.dnsmasqArgs(this.plan) : options.dnsmasqArgs,
    });
    const dnsmasq = this.spawn(this.server, findCommand('dnsmasq') ?? 'dnsmasq', args);
    this.dnsmasq = dnsmasq;

    // Ready when dig from the client gets an answer from both addresses; with
    // hosts given, the first one's records must be there.
    const probe = hosts?.[0];
    const probeName = probe?.name ?? 'hostflow-ready.test';
    const probeType = probe !== undefined && probe.ipv4 === undefined ? 'AAAA' : 'A';
    const deadline = Date.now() + timeoutMs;
    for (const address of [this.server.ipv4, this.server.ipv6]) {
      for (;;) {
        if (!dnsmasq.running) throw dnsmasq.failure(`exited at start${await this.logTail()}`);
        const digArgs = [`@${address}`, '+time=1', '+tries=1', probeName, probeType];
        const result = await this.exec(this.client, 'dig', digArgs, { check: false, timeoutMs: 5000 });
        const answered = probe === undefined ? /status: /.test(result.stdout) : /status: NOERROR/.test(result.stdout);
        if (result.code === 0 && answered) break;
        if (Date.now() > deadline) {
          throw new Error(
            `dnsmasq in ${this.server.ns} does not answer ${probeName} at ${address} after ${timeoutMs} ms:\n${result.stdout}${result.stderr}${await this.logTail()}\n${dnsmasq.output()}`,
          );
        }
        await sleep(50);
      }
    }
  }

  private async logTail(): Promise<string> {
    const log = await this.dnsLog();
    return log ? `\ndnsmasq log:\n${log.split('\n').slice(-20).join('\n')}` : '';
  }
}

/** Build a topology and destroy it when the test (or suite) `t` ends, pass or fail. */
export async function withTopology(t: { after(fn: () => Promise<void> | void): void }, options: TopologyOptions = {}): Promise<Topology> {
  const topology = await Topology.create(options);
  t.after(() => topology.destroy());
  return topology;
}

function nsName(ns: Namespace): string {
  return typeof ns === 'string' ? ns : ns.ns;
}

function ip(ns: string, args: readonly string[]): Promise<RunResult> {
  return run('ip', ['-n', ns, ...args]);
}

async function namespacePids(ns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns], { check: false });
  return stdout
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
