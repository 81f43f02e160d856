/**
 * The records end to end: hostflow runs in the client namespace of a
 * topology whose dnsmasq serves test names (A, AAAA, a CNAME chain, two names
 * on one address), clients of several runtimes resolve and connect, and the
 * JSON lines must name every connection right, by the rule the design says:
 * the name its own process resolved first, then the most recent name of the
 * address seen anywhere (DNS answers on the wire included).
 *
 * Every test name gets an address of its own on the server (10.213.k.N), so
 * which name an address carries in the global index is never ambiguous,
 * except for the two names that share one on purpose.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { type Namespace, Topology, type TopologyPlan } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';
import { curlFetch, nodeClient, pausedPythonClient, pythonClient, startHttpServer, startReplyServer, type ClientResult } from '../helpers/workload.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'curl'], features: ['netns' as const, 'btf' as const] };

const REPLY_PORT = 8080;
const HTTP_PORT = 8000;
const HTTP_FILE_BYTES = 20_011;
const DIG_TTL = 42;

/** Host part of each test name's own server address, 10.213.k.N and fd00:213:k::N. */
const HOST_NUMBERS = {
  py: 11,
  curl: 12,
  node: 13,
  dig: 14,
  cname: 15,
  v6: 16,
  shared: 17,
  filtered: 18,
  other: 19,
  text: 20,
} as const;

/**
 * The test names. Fixed, since Topology takes CNAMEs before it has an id;
 * they cannot collide with another topology's, as every topology has its
 * own subnet and names are looked up by address.
 */
const BASE = 'records.hostflow.test';
const NAMES = {
  py: `py.${BASE}`,
  curl: `curl.${BASE}`,
  node: `node.${BASE}`,
  dig: `dig.${BASE}`,
  cname: `www.cn.${BASE}`,
  cnameEdge: `edge.cn.${BASE}`,
  cnameOrigin: `origin.cn.${BASE}`,
  v6: `v6.${BASE}`,
  one: `one.${BASE}`,
  two: `two.${BASE}`,
  filtered: `a.flt.${BASE}`,
  other: `b.other.${BASE}`,
  text: `txt.${BASE}`,
};
/** Matches NAMES.filtered and no other name. */
const FILTER_GLOB = `*.flt.${BASE}`;

function addressesOf(plan: Pick<TopologyPlan, 'server'>, key: keyof typeof HOST_NUMBERS): { ipv4: string; ipv6: string } {
  const n = HOST_NUMBERS[key];
  return {
    ipv4: plan.server.ipv4.replace(/\.1$/, `.${n}`),
    ipv6: plan.server.ipv6.replace(/::1$/, `::${n}`),
  };
}

const conns = (lines: JsonLine[], event: 'open' | 'close') => lines.filter((l) => l.type === 'conn' && l.event === event);
const dnsRecords = (lines: JsonLine[], source: string) => lines.filter((l) => l.type === 'dns' && l.source === source);

/** One connection of the workload and the name it must carry. */
interface Expected {
  label: string;
  result: ClientResult;
  comm: string;
  host: string;
  hostSource: 'process' | 'global';
}

