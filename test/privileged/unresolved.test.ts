/**
 * Why a connection has no name, end to end: hostflow runs in the client
 * namespace of a topology whose dnsmasq serves test names, and real
 * workloads cause each `unresolved` reason (and a late name):
 *
 * - address_literal: python's getaddrinfo of the address itself, then connect;
 * - no_lookup_seen: a connect by address with no lookup at all (CPython
 *   resolves a numeric address without getaddrinfo);
 * - socket_before_start: a process connects, hostflow starts, it closes
 *   (hostflow sees only the close);
 * - process_before_start: a process resolves, hostflow starts, it connects;
 * - cache_expired: a name with a 1 s TTL (and --dns-min-ttl 1), connected
 *   to 2.5 s later by the address it gave;
 * - inbound: a client in the server namespace connects to a listener here;
 * - encrypted_dns: a connection to TCP port 853 of the resolver (a tiny
 *   listener), then one by address (last: it marks the whole host);
 * - late join: a connection by address, then a lookup that returns it:
 *   the open record is unnamed, a `named` record follows, the close and
 *   the later flows carry the name;
 * - and connections by address named by what they send: `openssl s_client
 *   -servername` to a TLS server (SNI), curl with a `Host` header (HTTP).
 *
 * The share of connections named, by source, and the reasons for the rest
 * are reported (t.diagnostic) for the workload.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { Topology, type TopologyPlan } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { ManagedProcess, python3 } from '../helpers/process.js';
import { RecordFile } from '../helpers/records.js';
import { pausedPythonClient, pythonClient, startHttpServer, startReplyServer, type ClientResult, type PausedClient } from '../helpers/workload.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'openssl', 'curl', 'ss'], features: ['netns' as const, 'btf' as const] };

const REPLY_PORT = 8080;
const INBOUND_PORT = 8090;
const DOT_PORT = 853;
const TLS_PORT = 4433;
const HTTP_PORT = 8000;

/** Host part of each workload's own server address, 10.213.k.N. */
const HOST_NUMBERS = { literal: 21, raw: 22, before: 23, expire: 24, late: 25, dot: 26, named: 27, global: 28, sni: 29, http: 30, held: 31 } as const;

const BASE = 'unres.hostflow.test';
const NAMES = {
  before: `before.${BASE}`,
  expire: `brief.${BASE}`,
  late: `late.${BASE}`,
  named: `named.${BASE}`,
  global: `global.${BASE}`,
  /** Never in DNS: only the ClientHello and the request say them. */
  sni: `tls.${BASE}`,
  http: `web.${BASE}`,
};

/**
 * One python process per workload: `raw` connects by address (no
 * getaddrinfo), `literal` calls getaddrinfo with the address first (as
 * socket.create_connection does), `expire` resolves then waits before
 * connecting by address, `late` connects by address then resolves a name
 * that returns it and holds the connection, `dot` talks to port 853 of the
 * resolver and then connects by address, `held` connects by address, says
 * CONNECTED and waits for a line on stdin before it talks. Each connection
 * speaks the reply server's protocol and prints one RESULT line.
 */
const CLIENT = String.raw`
import os, socket, sys, time
mode, args = sys.argv[1], sys.argv[2:]
def exchange(sock):
    local, remote = sock.getsockname(), sock.getpeername()
    data = (16).to_bytes(4, 'big') + b'q' * 60
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    received = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += len(chunk)
    sock.close()
    print('RESULT', os.getpid(), len(data), received, local[0], local[1], remote[0], remote[1], flush=True)
def raw(addr, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect((addr, port))
    return sock
def resolve(name, port):
    return socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
if mode == 'raw':
    exchange(raw(args[0], int(args[1])))
elif mode == 'literal':
    exchange(raw(resolve(args[0], int(args[1])), int(args[1])))
elif mode == 'expire':
    addr = resolve(args[0], int(args[1]))
    time.sleep(float(args[2]))
    exchange(raw(addr, int(args[1])))
elif mode == 'late':
    sock = raw(args[0], int(args[1]))
    time.sleep(0.3)
    resolve(args[2], int(args[1]))
    time.sleep(float(args[3]))
    exchange(sock)
elif mode == 'dot':
    exchange(raw(args[0], int(args[1])))
    exchange(raw(args[2], int(args[3])))
elif mode == 'held':
    sock = raw(args[0], int(args[1]))
    print('CONNECTED', flush=True)
    sys.stdin.readline()
    exchange(sock)
`;

