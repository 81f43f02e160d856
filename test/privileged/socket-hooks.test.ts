/**
 * The socket hooks (bpf/sockets.bpf.c) through the Tracer, with clients in
 * a topology's client namespace and servers in its server namespace: DNS
 * that dig sends itself (UDP and TCP) carries dig's pid and comm; UDP
 * conversations of a connected and an unconnected socket are counted per
 * socket and remote with exact datagrams and payload bytes both ways, and
 * end with a udpClose event when the socket is released; a QUIC v1 Initial
 * is copied with its sender; a forked child has its parent and start time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KernelEvent, DnsDatagramEvent, DnsSegmentEvent, PayloadEvent } from '../../src/kernel/decode.js';
import { DEFAULT_TRACER_OPTIONS, Tracer } from '../../src/kernel/tracer.js';
import type { UdpConversationEntry } from '../../src/kernel/udp-convs.js';
import { forcedConnectProbe } from '../helpers/connect-probe.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';

const requirements = { commands: TOPOLOGY_COMMANDS, features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const NAME = 'api.socket-hooks.hostflow.test';
const ECHO_PORT = 5353 + 1000;

/** Echoes every datagram back to its sender. */
const ECHO = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)
`;

/**
 * argv: server, port, mode (connected | unconnected | quic | fork), sizes...
 * Sends one datagram per size and waits for each echo; prints its pid, its
 * local port, and for fork the child's pid, parent and /proc starttime.
 */
const CLIENT = String.raw`
import os, socket, sys
server, port, mode, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3], [int(n) for n in sys.argv[4:]]
def exchange():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    if mode == 'connected':
        s.connect((server, port))
    for size in sizes:
        if mode == 'quic':
            data = bytes([0xC3, 0, 0, 0, 1]) + b'q' * (size - 5)
        else:
            data = b'x' * size
        if mode == 'connected':
            s.send(data)
        else:
            s.sendto(data, (server, port))
        s.recv(65536)
    print('pid %d lport %d' % (os.getpid(), s.getsockname()[1]), flush=True)
    s.close()
