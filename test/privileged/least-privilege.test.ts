/**
 * hostflow without root (issue 18): run as `nobody` through setpriv with
 * exactly the capabilities of the README's table, in a topology's client
 * namespace, it records a python3 client's lookup and connection with the
 * process (pid, comm, exe of a root-owned process) and hostname. With one
 * capability it cannot start without missing, it says so in one line and
 * exits 1; without the ones that only turn a feature off, it says which and
 * traces on. After start every thread holds only what running uses, and
 * running (map reads, blocklist updates through the control socket) works
 * with that.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CAPABILITY_NEEDS, capabilityBit, type CapabilityName } from '../../src/system/capability-needs.js';
import { capabilitySet } from '../../src/system/capabilities.js';
import type { RunSummary } from '../../src/run.js';
import { CLI, parseJsonLines, type JsonLine } from '../helpers/hostflow.js';
import { cliReadableBy, type SharedCli } from '../helpers/nobody-cli.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { ManagedProcess, python3, run } from '../helpers/process.js';
import { startReplyServer, type ReplyServer } from '../helpers/workload.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'setpriv'], features: ['netns' as const, 'btf' as const] };

const NAME = 'api.least-privilege.test';
const NOBODY = 65534;
/** The CLI at a path nobody can read (set in the suite's before). */
let shared: SharedCli = { cli: CLI, release: async () => {} };
/** Every capability of the table: what the README documents and the unit grants. */
const DOCUMENTED = [...new Set(CAPABILITY_NEEDS.map((need) => need.capability))];

/**
 * python3 that resolves NAME with getaddrinfo, talks to the reply server,
 * prints its pid, and lives on until stdin closes: hostflow reads its
 * executable while it runs (a client that exits at once has none to read).
 */
const LINGERING_CLIENT = `
import os, socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
s = socket.create_connection(address, timeout=5)
s.sendall(struct.pack('>I', 1000) + b'x' * 96)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
print('DONE', os.getpid(), flush=True)
sys.stdin.read()
`;