const RESULT = /^RESULT (\d+) (\d+) (\d+) (\S+) (\d+) (\S+) (\d+)$/;

interface StartedClient {
  child: ManagedProcess;
  /** Waits for the client's end (killed after 20 s); one ClientResult per RESULT line. */
  finish(): Promise<ClientResult[]>;
}

/** Starts the client in a namespace (with a writable stdin when `stdin`). */
function startClient(ns: string, mode: string, args: ReadonlyArray<string | number>, stdin = false): StartedClient {
  const child = ManagedProcess.start(python3(), ['-u', '-c', CLIENT, mode, ...args.map(String)], { ns, stdin });
  const results: ClientResult[] = [];
  child.onLine((line, stream) => {
    const match = stream === 'stdout' ? RESULT.exec(line) : null;
    if (match) {
      results.push({
        pid: Number(match[1]),
        bytesSent: Number(match[2]),
        bytesReceived: Number(match[3]),
        localAddress: match[4] ?? '',
        localPort: Number(match[5]),
        remoteAddress: match[6] ?? '',
        remotePort: Number(match[7]),
      });
    }
  });
  const finish = async (): Promise<ClientResult[]> => {
    const timer = setTimeout(() => child.child.kill('SIGKILL'), 20_000);
    const status = await child.exited;
    clearTimeout(timer);
    if (status.code !== 0) throw child.failure(`${mode} failed`);
    return results;
  };
  return { child, finish };
}

/** Runs the client in a namespace to its end; one ClientResult per RESULT line. */
function client(ns: string, mode: string, args: ReadonlyArray<string | number>): Promise<ClientResult[]> {
  return startClient(ns, mode, args).finish();
}

/** A client connected now that talks and closes once `finish` is called: its socket predates what starts meanwhile. */
async function heldClient(ns: string, addr: string, port: number): Promise<StartedClient> {
  const held = startClient(ns, 'held', [addr, port], true);
  await held.child.waitForLine(/^CONNECTED$/, { stream: 'stdout' });
  return {
    child: held.child,
    finish: () => {
      held.child.child.stdin?.end('go\n');
      return held.finish();
    },
  };
}

function addressOf(plan: Pick<TopologyPlan, 'server'>, key: keyof typeof HOST_NUMBERS): string {
  return plan.server.ipv4.replace(/\.1$/, `.${HOST_NUMBERS[key]}`);
}

/** One workload connection. */
interface Workload {
  label: string;
  /** The pid that connected, when the client said. */
  pid: number | null;
  /** Whether a record is about this connection. */
  mine: (record: JsonLine) => boolean;
}

/** A client connection as hostflow sees it: out (this host connected) or in (accepted here; its local end is the client's remote end). */
function fromResult(label: string, result: ClientResult, direction: 'out' | 'in'): Workload {
  const ends =
    direction === 'out'
      ? [result.localAddress, result.localPort, result.remoteAddress, result.remotePort]
      : [result.remoteAddress, result.remotePort, result.localAddress, result.localPort];
  return {
    label,
    pid: result.pid,
    mine: (l) => l.direction === direction && l.saddr === ends[0] && l.sport === ends[1] && l.daddr === ends[2] && l.dport === ends[3],
  };
}

/** The one outgoing connection to an address of the workload's own (clients that print no ports). */
function toAddress(label: string, daddr: string, dport: number): Workload {
  return { label, pid: null, mine: (l) => l.direction === 'out' && l.daddr === daddr && l.dport === dport };
}