if mode == 'fork':
    child = os.fork()
    if child == 0:
        exchange()
        with open('/proc/self/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        print('parent %d start %s tck %d' % (os.getppid(), fields[19], os.sysconf('SC_CLK_TCK')), flush=True)
        os._exit(0)
    os.waitpid(child, 0)
else:
    exchange()
`;

interface Client {
  pid: number;
  lport: number;
  stdout: string;
}

describe('the socket hooks tie DNS and UDP to their process', privilegedSuite(requirements), () => {
  let topo: Topology;
  let tracer: Tracer;
  /**
   * comm is the sending thread's name, as in every hostflow record
   * (bpf_get_current_comm): dig sends from its network threads (isc-net-0000),
   * and the cgroup hooks cannot read the thread group leader's name.
   */
  const DIG_COMM = /^(dig|isc-)/;
  const events: KernelEvent[] = [];

  async function waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function client(mode: string, sizes: number[]): Promise<Client> {
    const { stdout } = await topo.exec(topo.client, python3(), ['-c', CLIENT, topo.server.ipv4, String(ECHO_PORT), mode, ...sizes.map(String)]);
    const match = /pid (\d+) lport (\d+)/.exec(stdout);
    assert.ok(match, stdout);
    return { pid: Number(match[1]), lport: Number(match[2]), stdout };
  }

  /** Runs dig in the client namespace; its pid is the shell's, which execs it. */
  async function dig(args: string[]): Promise<number> {
    const { stdout } = await topo.exec(topo.client, 'sh', ['-c', 'echo $$; exec dig "$@"', 'sh', `@${topo.server.ipv4}`, '+tries=1', '+time=3', ...args, NAME]);
    const [pid, ...answer] = stdout.trim().split('\n');
    assert.ok(answer.join('\n').includes(topo.server.ipv4), stdout);
    return Number(pid);
  }

  const conversation = (pid: number, lport: number) =>
    tracer.readUdpConversations().find((entry: UdpConversationEntry) => entry.task.pid === pid && entry.lport === lport && entry.rport === ECHO_PORT);

  before(async () => {
    topo = await Topology.create({ hosts: (plan) => [{ name: NAME, ipv4: plan.server.ipv4 }] });
    const echo = topo.spawn(topo.server, python3(), ['-c', ECHO, topo.server.ipv4, String(ECHO_PORT)]);
    await echo.waitForLine(/^ready/, { stream: 'stdout' });
    tracer = Tracer.start({ ...DEFAULT_TRACER_OPTIONS, connectProbe: forcedConnectProbe() ?? 'auto', wakeupBytes: 0 }, (event) => events.push(event));
  });

  after(async () => {
    await tracer?.stop();
    await topo?.destroy();
  });

  test('they attach to the cgroup v2 root', () => {
    const { socketHooks } = tracer.report;
    assert.equal(socketHooks.attached, true, socketHooks.reason ?? '');
    assert.ok(socketHooks.cgroup?.startsWith('/sys/fs/cgroup'), String(socketHooks.cgroup));
    assert.match(tracer.netnsCookie ?? '', /^\d+$/);
  });

  test("dig's UDP query and its answer carry dig's pid and comm", async () => {
    const pid = await dig(['+short']);
    const mine = (direction: 'in' | 'out') => (event: KernelEvent) =>
      event.kind === 'dnsDatagram' && event.seenAt === 'socket' && event.direction === direction && event.task?.pid === pid;
    const query = (await waitFor('the query', () => events.find(mine('out')))) as DnsDatagramEvent;
    const answer = (await waitFor('the answer', () => events.find(mine('in')))) as DnsDatagramEvent;
    assert.match(query.task?.comm ?? '', DIG_COMM);
    assert.equal(query.tuple.dport, 53);
    assert.equal(query.tuple.daddr, topo.server.ipv4);
    assert.equal(answer.tuple.sport, 53);
    assert.equal(answer.socket, query.socket, 'the same socket both ways');
    assert.ok(query.netns !== null && query.netns !== tracer.netnsCookie, 'the client namespace, not ours');
    assert.ok(query.message.length === query.messageLength && query.message.length > 12);
  });

  test("dig +tcp's segments carry dig's pid both ways", async () => {
    const pid = await dig(['+tcp', '+short']);
    const mine = (direction: 'in' | 'out') => (event: KernelEvent) =>
      event.kind === 'dnsSegment' && event.seenAt === 'socket' && event.direction === direction && event.task?.pid === pid && event.payload.length > 0;
    const query = (await waitFor('the query segment', () => events.find(mine('out')))) as DnsSegmentEvent;
    const answer = (await waitFor('the answer segment', () => events.find(mine('in')))) as DnsSegmentEvent;
    assert.match(query.task?.comm ?? '', DIG_COMM);
    assert.equal(query.tuple.dport, 53);
    assert.equal(answer.tuple.sport, 53);
    assert.ok(
      events.some((event) => event.kind === 'dnsSegment' && event.task?.pid === pid && (event.flags & 0x02) !== 0),
      'the SYN is sent',
    );
  });

  for (const mode of ['connected', 'unconnected'] as const) {
    test(`a ${mode} UDP socket's conversation is counted exactly both ways, and ends at its release`, async () => {
      const sizes = [100, 200, 1000];
      const sent = await client(mode, sizes);
      const entry = await waitFor('the conversation', () => conversation(sent.pid, sent.lport));
      const bytes = sizes.reduce((sum, size) => sum + size, 0);
      assert.equal(entry.task.comm, 'python3');
      assert.equal(entry.raddr, topo.server.ipv4);
      assert.equal(entry.laddr, topo.client.ipv4);
      assert.deepEqual([entry.packetsOut, entry.bytesOut, entry.packetsIn, entry.bytesIn], [3, bytes, 3, bytes]);
      assert.ok(entry.firstNs > 0 && entry.lastNs >= entry.firstNs);
      assert.notEqual(entry.netnsCookie, tracer.netnsCookie, 'the client namespace is not ours');
      await waitFor('the udpClose event', () => events.find((event) => event.kind === 'udpClose' && event.socket === entry.socket));
      tracer.forgetUdpConversations([entry]);
      assert.equal(conversation(sent.pid, sent.lport), undefined, 'forgotten');
    });
  }

  test('a QUIC v1 Initial is copied with its sender', async () => {
    const sent = await client('quic', [1200, 1200]);
    const quic = (await waitFor('the QUIC payload', () =>
      events.find((event) => event.kind === 'payload' && event.protocol === 'quic' && event.task?.pid === sent.pid),
    )) as PayloadEvent;
    assert.equal(quic.seenAt, 'socket');
    assert.match(quic.netns ?? '', /^\d+$/);
    assert.equal(quic.tuple.dport, ECHO_PORT);
    assert.equal(quic.payload[0], 0xc3);
    assert.equal(quic.payload.readUInt32BE(1), 1);
    assert.equal(quic.payload.length, 1200);
    // Both datagrams are among the conversation's first four: both are copied.
    assert.equal(events.filter((event) => event.kind === 'payload' && event.protocol === 'quic' && event.task?.pid === sent.pid).length, 2);
  });

  test('a forked child has its parent and its start time', async () => {
    const sent = await client('fork', [64]);
    const match = /parent (\d+) start (\d+) tck (\d+)/.exec(sent.stdout);
    assert.ok(match, sent.stdout);
    const [, parent, startTicks, tck] = match.map(Number) as [number, number, number, number];
    const entry = await waitFor('the conversation', () => conversation(sent.pid, sent.lport));
    assert.equal(entry.task.ppid, parent);
    assert.equal(Math.floor((entry.task.startNs * tck) / 1e9), startTicks);
  });
});
