/**
 * Every lookup and every datagram has its process (issue 15), end to end:
 * hostflow runs in the client namespace of a topology whose dnsmasq gives
 * several names one address, and real clients that never call libc's
 * getaddrinfo resolve and talk:
 * - a statically linked Go binary resolves `alpha`, python3 then resolves
 *   `beta` (the same address), and the Go binary connects to the address
 *   over TCP and sends over UDP: every record of the Go process says
 *   `alpha`, `host_source` `process`, and its `dns` records carry its pid;
 * - `dig` over UDP and `+tcp`, a failed lookup (NXDOMAIN) and one nobody
 *   answers (TIMEOUT), each a `dns` record of dig's pid;
 * - python3 and Go UDP clients: `udp` records and UDP flow records with
 *   pid, comm, name and exact datagram and byte counts both ways;
 * - a real QUIC handshake (ngtcp2) named by the SNI of its Initial when no
 *   DNS is seen;
 * - a forked child that connects after its parent exited: its parent pid
 *   and executable are the ones /proc shows for it.
 * Then the naming workload (glibc, musl, Go, dig, python UDP, QUIC) is
 * scored: the share of conversations named right, per process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHostflow, summaryOf, type JsonLine, type StoppedHostflow } from '../helpers/hostflow.js';
import { runNamingWorkload, namingWorkloadHosts, type NamingWorkloadTruth, type WorkloadFlow } from '../helpers/naming-workload.js';
import { Topology, type TopologyPlan } from '../helpers/netns.js';
import { RecordFile } from '../helpers/records.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';
import { QUIC_COMMANDS, runQuicClient, startQuicServer } from '../helpers/quic.js';
import { startTcpServer } from '../helpers/servers.js';
import { buildGoClient, runUdpClient, startClient, type ClientRun, type ClientStep } from '../helpers/static-clients.js';
import { startUdpEchoServer, udpPeerKey, type UdpCounts } from '../helpers/udp-server.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'go', ...QUIC_COMMANDS], features: ['netns' as const, 'btf' as const] };

const ALPHA = 'alpha.process-names.test';
const BETA = 'beta.process-names.test';
const QUIC_NAME = 'h3.process-names.test';
const MISSING = 'missing.process-names.test';
const UDP_DATAGRAMS = 5;
const UDP_BYTES = 100;
/** A neighbour address nobody holds: a query to it is never answered. */
const SILENT_HOST = 200;

const hosts = (plan: TopologyPlan) => [ALPHA, BETA, QUIC_NAME].map((name) => ({ name, ipv4: plan.server.ipv4 }));
const of = (lines: JsonLine[], type: string) => lines.filter((l) => l.type === type);

/**
 * A python3 parent that forks and exits at once; its child waits for the
 * parent to be gone, connects, prints its pid, and waits for a file before
 * exiting, so the test reads its /proc while it runs.
 */
const FORK_SCRIPT = `
import os, socket, sys, time
host, port, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parent = os.getpid()
if os.fork() != 0:
    os._exit(0)
while os.getppid() == parent:
    time.sleep(0.01)
s = socket.create_connection((host, port), timeout=5)
s.sendall(b"x" * 10)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
print(os.getpid(), flush=True)
while not os.path.exists(release):
    time.sleep(0.02)
`;