async function lingeringClient(ns: string, port: number): Promise<{ pid: number; release(): Promise<void> }> {
  const child = ManagedProcess.start(python3(), ['-u', '-c', LINGERING_CLIENT, NAME, String(port)], { ns, stdin: true });
  const release = async () => {
    child.child.stdin?.end();
    await child.stop({ signal: 'SIGKILL', timeoutMs: 5_000 });
  };
  try {
    const [, pid] = await child.waitForLine(/^DONE (\d+)$/, { stream: 'stdout', timeoutMs: 15_000 });
    return { pid: Number(pid), release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Waits until hostflow has written the close record of `pid`'s connection. */
async function waitForClose(hostflow: Run, pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  // Only whole lines: the last one may be half written.
  const written = () =>
    readText(join(hostflow.dir, 'records.jsonl'))
      .split('\n')
      .slice(0, -1)
      .some((text) => {
        const line = JSON.parse(text) as JsonLine;
        return line.type === 'conn' && line.pid === pid && line.event === 'close';
      });
  while (!written()) {
    if (Date.now() > deadline) throw new Error(`no close record of pid ${pid} within 20 s: ${hostflow.process.output(50)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** setpriv's name of a capability: CAP_NET_ADMIN -> net_admin. */
const setprivName = (name: CapabilityName) => name.replace(/^CAP_/, '').toLowerCase();

/** The command that runs what follows as nobody with exactly `capabilities` (inheritable and ambient, so node gets them). */
function asNobody(capabilities: readonly CapabilityName[]): string[] {
  const list = capabilities.length > 0 ? capabilities.map((name) => `+${setprivName(name)}`).join(',') : '-all';
  return ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', `--inh-caps=${list}`, `--ambient-caps=${list}`];
}

const maskOf = (names: readonly CapabilityName[]) => names.reduce((mask, name) => mask | capabilityBit(name), 0n);

/** Every thread's sets of a running process. */
function threadSets(pid: number): Array<{ tid: string; effective: bigint; permitted: bigint; ambient: bigint }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return { tid, effective: capabilitySet(status, 'CapEff'), permitted: capabilitySet(status, 'CapPrm'), ambient: capabilitySet(status, 'CapAmb') };
  });
}

interface Run {
  process: ManagedProcess;
  dir: string;
  control: string;
  stop(): Promise<{ code: number | null; lines: JsonLine[]; stderr: string; summary: RunSummary | null }>;
}

/**
 * Starts hostflow headless in `ns` behind `launcher` (none: as root), with
 * its files in a folder the user it runs as owns (root keeps no
 * CAP_DAC_OVERRIDE after start: the summary is written into a folder it owns); waits until it traces.
 */
async function startAs(launcher: readonly string[], ns: string, args: readonly string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'hostflow-least-privilege-'));
  if (launcher.length > 0) chownSync(dir, NOBODY, NOBODY);
  const output = join(dir, 'records.jsonl');
  const control = join(dir, 'control.sock');
  const summaryFile = join(dir, 'summary.json');
  const [command = process.execPath, ...rest] = [...launcher, process.execPath];
  const child = ManagedProcess.start(command, [...rest, shared.cli, '--headless', '-o', output, '--summary-json', summaryFile, '--control', control, ...args], {
    ns,
  });
  try {
    await child.waitForLine(/tracing; Ctrl-C to stop/, { stream: 'stderr', timeoutMs: 30_000 });
  } catch (error) {
    await child.stop({ signal: 'SIGKILL' });
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    process: child,
    dir,
    control,
    stop: async () => {
      const status = await child.stop({ signal: 'SIGINT', timeoutMs: 15_000 });
      let text = '';
      try {
        text = readFileSync(output, 'utf8');
      } catch {
        // no records written
      }
      const summary = readText(summaryFile);
      rmSync(dir, { recursive: true, force: true });
      return { code: status.code, lines: parseJsonLines(text), stderr: child.output(200), summary: summary ? (JSON.parse(summary) as RunSummary) : null };
    },
  };
}

describe('least privilege: nobody with the documented capabilities', privilegedSuite(requirements), () => {
  let topo: Topology;
  let server: ReplyServer;

  before(async () => {
    shared = cliReadableBy();
    topo = await Topology.create({ hosts: (plan) => [{ name: NAME, ipv4: plan.server.ipv4 }] });
    server = await startReplyServer({ ns: topo.server, host: '0.0.0.0' });
  });

  after(async () => {
    await server?.stop();
    await topo?.destroy();
    await shared.release();
  });

  test('records the lookup and the connection with their process and hostname', async () => {
    const hostflow = await startAs(asNobody(DOCUMENTED), topo.client.ns, ['-i', topo.client.iface]);
    let stopped;
    try {
      const pid = hostflow.process.child.pid ?? 0;
      const threads = threadSets(pid);
      for (const thread of threads) {
        assert.equal(thread.permitted & ~maskOf(DOCUMENTED), 0n, `thread ${thread.tid} holds nothing beyond the table`);
        assert.equal(thread.ambient, 0n, `thread ${thread.tid}: nothing left for children`);
      }
      const client = await lingeringClient(topo.client.ns, server.port);
      try {
        await waitForClose(hostflow, client.pid);
      } finally {
        await client.release();
      }
      stopped = await hostflow.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.doesNotMatch(stopped.stderr, /missing CAP_/);
      // The sweep of sockets that ended unseen runs with these capabilities too (it ran at least at stop).
      assert.doesNotMatch(stopped.stderr, /closes the kernel's probes missed will not be found/);
      assert.match(stopped.stderr, new RegExp(`capabilities: kept .* in all ${threads.length} threads`));
      const lookup = stopped.lines.find((line) => line.type === 'dns' && line.pid === client.pid && line.source === 'getaddrinfo');
      assert.ok(lookup, `a getaddrinfo record of the client (uprobes as nobody): ${stopped.stderr}`);
      assert.equal(lookup.host, NAME);
      const conn = stopped.lines.find((line) => line.type === 'conn' && line.pid === client.pid && line.dport === server.port);
      assert.ok(conn, `the client's connection: ${stopped.stderr}`);
      assert.equal(conn.host, NAME);
      assert.equal(conn.host_source, 'process');
      assert.match(String(conn.comm), /python/);
      // The client runs as root: its executable is read with CAP_SYS_PTRACE.
      assert.match(String(conn.exe), /python3/);
    } finally {
      if (!stopped) await hostflow.stop();
    }
  });

  test('a capability it cannot start without is one line naming it and what needs it, and exit 1', async () => {
    const withoutNetAdmin = DOCUMENTED.filter((name) => name !== 'CAP_NET_ADMIN');
    const result = await run(
      asNobody(withoutNetAdmin)[0] ?? 'setpriv',
      [...asNobody(withoutNetAdmin).slice(1), process.execPath, shared.cli, '--headless', '-i', topo.client.iface],
      {
        ns: topo.client.ns,
        check: false,
      },
    );
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      'hostflow: missing CAP_NET_ADMIN: needed for XDP and TC on the traced interfaces, attached again when an interface comes back; the cgroup socket hooks',
    ]);
    const none = await run('setpriv', [...asNobody([]).slice(1), process.execPath, shared.cli, '--headless', '-i', topo.client.iface], {
      ns: topo.client.ns,
      check: false,
    });
    assert.equal(none.code, 1);
    assert.deepEqual(
      none.stderr
        .trim()
        .split('\n')
        .map((line) => /^hostflow: missing (CAP_\w+): needed for /.exec(line)?.[1]),
      ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'],
    );
  });

  test('without the capabilities that only turn a feature off, it says which and names connections from the wire', async () => {
    const required: CapabilityName[] = ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'];
    const hostflow = await startAs(asNobody(required), topo.client.ns, ['-i', topo.client.iface]);
    const client = await lingeringClient(topo.client.ns, server.port);
    try {
      await waitForClose(hostflow, client.pid);
    } finally {
      await client.release();
    }
    const stopped = await hostflow.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /hostflow: missing CAP_SYS_ADMIN: needed for getaddrinfo uprobes.*without it lookups are named from DNS messages only/);
    assert.match(stopped.stderr, /hostflow: missing CAP_SYS_PTRACE: needed for reading other users' processes/);
    const conn = stopped.lines.find((line) => line.type === 'conn' && line.pid === client.pid && line.dport === server.port);
    assert.ok(conn, stopped.stderr);
    assert.equal(conn.host, NAME, 'named from the DNS answer at the interface');
    assert.equal(conn.exe, null, "a root process's executable is not readable without CAP_SYS_PTRACE");
    assert.match(
      stopped.stderr,
      /summary: note identity: the executable of \d+ process(es)? could not be read \(another user's, without CAP_SYS_PTRACE\)/,
      JSON.stringify(stopped.summary?.session.identity),
    );
  });

  test('after start every thread holds only what running uses, and running works with it', async () => {
    // As root, without libc discovery: CAP_BPF, CAP_NET_ADMIN and CAP_SYS_PTRACE stay, the rest of root's set goes.
    const kept = maskOf(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE']);
    const hostflow = await startAs([], topo.client.ns, ['-i', topo.client.iface, '--no-libc-discovery']);
    let stopped;
    try {
      const pid = hostflow.process.child.pid ?? 0;
      const threads = threadSets(pid);
      assert.ok(threads.length > 5, 'node runs several threads');
      for (const thread of threads) {
        assert.equal(thread.effective, kept, `thread ${thread.tid} effective`);
        assert.equal(thread.permitted, kept, `thread ${thread.tid} permitted`);
        assert.equal(thread.ambient, 0n);
      }
      const ctl = async (...words: string[]) =>
        JSON.parse((await run(process.execPath, [CLI, 'ctl', '--socket', hostflow.control, '--json', ...words])).stdout) as { ok: boolean; result: unknown };
      // A map update (the blocklist) and map reads (stats, the blocklist's counters) on CAP_BPF alone.
      assert.equal((await ctl('block-src', '203.0.113.9')).ok, true);
      assert.match(JSON.stringify((await ctl('list-block-src')).result), /203\.0\.113\.9\/32/);
      assert.equal((await ctl('stats')).ok, true);
      stopped = await hostflow.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /capabilities: kept CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_BPF, dropped the rest in all \d+ threads/);
      assert.match(stopped.stderr, /healthy: nothing lost, nothing failed/);
    } finally {
      if (!stopped) await hostflow.stop();
    }
  });
});

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