/** Waits until something listens on `port` in `ns`. */
async function listening(topo: Topology, ns: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { stdout } = await topo.exec(ns, 'ss', ['-Hltn', `sport = :${port}`]);
    if (stdout.trim() !== '') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on port ${port} in ${ns}`);
}

describe('unresolved: every reason caused by a real workload, and late names', privilegedSuite(requirements), () => {
  let topo: Topology;
  let lines: JsonLine[] = [];
  let exitCode: number | null = null;
  let stderr = '';
  const workloads: Workload[] = [];

  const workload = (label: string): Workload => {
    const found = workloads.find((w) => w.label === label);
    assert.ok(found, `workload ${label} ran`);
    return found;
  };
  /** The conn records of one workload connection, in order. */
  const connsOf = (w: Workload): JsonLine[] => lines.filter((l) => l.type === 'conn' && w.mine(l));
  const byEvent = (records: JsonLine[], event: string) => records.filter((r) => r.event === event);

  before(async () => {
    topo = await Topology.create({
      ttl: 60,
      hosts: (plan) => [
        { name: NAMES.before, ipv4: addressOf(plan, 'before') },
        { name: NAMES.expire, ipv4: addressOf(plan, 'expire'), ttl: 1 },
        { name: NAMES.late, ipv4: addressOf(plan, 'late') },
        { name: NAMES.named, ipv4: addressOf(plan, 'named') },
        { name: NAMES.global, ipv4: addressOf(plan, 'global') },
      ],
    });
    for (const key of Object.keys(HOST_NUMBERS) as Array<keyof typeof HOST_NUMBERS>) {
      await topo.exec(topo.server, 'ip', ['addr', 'add', `${addressOf(topo, key)}/24`, 'dev', topo.server.iface]);
    }
    const servers: Array<{ stop(): Promise<void> }> = [];
    const certDir = mkdtempSync(join(tmpdir(), 'hostflow-tls-'));
    let beforeStart: PausedClient | undefined;
    let connectedBeforeStart: StartedClient | undefined;
    try {
      servers.push(
        await startReplyServer({ ns: topo.server, host: '0.0.0.0', port: REPLY_PORT }),
        await startReplyServer({ ns: topo.server, host: topo.server.ipv4, port: DOT_PORT }),
        await startReplyServer({ ns: topo.client, host: topo.client.ipv4, port: INBOUND_PORT }),
        await startHttpServer({ ns: topo.server, host: addressOf(topo, 'http'), port: HTTP_PORT, fileBytes: 1000 }),
      );
      const [cert, key] = [join(certDir, 'cert.pem'), join(certDir, 'key.pem')];
      await topo.exec(topo.server, 'openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        `/CN=${NAMES.sni}`,
      ]);
      const tls = topo.spawn(topo.server, 'openssl', ['s_server', '-accept', `${addressOf(topo, 'sni')}:${TLS_PORT}`, '-cert', cert, '-key', key, '-quiet']);
      servers.push({ stop: async () => void (await tls.stop()) });
      await listening(topo, topo.server.ns, TLS_PORT);
      // Resolves now, before hostflow runs; connects once told to.
      beforeStart = await pausedPythonClient({ ns: topo.client, host: NAMES.before, port: REPLY_PORT, family: 4, send: 64, reply: 16 });
      // Connects now, before hostflow runs; talks and closes once told to.
      connectedBeforeStart = await heldClient(topo.client.ns, addressOf(topo, 'held'), REPLY_PORT);
      const ns = topo.client.ns;
      const add =
        (label: string, direction: 'out' | 'in' = 'out') =>
        (results: ClientResult[]) => {
          results.forEach((result, i) => workloads.push(fromResult(results.length > 1 ? `${label} ${i}` : label, result, direction)));
        };
      const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1', '--dns-min-ttl', '1', '--no-control'], { ns });
      try {
        const paused = beforeStart;
        await Promise.all([
          paused.connect().then((result) => add('process_before_start')([result])),
          connectedBeforeStart.finish().then(add('socket_before_start')),
          pythonClient({ ns, host: NAMES.named, port: REPLY_PORT, family: 4, send: 64, reply: 16 }).then((result) => add('named by process')([result])),
          (async () => {
            const dig = await topo.exec(ns, 'dig', ['+short', '+tries=1', '+time=2', NAMES.global, 'A']);
            add('named by global')(await client(ns, 'raw', [dig.stdout.trim(), REPLY_PORT]));
          })(),
          client(ns, 'literal', [addressOf(topo, 'literal'), REPLY_PORT]).then(add('address_literal')),
          client(ns, 'raw', [addressOf(topo, 'raw'), REPLY_PORT]).then(add('no_lookup_seen')),
          client(ns, 'expire', [NAMES.expire, REPLY_PORT, 2.5]).then(add('cache_expired')),
          client(ns, 'late', [addressOf(topo, 'late'), REPLY_PORT, NAMES.late, 2]).then(add('late join')),
          client(topo.server.ns, 'raw', [topo.client.ipv4, INBOUND_PORT]).then(add('inbound', 'in')),
          (async () => {
            // stdin at its end: the client says goodbye right after the handshake.
            const sni = addressOf(topo, 'sni');
            await topo.exec(ns, 'openssl', ['s_client', '-connect', `${sni}:${TLS_PORT}`, '-servername', NAMES.sni], { input: '', check: false });
            workloads.push(toAddress('named by sni', sni, TLS_PORT));
          })(),
          (async () => {
            const http = addressOf(topo, 'http');
            await topo.exec(ns, 'curl', [
              '-s',
              '-o',
              '/dev/null',
              '--max-time',
              '10',
              '-H',
              `Host: ${NAMES.http}:${HTTP_PORT}`,
              `http://${http}:${HTTP_PORT}/file`,
            ]);
            workloads.push(toAddress('named by http', http, HTTP_PORT));
          })(),
        ]);
        // Last: encrypted DNS marks the whole host for the reasons that follow.
        await client(ns, 'dot', [topo.server.ipv4, DOT_PORT, addressOf(topo, 'dot'), REPLY_PORT]).then(add('encrypted_dns'));
        // Every workload connection's close record is written: records come in kernel-time order, so its
        // open and named records (when it has them) are in before it; its last flows come at the stop.
        const closed = (records: readonly JsonLine[], w: Workload) => records.some((r) => r.type === 'conn' && r.event === 'close' && w.mine(r));
        await new RecordFile(hostflow.output).waitFor(
          (records) => workloads.every((w) => closed(records, w)),
          (records) =>
            `no close record yet for ${workloads
              .filter((w) => !closed(records, w))
              .map((w) => w.label)
              .join(', ')}`,
        );
      } finally {
        ({ lines, code: exitCode, stderr } = await hostflow.stop('SIGINT'));
      }
    } finally {
      await connectedBeforeStart?.child.stop({ signal: 'SIGKILL' });
      await Promise.all(servers.map((server) => server.stop()));
      rmSync(certDir, { recursive: true, force: true });
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  test('hostflow ends cleanly and loses nothing', () => {
    assert.equal(exitCode, 0, stderr);
    assert.match(
      stderr,
      /summary: ok records: dns [1-9]\d*, conn [1-9]\d*, flow [1-9]\d*, udp \d+ written\nhostflow: summary: ok events: \d+ delivered; none lost/,
    );
  });

  const reasons = [
    ['address_literal', 'address_literal', 'getaddrinfo of the address itself, then connect'],
    ['no_lookup_seen', 'no_lookup_seen', 'a connect by address without any lookup'],
    ['process_before_start', 'process_before_start', 'a process that resolved before hostflow started'],
    ['cache_expired', 'cache_expired', 'a name whose 1 s TTL ran out before the connect'],
    ['inbound', 'inbound', 'an accepted connection'],
    ['encrypted_dns 0', 'encrypted_dns', 'the DNS-over-TLS connection itself'],
    ['encrypted_dns 1', 'encrypted_dns', 'a connection by address after DNS over TLS'],
  ] as const;
  for (const [label, reason, what] of reasons) {
    test(`${reason}: ${what}`, () => {
      const records = connsOf(workload(label));
      const [open] = byEvent(records, 'open');
      const [close] = byEvent(records, 'close');
      assert.ok(open && close, `${label}: open and close records: ${JSON.stringify(records)}`);
      for (const record of [open, close]) {
        assert.equal(record.host, null, `${label}: ${JSON.stringify(record)}`);
        assert.equal(record.host_source, null);
        assert.equal(record.unresolved, reason, `${label}: ${JSON.stringify(record)}`);
      }
      assert.equal(byEvent(records, 'named').length, 0);
    });
  }

  test('socket_before_start: a connection opened before hostflow started has only its close, which names the process', () => {
    const held = workload('socket_before_start');
    const records = connsOf(held);
    assert.deepEqual(
      records.map((r) => [r.event, r.pid, r.host, r.host_source, r.unresolved]),
      [['close', held.pid, null, null, 'socket_before_start']],
      JSON.stringify(records),
    );
  });

  test('named connections carry no reason', () => {
    for (const [label, source, host] of [
      ['named by process', 'process', NAMES.named],
      ['named by global', 'global', NAMES.global],
    ] as const) {
      const records = connsOf(workload(label));
      assert.deepEqual(
        records.map((r) => [r.event, r.host, r.host_source, r.unresolved]),
        [
          ['open', host, source, null],
          ['close', host, source, null],
        ],
        label,
      );
    }
  });

  test('late join: a connection by address, then a lookup that returns its address: open unnamed, then one named record; the close and later flows carry the name', () => {
    const late = workload('late join');
    const records = connsOf(late);
    // The answer on the wire usually comes before getaddrinfo returns: the first of the two names it
    // (global when the socket hooks are off and the wire answer has no process).
    const source = records[1]?.host_source;
    assert.ok(source === 'global' || source === 'process', JSON.stringify(records));
    assert.deepEqual(
      records.map((r) => [r.event, r.host, r.host_source, r.unresolved]),
      [
        ['open', null, null, 'no_lookup_seen'],
        ['named', NAMES.late, source, null],
        ['close', NAMES.late, source, null],
      ],
      JSON.stringify(records),
    );
    const [open, named] = records;
    assert.ok(open && named);
    // The named record repeats the open record but for the name and its time.
    const same = (r: JsonLine) => ({ ...r, event: null, ts: null, host: null, host_source: null, unresolved: null });
    assert.deepEqual(same(named), same(open));
    assert.equal(named.pid, late.pid);
    assert.ok(String(named.ts) > String(open.ts), 'named after the open');
    // The wire answer (seen at the process's own socket, so per-process too)
    // and getaddrinfo's return both name it: the first of them does.
    const answeredAt = lines
      .filter((l) => l.type === 'dns' && l.host === NAMES.late)
      .map((l) => String(l.ts))
      .sort()[0];
    assert.equal(named.ts, answeredAt, 'named when the first answer came');
    const flows = lines.filter((l) => l.type === 'flow' && l.direction === 'egress' && late.mine({ ...l, direction: 'out' }));
    assert.ok(flows.length > 0, 'the connection has egress flows');
    const last = flows[flows.length - 1];
    assert.deepEqual([last?.dst_host, last?.unresolved, last?.pid], [NAMES.late, null, late.pid], JSON.stringify(flows));
  });

  for (const [label, source, host, literal] of [
    ['named by sni', 'sni', NAMES.sni, 'address_literal'],
    ['named by http', 'http', NAMES.http, 'no_lookup_seen'],
  ] as const) {
    test(`a connection by address is named by the ${source === 'sni' ? 'TLS SNI' : 'HTTP Host'} it sends: open unnamed, then a named record, and the close carries it`, () => {
      const records = connsOf(workload(label));
      // openssl gives the address to getaddrinfo; curl parses it itself.
      assert.deepEqual(
        records.map((r) => [r.event, r.host, r.host_source, r.unresolved]),
        [
          ['open', null, null, literal],
          ['named', host, source, null],
          ['close', host, source, null],
        ],
        JSON.stringify(records),
      );
    });
  }

  test('the share of connections named, by source, and the reasons for the rest', (t) => {
    const tally = new Map<string, number>();
    for (const w of workloads) {
      const records = connsOf(w);
      const named = records.find((r) => r.host !== null);
      const key = named ? `named:${String(named.host_source)}${named.event === 'named' ? ' (late)' : ''}` : `unresolved:${String(records[0]?.unresolved)}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    const total = workloads.length;
    const namedCount = [...tally].filter(([key]) => key.startsWith('named:')).reduce((sum, [, n]) => sum + n, 0);
    const shares = [...tally].sort().map(([key, n]) => `${key} ${n}/${total} (${Math.round((100 * n) / total)}%)`);
    t.diagnostic(`connections named ${namedCount}/${total} (${Math.round((100 * namedCount) / total)}%): ${shares.join('; ')}`);
    assert.equal(total, 13);
    assert.equal(namedCount, 5);
    assert.equal(tally.get('unresolved:undefined'), undefined, 'every connection has records');
  });
});