describe('every lookup and datagram has its process: static Go, dig, UDP, QUIC, forked children', privilegedSuite(requirements), () => {
  let topo: Topology;
  let run: StoppedHostflow;
  let go: ClientRun;
  let goUdp: ClientStep;
  let pyUdp: ClientStep;
  let echoCounts: UdpCounts;
  let digPids: { udp: number; tcp: number; missing: number; silent: number };
  let child: { pid: number; ppid: number; exe: string };
  let workDir = '';

  before(async () => {
    topo = await Topology.create({ hosts });
    workDir = mkdtempSync(join(tmpdir(), 'hostflow-names-'));
    const address = topo.server.ipv4;
    const tcp = await startTcpServer({ ns: topo.server, host: address, bytes: 500 });
    const echo = await startUdpEchoServer({ ns: topo.server, host: address });
    const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1', '--no-control', '--dns-timeout', '1'], { ns: topo.client.ns });
    try {
      // The Go binary resolves alpha, waits while python3 resolves beta, then talks to the address.
      const gate = join(workDir, 'go-gate');
      const goRun = startClient(
        await goBinary(),
        [
          'resolve',
          ALPHA,
          'sleep-until-file',
          gate,
          'tcp',
          `${address}:${tcp.port}`,
          'send',
          '100',
          'udp',
          `${address}:${echo.port}`,
          'send',
          `${UDP_DATAGRAMS}x${UDP_BYTES}`,
        ],
        { ns: topo.client },
      );
      await sleep(300);
      await topo.exec(topo.client, python3(), ['-c', `import socket; socket.getaddrinfo(${JSON.stringify(BETA)}, 80)`]);
      await sleep(100);
      writeFileSync(gate, '');
      go = await goRun.finished;
      goUdp = go.steps.find((step) => step.step === 'udp') as ClientStep;
      // python3 resolves beta itself (getaddrinfo) and sends over a connected UDP socket.
      pyUdp = await runUdpClient({ ns: topo.client, mode: 'connected', host: BETA, port: echo.port, datagrams: UDP_DATAGRAMS, datagramBytes: UDP_BYTES });
      // dig: UDP, TCP, a name that does not exist, and a resolver that never answers.
      const dig = (args: string[]) => startClient('dig', ['+tries=1', '+time=1', ...args], { ns: topo.client }).finished;
      const silent = address.replace(/\.1$/, `.${SILENT_HOST}`);
      // dig exits 9 when no server answers: its pid is what counts.
      const silentDig = startClient('dig', ['+tries=1', '+time=1', `@${silent}`, ALPHA, 'A'], { ns: topo.client });
      await silentDig.finished.catch(() => undefined);
      digPids = {
        udp: (await dig([`@${address}`, ALPHA, 'A'])).pid,
        tcp: (await dig(['+tcp', `@${address}`, BETA, 'A'])).pid,
        missing: (await dig([`@${address}`, MISSING, 'A'])).pid,
        silent: silentDig.pid,
      };
      // A forked child whose parent has exited connects.
      const release = join(workDir, 'release');
      const forked = topo.spawn(topo.client, python3(), ['-c', FORK_SCRIPT, address, String(tcp.port), release]);
      const pid = Number((await forked.waitForLine(/^\d+$/, { stream: 'stdout' }))[0]);
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      child = { pid, ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), exe: readlinkSync(`/proc/${pid}/exe`) };
      // hostflow reads /proc when an event arrives: the child lives until its close is written.
      await new RecordFile(hostflow.output).waitFor(
        (records) => records.some((l) => l.type === 'conn' && l.event === 'close' && l.pid === pid),
        () => `no close record of the forked child ${pid}`,
      );
      writeFileSync(release, '');
      await forked.exited;
      echoCounts = await echo.counts();
      await sleep(1500);
    } finally {
      run = await hostflow.stop('SIGINT');
      await Promise.all([tcp.stop(), echo.stop()]);
    }
  });

  after(async () => {
    await topo?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test('hostflow ends cleanly with the socket hooks attached', (t) => {
    t.diagnostic(summaryOf(run.stderr) || 'no summary');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /socket hooks: cgroup2/);
    assert.match(run.stderr, /summary: ok events: \d+ delivered; none lost/);
  });

  test("the Go binary's lookup carries its pid, and all its records say alpha, from its own process", () => {
    const lookups = of(run.lines, 'dns').filter((l) => l.host === ALPHA && l.pid === go.pid);
    assert.ok(lookups.length >= 1, JSON.stringify(of(run.lines, 'dns')));
    for (const lookup of lookups) {
      assert.equal(lookup.source, 'wire');
      assert.equal(lookup.comm, 'go-client');
      assert.equal(lookup.server, topo.server.ipv4);
      assert.equal(typeof lookup.latency_ms, 'number');
    }
    const mine = run.lines.filter((l) => (l.type === 'conn' || l.type === 'udp') && l.pid === go.pid && l.direction !== 'in');
    assert.ok(mine.some((l) => l.type === 'conn') && mine.some((l) => l.type === 'udp'), JSON.stringify(mine));
    for (const record of mine) {
      assert.equal(record.host, ALPHA, JSON.stringify(record));
      assert.equal(record.host_source, 'process', JSON.stringify(record));
    }
  });

  test('UDP conversations of Go and python3: process, own name and exact counts both ways; their flows carry the process', () => {
    for (const [client, pid, comm, name] of [
      [goUdp, go.pid, 'go-client', ALPHA],
      [pyUdp, pyUdp.pid, 'python3', BETA],
    ] as const) {
      const conversation = of(run.lines, 'udp').filter((l) => l.sport === client.localPort && l.dport === client.remotePort && l.daddr === topo.server.ipv4);
      const close = conversation.find((l) => l.event === 'close');
      assert.ok(close, JSON.stringify(of(run.lines, 'udp')));
      const echoed = echoCounts[udpPeerKey(topo.client.ipv4, client.localPort ?? 0)];
      assert.ok(echoed, JSON.stringify(echoCounts));
      assert.deepEqual([close.pid, close.comm, close.host, close.host_source, close.end_reason], [pid, comm, name, 'process', 'close'], JSON.stringify(close));
      assert.deepEqual(
        [close.packets_sent, close.bytes_sent, close.packets_received, close.bytes_received],
        [echoed.datagramsReceived, echoed.bytesReceived, echoed.datagramsSent, echoed.bytesSent],
      );
      assert.equal(close.packets_sent, UDP_DATAGRAMS);
      assert.equal(close.bytes_sent, UDP_DATAGRAMS * UDP_BYTES);
      const flows = of(run.lines, 'flow').filter((l) => l.proto === 'udp' && (l.sport === client.localPort || l.dport === client.localPort));
      assert.ok(flows.length >= 2, JSON.stringify(flows));
      for (const flow of flows) assert.deepEqual([flow.pid, flow.comm], [pid, comm], JSON.stringify(flow));
      const sum = (direction: string, field: 'packets' | 'bytes') =>
        flows.filter((f) => f.direction === direction).reduce((total, f) => total + (f[field] as number), 0);
      // Flow bytes are IP bytes: 28 bytes of IPv4 and UDP headers per datagram.
      assert.deepEqual([sum('egress', 'packets'), sum('egress', 'bytes')], [UDP_DATAGRAMS, UDP_DATAGRAMS * (UDP_BYTES + 28)]);
      assert.deepEqual([sum('ingress', 'packets'), sum('ingress', 'bytes')], [UDP_DATAGRAMS, UDP_DATAGRAMS * (UDP_BYTES + 28)]);
    }
    // DNS's own sockets are dns records, not conversations.
    assert.equal(of(run.lines, 'udp').filter((l) => l.dport === 53).length, 0);
  });

  test("dig over UDP and TCP, NXDOMAIN and a silent resolver: dns records of dig's pid", () => {
    const dns = of(run.lines, 'dns');
    const byPid = (pid: number) => dns.filter((l) => l.pid === pid);
    const [udp] = byPid(digPids.udp);
    assert.deepEqual([udp?.host, udp?.status, udp?.addrs], [ALPHA, 'NOERROR', [topo.server.ipv4]], JSON.stringify(dns));
    const [tcp] = byPid(digPids.tcp);
    assert.deepEqual([tcp?.host, tcp?.status, tcp?.addrs], [BETA, 'NOERROR', [topo.server.ipv4]], JSON.stringify(dns));
    const [missing] = byPid(digPids.missing);
    assert.deepEqual([missing?.host, missing?.status], [MISSING, 'NXDOMAIN'], JSON.stringify(dns));
    const [silent] = byPid(digPids.silent);
    assert.deepEqual([silent?.host, silent?.status, silent?.addrs], [ALPHA, 'TIMEOUT', []], JSON.stringify(dns));
    assert.match(run.stderr, /DNS queries: \d+ sent by local processes: \d+ answered, [1-9]\d* timed out/);
  });

  test('a forked child that connects after its parent exited: its parent pid and executable are the ones /proc gave', () => {
    const conns = of(run.lines, 'conn').filter((l) => l.pid === child.pid);
    assert.ok(conns.length >= 2, JSON.stringify(of(run.lines, 'conn')));
    for (const conn of conns) {
      assert.equal(conn.ppid, child.ppid, JSON.stringify(conn));
      assert.equal(conn.exe, child.exe, JSON.stringify(conn));
      assert.equal(conn.cmdline, null, 'no command lines without --cmdline');
    }
  });
});