describe('records: every connection named by the right rule', privilegedSuite(requirements), () => {
  let topo: Topology;
  let lines: JsonLine[] = [];
  let exitCode: number | null = null;
  let stderr = '';
  let digAnswer = '';
  /** Segments the client namespace's TCP retransmitted during the workload (/proc/net/snmp). */
  let retransSegs = 0;
  const expected: Expected[] = [];
  const pythonComm = basename(python3()).slice(0, 15);
  const nodeComm = basename(process.execPath).slice(0, 15);
  const at = (key: keyof typeof HOST_NUMBERS) => addressesOf(topo, key);
  const byLabel = (label: string): Expected => {
    const found = expected.find((e) => e.label === label);
    assert.ok(found, `workload connection ${label} ran`);
    return found;
  };
  /** The open and close records of one client connection. */
  const recordsOf = (result: ClientResult, from: JsonLine[] = lines) => {
    const mine = (l: JsonLine) =>
      l.direction === 'out' &&
      l.saddr === result.localAddress &&
      l.sport === result.localPort &&
      l.daddr === result.remoteAddress &&
      l.dport === result.remotePort;
    return { open: conns(from, 'open').find(mine), close: conns(from, 'close').find(mine) };
  };

  before(async () => {
    topo = await Topology.create({
      ttl: 30,
      hosts: (plan) => [
        { name: NAMES.py, ipv4: addressesOf(plan, 'py').ipv4 },
        { name: NAMES.curl, ipv4: addressesOf(plan, 'curl').ipv4 },
        { name: NAMES.node, ipv4: addressesOf(plan, 'node').ipv4 },
        { name: NAMES.dig, ipv4: addressesOf(plan, 'dig').ipv4, ttl: DIG_TTL },
        { name: NAMES.cnameOrigin, ipv4: addressesOf(plan, 'cname').ipv4 },
        { name: NAMES.v6, ipv4: addressesOf(plan, 'v6').ipv4, ipv6: addressesOf(plan, 'v6').ipv6 },
        // Two names, one address.
        { name: NAMES.one, ipv4: addressesOf(plan, 'shared').ipv4 },
        { name: NAMES.two, ipv4: addressesOf(plan, 'shared').ipv4 },
        { name: NAMES.filtered, ipv4: addressesOf(plan, 'filtered').ipv4 },
        { name: NAMES.other, ipv4: addressesOf(plan, 'other').ipv4 },
        { name: NAMES.text, ipv4: addressesOf(plan, 'text').ipv4 },
      ],
      cnames: [
        { alias: NAMES.cname, target: NAMES.cnameEdge },
        { alias: NAMES.cnameEdge, target: NAMES.cnameOrigin },
      ],
    });
    // Every name's own address on the server's interface.
    for (const key of Object.keys(HOST_NUMBERS) as Array<keyof typeof HOST_NUMBERS>) {
      const { ipv4, ipv6 } = at(key);
      await topo.exec(topo.server, 'ip', ['addr', 'add', `${ipv4}/24`, 'dev', topo.server.iface]);
      await topo.exec(topo.server, 'ip', ['-6', 'addr', 'add', `${ipv6}/64`, 'dev', topo.server.iface, 'nodad']);
    }
    const [replyServer, httpServer] = await Promise.all([
      startReplyServer({ ns: topo.server, host: '::', port: REPLY_PORT }),
      startHttpServer({ ns: topo.server, host: '::', port: HTTP_PORT, fileBytes: HTTP_FILE_BYTES }),
    ]);
    const ns = topo.client;
    const add = (label: string, comm: string, host: string, hostSource: 'process' | 'global') => (result: ClientResult) => {
      expected.push({ label, result, comm, host, hostSource });
    };
    const retransSegsBefore = await tcpRetransSegs(topo, ns);
    try {
      const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1'], { ns: topo.client.ns });
      try {
        await Promise.all([
          pythonClient({ ns, host: NAMES.py, port: REPLY_PORT, send: 1_111, reply: 54_321 }).then(add('python3', pythonComm, NAMES.py, 'process')),
          curlFetch({ ns, url: `http://${NAMES.curl}:${HTTP_PORT}/file` }).then(add('curl', 'curl', NAMES.curl, 'process')),
          nodeClient({ ns, host: NAMES.node, port: REPLY_PORT, send: 2_222, reply: 65_432 }).then(add('node', nodeComm, NAMES.node, 'process')),
          (async () => {
            // dig speaks DNS itself: only the wire sees the name. Another
            // process then connects to the address it printed.
            const dig = await topo.exec(ns, 'dig', ['+short', '+tries=1', '+time=2', NAMES.dig, 'A']);
            digAnswer = dig.stdout.trim();
            const result = await pythonClient({ ns, host: digAnswer, port: REPLY_PORT, send: 333, reply: 4_444 });
            add('by address after dig', pythonComm, NAMES.dig, 'global')(result);
          })(),
          (async () => {
            await topo.exec(ns, 'dig', ['+tries=1', '+time=2', NAMES.cname, 'A']);
            const result = await pythonClient({ ns, host: NAMES.cname, port: REPLY_PORT, send: 444, reply: 5_555 });
            add('cname', pythonComm, NAMES.cname, 'process')(result);
          })(),
          pythonClient({ ns, host: NAMES.v6, family: 6, port: REPLY_PORT, send: 555, reply: 6_666 }).then(add('ipv6', pythonComm, NAMES.v6, 'process')),
        ]);
        // Two names on one address: `one` is resolved first, then another
        // process resolves `two` and connects, and only then does the first
        // process connect, when the address's most recent name is `two`.
        const first = await pausedPythonClient({ ns, host: NAMES.one, port: REPLY_PORT, send: 666, reply: 7_777 });
        add(
          'shared address, second name',
          pythonComm,
          NAMES.two,
          'process',
        )(await pythonClient({ ns, host: NAMES.two, port: REPLY_PORT, send: 777, reply: 8_888 }));
        add('shared address, first name', pythonComm, NAMES.one, 'process')(await first.connect());
      } finally {
        ({ lines, code: exitCode, stderr } = await hostflow.stop('SIGINT'));
        retransSegs = (await tcpRetransSegs(topo, ns)) - retransSegsBefore;
      }
    } finally {
      await Promise.all([replyServer.stop(), httpServer.stop()]);
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  test('hostflow ends cleanly with its summary and loses nothing', () => {
    assert.equal(exitCode, 0, stderr);
    assert.match(
      stderr,
      /summary: ok records: dns [1-9]\d*, conn [1-9]\d*, flow [1-9]\d*, udp \d+ written\nhostflow: summary: ok events: \d+ delivered; none lost/,
    );
  });

  test('python3, curl and node connections carry their process, the name it resolved, and the exact bytes', () => {
    for (const label of ['python3', 'curl', 'node']) {
      const { result, comm, host } = byLabel(label);
      const { open, close } = recordsOf(result);
      assert.ok(open && close, `${label}: open and close of ${JSON.stringify(result)} in ${JSON.stringify(conns(lines, 'open'))}`);
      for (const record of [open, close]) {
        assert.equal(record.pid, result.pid, label);
        assert.equal(record.comm, comm, label);
        assert.equal(record.host, host, label);
        assert.equal(record.host_source, 'process', label);
        assert.equal(record.family, 4, label);
      }
      assert.equal(close.bytes_sent, result.bytesSent, `${label} bytes_sent`);
      assert.equal(close.bytes_received, result.bytesReceived, `${label} bytes_received`);
      assert.equal(close.established, true);
      assert.equal(typeof close.retransmits, 'number');
      assert.ok((close.duration_ms as number) > 0);
      assert.ok((open.connect_latency_ms as number) > 0);
      // The lookup that named it: the same process, through getaddrinfo.
      const lookup = dnsRecords(lines, 'getaddrinfo').find((l) => l.pid === result.pid && l.host === host);
      assert.ok(lookup, `${label}: getaddrinfo record in ${JSON.stringify(dnsRecords(lines, 'getaddrinfo'))}`);
      assert.ok((lookup.addrs as string[]).includes(result.remoteAddress), JSON.stringify(lookup));
      assert.equal(lookup.ttl, null);
      assert.equal(lookup.cnames, null);
      assert.equal(typeof lookup.tid, 'number');
      assert.equal(typeof lookup.latency_ms, 'number');
    }
    const curl = byLabel('curl').result;
    assert.ok(curl.bytesReceived > HTTP_FILE_BYTES, 'curl read the headers and the file');
    // Retransmits against the kernel's own count for the client namespace
    // (none on a quiet host; a slow emulated guest has some). RetransSegs
    // counts segments and the tracepoint skbs, so a GSO skb makes it larger.
    const reported = expected.reduce((sum, { result }) => sum + ((recordsOf(result).close?.retransmits as number | undefined) ?? 0), 0);
    assert.ok(reported <= retransSegs, `${reported} retransmits reported, ${retransSegs} segments retransmitted`);
    assert.equal(reported > 0, retransSegs > 0, `${reported} retransmits reported, ${retransSegs} segments retransmitted`);
  });

  test("a name only dig resolved (on the wire) names another process's connection to its address", () => {
    const { result, comm } = byLabel('by address after dig');
    assert.equal(digAnswer, at('dig').ipv4);
    assert.equal(result.remoteAddress, digAnswer);
    const { open, close } = recordsOf(result);
    assert.ok(open && close, JSON.stringify(conns(lines, 'open')));
    for (const record of [open, close]) {
      assert.equal(record.pid, result.pid);
      assert.equal(record.comm, comm);
      assert.equal(record.host, NAMES.dig);
      assert.equal(record.host_source, 'global');
    }
    assert.equal(close.bytes_sent, result.bytesSent);
    assert.equal(close.bytes_received, result.bytesReceived);
    assert.deepEqual(
      dnsRecords(lines, 'getaddrinfo').filter((l) => l.host === NAMES.dig),
      [],
      'no process resolved it',
    );
    const answers = dnsRecords(lines, 'wire').filter((l) => l.host === NAMES.dig);
    assert.equal(answers.length, 1, JSON.stringify(dnsRecords(lines, 'wire')));
    const [answer] = answers as [JsonLine];
    assert.deepEqual(answer.addrs, [digAnswer]);
    assert.equal(answer.ttl, DIG_TTL);
    assert.equal(answer.server, topo.server.ipv4);
    assert.equal(answer.iface, topo.client.iface);
    assert.equal(answer.status, 'NOERROR');
    assert.equal(answer.cnames, null);
    // The socket hooks tie the answer to dig, the process that asked, with
    // the time from its query; only the per-process index of dig learns it,
    // so the other process's connection is named by the global rule.
    assert.equal(typeof answer.pid, 'number');
    assert.equal(typeof answer.tid, 'number');
    assert.match(String(answer.comm), /^(dig|isc-net-\d+)$/, 'dig, or the network thread it names isc-net-NNNN');
    assert.equal(typeof answer.latency_ms, 'number');
  });

  test('a CNAME answer names the alias asked and lists the chain to the address', () => {
    const answers = dnsRecords(lines, 'wire').filter((l) => l.host === NAMES.cname && (l.addrs as string[]).length > 0);
    // dig's A query, and the A query of the python3 client's getaddrinfo.
    assert.ok(answers.length >= 2, JSON.stringify(dnsRecords(lines, 'wire')));
    for (const answer of answers) {
      assert.deepEqual(answer.cnames, [NAMES.cnameEdge, NAMES.cnameOrigin]);
      assert.deepEqual(answer.addrs, [at('cname').ipv4]);
      assert.equal(answer.status, 'NOERROR');
      assert.equal(answer.ttl, 30);
    }
    const { result } = byLabel('cname');
    const { open, close } = recordsOf(result);
    assert.ok(open && close);
    assert.equal(open.host, NAMES.cname);
    assert.equal(open.host_source, 'process');
    assert.equal(close.host, NAMES.cname);
  });

  test('an IPv6 connection to a name with an AAAA record is named', () => {
    const { result } = byLabel('ipv6');
    assert.equal(result.remoteAddress, at('v6').ipv6);
    const { open, close } = recordsOf(result);
    assert.ok(open && close, JSON.stringify(conns(lines, 'open').filter((l) => l.family === 6)));
    for (const record of [open, close]) {
      assert.equal(record.family, 6);
      assert.equal(record.saddr, topo.client.ipv6);
      assert.equal(record.host, NAMES.v6);
      assert.equal(record.host_source, 'process');
      assert.equal(record.pid, result.pid);
    }
    assert.equal(close.bytes_sent, result.bytesSent);
    assert.equal(close.bytes_received, result.bytesReceived);
    const lookup = dnsRecords(lines, 'getaddrinfo').find((l) => l.pid === result.pid && l.host === NAMES.v6);
    assert.ok(lookup);
    assert.deepEqual(lookup.addrs, [at('v6').ipv6]);
  });

  test("two names on one address: each process's connection carries the name that process resolved", () => {
    const first = byLabel('shared address, first name').result;
    const second = byLabel('shared address, second name').result;
    assert.equal(first.remoteAddress, at('shared').ipv4);
    assert.equal(second.remoteAddress, at('shared').ipv4);
    const a = recordsOf(first);
    const b = recordsOf(second);
    assert.ok(a.open && a.close && b.open && b.close);
    assert.deepEqual([a.open.host, a.open.host_source, a.close.host, a.close.host_source], [NAMES.one, 'process', NAMES.one, 'process']);
    assert.deepEqual([b.open.host, b.open.host_source, b.close.host, b.close.host_source], [NAMES.two, 'process', NAMES.two, 'process']);
    // When the first process connected, the address's most recent name
    // anywhere was `two`: only the per-process rule gets `one` right.
    const shared = at('shared').ipv4;
    const before = lines.filter((l) => l.type === 'dns' && (l.addrs as string[]).includes(shared) && String(l.ts) < String(a.open?.ts));
    assert.ok(before.length > 0);
    assert.equal(before.at(-1)?.host, NAMES.two, JSON.stringify(before));
  });

  test('flows of every connection carry its host name and the client process, both directions', () => {
    // A TCP flow takes the name of its connection, so the two connections
    // to the shared address keep their own names here too.
    const flows = lines.filter((l) => l.type === 'flow' && l.iface === topo.client.iface && l.proto === 'tcp');
    for (const { label, result, comm, host } of expected) {
      const egress = flows.filter(
        (l) =>
          l.direction === 'egress' &&
          l.saddr === result.localAddress &&
          l.sport === result.localPort &&
          l.daddr === result.remoteAddress &&
          l.dport === result.remotePort,
      );
      const ingress = flows.filter(
        (l) =>
          l.direction === 'ingress' &&
          l.daddr === result.localAddress &&
          l.dport === result.localPort &&
          l.saddr === result.remoteAddress &&
          l.sport === result.remotePort,
      );
      assert.ok(egress.length > 0 && ingress.length > 0, `${label}: flows of ${JSON.stringify(result)}`);
      for (const flow of egress) {
        assert.equal(flow.dst_host, host, `${label}: ${JSON.stringify(flow)}`);
        assert.equal(flow.src_host, null, label);
      }
      for (const flow of ingress) {
        assert.equal(flow.src_host, host, `${label}: ${JSON.stringify(flow)}`);
        assert.equal(flow.dst_host, null, label);
      }
      for (const flow of [...egress, ...ingress]) {
        assert.equal(flow.pid, result.pid, `${label}: ${JSON.stringify(flow)}`);
        assert.equal(flow.comm, comm, label);
      }
      const received = ingress.reduce((sum, l) => sum + (l.bytes as number), 0);
      assert.ok(received > result.bytesReceived, `${label}: ingress bytes ${received} hold the payload and headers`);
    }
  });

  test('every connection of the workload is attributed to the right name', (t) => {
    const right = expected.filter(({ result, host, hostSource }) => {
      const { open, close } = recordsOf(result);
      return [open, close].every((r) => r !== undefined && r.pid === result.pid && r.host === host && r.host_source === hostSource);
    });
    const wrong = expected.filter((e) => !right.includes(e)).map((e) => e.label);
    t.diagnostic(
      `attribution: ${right.length} of ${expected.length} workload connections named right (open and close records): ${expected.map((e) => e.label).join('; ')}`,
    );
    assert.equal(expected.length, 8, 'the whole workload ran');
    assert.deepEqual(wrong, []);
  });

  test('the flows of a connection a dual-stack (::) listener accepted belong to the server process', async () => {
    // hostflow on the server's side this time. The accepted socket is IPv6
    // with IPv4-mapped addresses; the packets on the interface are IPv4.
    const server = await startReplyServer({ ns: topo.server, host: '::' });
    try {
      const run = await startHostflow(['-i', topo.server.iface, '--flow-interval', '1'], { ns: topo.server.ns });
      let client: ClientResult;
      let stopped: Awaited<ReturnType<typeof run.stop>>;
      try {
        client = await pythonClient({ ns: topo.client, host: topo.server.ipv4, port: server.port, send: 10, reply: 100 });
      } finally {
        stopped = await run.stop('SIGINT');
      }
      assert.equal(stopped.code, 0, stopped.stderr);
      const accepted = conns(stopped.lines, 'close').find((l) => l.direction === 'in' && l.sport === server.port && l.dport === client.localPort);
      assert.ok(accepted, JSON.stringify(conns(stopped.lines, 'close')));
      assert.equal(accepted.pid, server.pid);
      const flows = stopped.lines.filter(
        (l) => l.type === 'flow' && l.iface === topo.server.iface && (l.sport === client.localPort || l.dport === client.localPort),
      );
      assert.ok(flows.length >= 2, JSON.stringify(stopped.lines));
      for (const flow of flows) {
        assert.equal(
          flow.pid,
          server.pid,
          `flow on the server's interface owned by the server (${server.pid}), not the client (${client.pid}): ${JSON.stringify(flow)}; its connection: ${JSON.stringify(accepted)}`,
        );
      }
    } finally {
      await server.stop();
    }
  });

  test('--type conn --host <glob> writes only the connections to matching names', async () => {
    const ns = topo.client;
    const server = await startReplyServer({ ns: topo.server, host: '::', port: REPLY_PORT });
    let matching: ClientResult;
    let other: ClientResult;
    try {
      const run = await startHostflow(['-i', topo.client.iface, '--type', 'conn', '--host', FILTER_GLOB], { ns: ns.ns });
      let stopped: Awaited<ReturnType<typeof run.stop>>;
      try {
        await topo.exec(ns, 'dig', ['+short', '+tries=1', '+time=2', NAMES.filtered, 'A']);
        matching = await pythonClient({ ns, host: NAMES.filtered, port: REPLY_PORT, send: 10, reply: 100 });
        other = await pythonClient({ ns, host: NAMES.other, port: REPLY_PORT, send: 10, reply: 100 });
      } finally {
        stopped = await run.stop('SIGINT');
      }
      assert.equal(stopped.code, 0, stopped.stderr);
      const records = stopped.lines;
      assert.ok(records.length > 0);
      assert.deepEqual(
        records.filter((l) => l.type !== 'conn'),
        [],
        'only conn records',
      );
      assert.deepEqual(
        records.filter((l) => !String(l.host).endsWith(`.flt.${BASE}`)),
        [],
        'only matching hosts',
      );
      const { open, close } = recordsOf(matching, records);
      assert.ok(open && close, JSON.stringify(records));
      assert.equal(close.bytes_received, 100);
      assert.deepEqual(
        records.filter((l) => l.sport === other.localPort || l.dport === other.localPort),
        [],
      );
    } finally {
      await server.stop();
    }
  });

  test('--format text with --comm writes readable lines of that command only, with the names', async () => {
    const ns = topo.client;
    const servers = await Promise.all([
      startReplyServer({ ns: topo.server, host: '::', port: REPLY_PORT }),
      startHttpServer({ ns: topo.server, host: '::', port: HTTP_PORT, fileBytes: 1_000 }),
    ]);
    try {
      const run = await startHostflow(['-i', topo.client.iface, '--comm', 'curl', '--format', 'text'], { ns: ns.ns });
      let curl: ClientResult;
      let stopped: Awaited<ReturnType<typeof run.stop>>;
      try {
        curl = await curlFetch({ ns, url: `http://${NAMES.text}:${HTTP_PORT}/file` });
        await pythonClient({ ns, host: NAMES.py, port: REPLY_PORT, send: 10, reply: 100 });
      } finally {
        stopped = await run.stop();
      }
      assert.equal(stopped.code, 0, stopped.stderr);
      const text = stopped.text.split('\n').filter((line) => line.trim() !== '');
      assert.ok(text.length > 0);
      for (const line of text) {
        assert.doesNotMatch(line, /^\s*[{[]/, 'not JSON');
        assert.match(line, /curl\[\d+\]/, "only curl's records");
        assert.doesNotMatch(line, new RegExp(`${pythonComm}|${NAMES.py.replaceAll('.', '\\.')}`));
      }
      const who = `curl[${curl.pid}]`;
      const open = text.find((line) => / conn {2}open /.test(line) && line.includes(who) && line.includes(`${NAMES.text} ${curl.remoteAddress}:${HTTP_PORT}`));
      const close = text.find((line) => / conn {2}close /.test(line) && line.includes(who) && line.includes(NAMES.text));
      assert.ok(open && close, text.join('\n'));
      assert.match(open, /\[process\]/);
      assert.match(close, new RegExp(`sent ${curl.bytesSent} B received ${curl.bytesReceived} B`));
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
});

/** TcpRetransSegs of a namespace, from its /proc/net/snmp. */
async function tcpRetransSegs(topo: Topology, ns: Namespace): Promise<number> {
  const { stdout } = await topo.exec(ns, 'cat', ['/proc/net/snmp']);
  const [names, values] = stdout
    .split('\n')
    .filter((line) => line.startsWith('Tcp:'))
    .map((line) => line.trim().split(/\s+/));
  return Number(values?.[names?.indexOf('RetransSegs') ?? -1]);
}
