/**
 * ClientHellos and HTTP request heads have a kernel ring of their own,
 * through the real CLI in a topology's client namespace. A client opens
 * many TCP connections to a sink and sends each a real TLS ClientHello
 * (OpenSSL's, through Python's ssl module, SNI included) in one burst,
 * with DNS queries to dnsmasq interleaved. With the payload ring shrunk to
 * a page, the burst overflows it (drop_payload_tc) while every DNS answer
 * still becomes a record, and the ClientHellos that fit still name their
 * connection. With --no-server-names, a ClientHello names nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine, summaryOf } from '../helpers/hostflow.js';
import { Topology, type TopologyPlan } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';

const requirements = { commands: TOPOLOGY_COMMANDS, features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const BASE = 'payload-ring.hostflow.test';
const SNI = `tls.${BASE}`;
/** Names dnsmasq answers, queried in the middle of the burst. */
const DNS_NAMES = Array.from({ length: 30 }, (_, i) => `d${i}.${BASE}`);
const CLIENT_HELLOS = 300;
const SINK_PORT = 4433;
/** The sink's own address, which no DNS answer names: only the SNI can name its connections. */
const sinkAddress = (plan: Pick<TopologyPlan, 'server'>) => plan.server.ipv4.replace(/\.1$/, '.41');

/** Accepts connections and reads them until they close. */
const SINK = String.raw`
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4096)
print('ready', flush=True)
def drain(c):
    while c.recv(65536): pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
`;

/**
 * argv: sink address, port, connections, SNI, DNS server, names...
 * Connects every socket first, then sends the ClientHellos back to back and
 * a DNS query after every few; prints how many answers came back.
 */
const BURST = String.raw`
import socket, ssl, struct, sys
sink, port, count, sni, server, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
ctx = ssl.create_default_context()
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outgoing.read()
def query(qid, name):
    labels = b''.join(bytes([len(p)]) + p.encode() for p in name.split('.'))
    return struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0) + labels + b'\0' + struct.pack('>HH', 1, 1)
conns = [socket.create_connection((sink, port)) for _ in range(count)]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
every = max(1, count // max(1, len(names)))
asked = 0
for i, c in enumerate(conns):
    c.sendall(hello)
    if i % every == 0 and asked < len(names):
        udp.sendto(query(asked + 1, names[asked]), (server, 53))
        asked += 1
while asked < len(names):
    udp.sendto(query(asked + 1, names[asked]), (server, 53))
    asked += 1
udp.settimeout(5)
answers = 0
try:
    while answers < len(names):
        udp.recv(4096)
        answers += 1
except socket.timeout:
    pass
for c in conns:
    c.close()
print('hello %d bytes, answers %d' % (len(hello), answers), flush=True)
`;

interface Run {
  lines: JsonLine[];
  stderr: string;
  code: number | null;
  client: string;
}

describe('server names have a kernel ring of their own', privilegedSuite(requirements), () => {
  let topo: Topology;
  let burst: Run;
  let off: Run;

  /** Runs hostflow with `args`, the burst of `connections` ClientHellos and the DNS queries, then stops it. */
  async function traced(args: readonly string[], connections: number, names: readonly string[]): Promise<Run> {
    const hostflow = await startHostflow(['-i', topo.client.iface, '--no-flows', '--no-control', ...args], { ns: topo.client.ns });
    let client = '';
    let stopped: Awaited<ReturnType<typeof hostflow.stop>>;
    try {
      const result = await topo.exec(
        topo.client,
        python3(),
        ['-c', BURST, sinkAddress(topo), String(SINK_PORT), String(connections), SNI, topo.server.ipv4, ...names],
        { timeoutMs: 30_000 },
      );
      client = result.stdout.trim();
    } finally {
      stopped = await hostflow.stop('SIGINT');
    }
    return { lines: stopped.lines, stderr: stopped.stderr, code: stopped.code, client };
  }

  before(async () => {
    topo = await Topology.create({ hosts: (plan) => DNS_NAMES.map((name) => ({ name, ipv4: plan.server.ipv4 })) });
    await topo.exec(topo.server, 'ip', ['addr', 'add', `${sinkAddress(topo)}/24`, 'dev', topo.server.iface]);
    const sink = topo.spawn(topo.server, python3(), ['-c', SINK, sinkAddress(topo), String(SINK_PORT)]);
    await sink.waitForLine(/^ready/, { stream: 'stdout' });
    burst = await traced(['--payload-ring-size', '4K'], CLIENT_HELLOS, DNS_NAMES);
    off = await traced(['--no-server-names'], 3, DNS_NAMES.slice(0, 1));
  });

  after(async () => {
    await topo?.destroy();
  });

  const summary = (run: Run) => summaryOf(run.stderr);
  const sniNamed = (run: Run) => run.lines.filter((l) => l.type === 'conn' && l.host_source === 'sni' && l.host === SNI);

  test('a burst of ClientHellos overflows only its own ring: every DNS answer still becomes a record', (t) => {
    t.diagnostic(`${burst.client}\n${summary(burst)}`);
    assert.equal(burst.code, 0, burst.stderr);
    assert.match(burst.client, new RegExp(`answers ${DNS_NAMES.length}$`));
    const answered = new Set(burst.lines.filter((l) => l.type === 'dns' && l.source === 'wire').map((l) => l.host));
    assert.deepEqual(
      DNS_NAMES.filter((name) => !answered.has(name)),
      [],
      'answers missing from the records',
    );
    const lost = /summary: PROBLEM events: (\d+) lost in the kernel, their records never written \(([^)]*)\)/.exec(burst.stderr);
    assert.ok(lost, summary(burst));
    assert.equal(lost[2], `drop_payload_tc ${lost[1]}`, 'only ClientHellos were lost');
    assert.ok(Number(lost[1]) > CLIENT_HELLOS / 2, `${lost[1]} of ${CLIENT_HELLOS} ClientHellos lost to a one-page ring`);
  });

  test('the ClientHellos that fit arrive through that ring and name their connections by SNI', () => {
    const named = sniNamed(burst);
    assert.ok(named.length >= 1, JSON.stringify(burst.lines.filter((l) => l.type === 'conn').slice(0, 3)));
    assert.ok(named.every((l) => l.daddr === sinkAddress(topo) && l.dport === SINK_PORT));
    assert.match(burst.stderr, /summary: ok server names: seen SNI [1-9]\d*, HTTP Host 0/);
  });

  test('with --no-server-names a ClientHello names nothing and nothing is lost', () => {
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.client, /answers 1$/);
    const toSink = off.lines.filter((l) => l.type === 'conn' && l.event === 'close' && l.daddr === sinkAddress(topo));
    assert.equal(toSink.length, 3, JSON.stringify(off.lines));
    assert.deepEqual(sniNamed(off), []);
    assert.ok(toSink.every((l) => l.host === null));
    assert.doesNotMatch(off.stderr, /server names: seen|drop_payload_tc/);
  });
});