describe('QUIC: a handshake named by the SNI of its Initial', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    topo = await Topology.create({ hosts });
  });
  after(async () => {
    await topo?.destroy();
  });

  test('with no DNS seen, the conversation is named by its QUIC Initial; with DNS, by its own lookup', async () => {
    const server = await startQuicServer({ ns: topo.server, host: topo.server.ipv4, certName: QUIC_NAME });
    try {
      for (const dnsSeen of [false, true]) {
        // Without the libc probes, and resolved from the namespace's hosts file (no DNS message), the SNI is the only name there is.
        const hostsFile = `/etc/netns/${topo.client.ns}/hosts`;
        if (dnsSeen) rmSync(hostsFile, { force: true });
        else writeFileSync(hostsFile, `127.0.0.1 localhost\n${topo.server.ipv4} ${QUIC_NAME}\n`);
        const args = dnsSeen ? [] : ['--no-default-libc'];
        const hostflow = await startHostflow(['-i', topo.client.iface, '--no-flows', '--no-control', ...args], { ns: topo.client.ns });
        let stopped: StoppedHostflow;
        let client: Awaited<ReturnType<typeof runQuicClient>>;
        try {
          client = await runQuicClient({ ns: topo.client, host: QUIC_NAME, port: server.port });
          await sleep(1500);
        } finally {
          stopped = await hostflow.stop('SIGINT');
        }
        assert.equal(stopped.code, 0, stopped.stderr);
        const records = of(stopped.lines, 'udp').filter((l) => l.pid === client.pid && l.dport === server.port);
        assert.ok(records.length >= 2, JSON.stringify(of(stopped.lines, 'udp')));
        for (const record of records) {
          assert.equal(record.host, QUIC_NAME, JSON.stringify(record));
          assert.equal(record.host_source, dnsSeen ? 'process' : 'quic', JSON.stringify(record));
        }
        const close = records.find((l) => l.event === 'close');
        assert.deepEqual([close?.packets_sent, close?.bytes_sent], [client.datagramsSent, client.bytesSent]);
        // The client logs the datagrams it read; one that reaches its socket
        // while it closes (the server's last ACK or close) is counted by the
        // kernel but never read, so only at most that much more is allowed.
        const [received, bytesReceived] = [Number(close?.packets_received), Number(close?.bytes_received)];
        const unread = received - client.datagramsReceived;
        assert.ok(
          unread >= 0 && unread <= 2 && bytesReceived >= client.bytesReceived,
          JSON.stringify({ close, client: [client.datagramsReceived, client.bytesReceived] }),
        );
        assert.equal(unread === 0, bytesReceived === client.bytesReceived, JSON.stringify(close));
      }
    } finally {
      await server.stop();
    }
  });
});

describe('the naming workload: glibc, musl, static Go, dig, python UDP and QUIC, each named right', privilegedSuite(requirements), () => {
  let topo: Topology;
  let truth: NamingWorkloadTruth;
  let run: StoppedHostflow;

  before(async () => {
    topo = await Topology.create({ hosts: namingWorkloadHosts });
    const hostflow = await startHostflow(['-i', topo.client.iface, '--no-flows', '--no-control'], { ns: topo.client.ns });
    try {
      truth = await runNamingWorkload(topo);
      await sleep(1500);
    } finally {
      run = await hostflow.stop('SIGINT');
    }
  });
  after(async () => {
    await topo?.destroy();
  });

  test('every conversation is named with its own process name', (t) => {
    assert.equal(run.code, 0, run.stderr);
    const verdicts = truth.flows.map((flow) => ({ flow, problem: namingProblem(flow, run.lines) }));
    const right = verdicts.filter((v) => v.problem === null).length;
    t.diagnostic(`named right, per process: ${right} of ${verdicts.length}`);
    for (const { flow, problem } of verdicts) t.diagnostic(`${flow.client} ${flow.protocol}: ${problem ?? 'right'}`);
    assert.deepEqual(
      verdicts.filter((v) => v.problem !== null).map((v) => `${v.flow.client} ${v.flow.protocol}: ${v.problem}`),
      [],
    );
  });
});

/** Why hostflow's records of one workload conversation are not right, or null when they are. */
function namingProblem(flow: WorkloadFlow, lines: JsonLine[]): string | null {
  if (flow.protocol === 'dns') {
    const lookup = lines.find((l) => l.type === 'dns' && l.pid === flow.pid && l.host === flow.name && l.source === 'wire');
    return lookup ? null : 'no dns record of its pid';
  }
  const type = flow.protocol === 'tcp' ? 'conn' : 'udp';
  const records = lines.filter((l) => l.type === type && l.sport === flow.localPort && l.dport === flow.remotePort && l.daddr === flow.remoteAddress);
  if (records.length === 0) return `no ${type} record`;
  for (const record of records) {
    if (record.pid !== flow.pid) return `pid ${String(record.pid)}, not ${flow.pid}`;
    if (record.host !== flow.name) return `named ${String(record.host)} (${String(record.host_source)}), not ${flow.name}`;
    if (record.host_source !== 'process') return `named by ${String(record.host_source)}, not its own process`;
  }
  return null;
}

let goPath: string | undefined;
async function goBinary(): Promise<string> {
  goPath ??= await buildGoClient();
  return goPath;
}
