/**
 * A random-subdomain flood: 100 k unique names resolved through getaddrinfo
 * (so hostflow sees each one twice: at the uprobe and on the wire through
 * the socket hooks), every one answering with the address a real service
 * also has. The name indexes must stay within their bounds and count what
 * they push out, hostflow's memory must stay bounded, and a real process
 * that resolves its own name during the flood must still get its
 * connection named by its own lookup.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startHostflow, summaryOf } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3, run } from '../helpers/process.js';
import { pythonClient, startReplyServer } from '../helpers/workload.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'python3'], features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const NAMES = 100_000;
const FLOODERS = 4;
const FLOOD_DOMAIN = 'storm.test';
const REAL_NAME = 'web.storm-victim.test';

/** The flood: 100 k names within a minute. */
const FLOOD_SECONDS = 50;

/** getaddrinfo of COUNT unique names from START, IPv4 only (one query each), at RATE a second at most. */
const FLOOD = String.raw`
import socket, sys, time
domain, start, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
errors = 0
began = time.monotonic()
for n, i in enumerate(range(start, start + count)):
    ahead = began + n / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
    try:
        socket.getaddrinfo("r%d.%s" % (i, domain), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        errors += 1
print("DONE %d %d" % (count, errors))
`;

/**
 * The resolver: each flood name answers with an address of its own (10.100.0.0
 * onwards, never contacted), so every name is a new entry of the name
 * indexes; REAL_NAME answers with the real service's address.
 */
const RESOLVER = String.raw`
import socket, struct, sys
listen, domain, real_name, real_addr = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((listen, 53))
print("READY", flush=True)
while True:
    query, peer = sock.recvfrom(512)
    if len(query) < 12:
        continue
    qid, = struct.unpack("!H", query[:2])
    at, labels = 12, []
    while at < len(query) and query[at] != 0:
        labels.append(query[at + 1:at + 1 + query[at]].decode("ascii", "replace"))
        at += 1 + query[at]
    question = query[12:at + 5]
    qtype, = struct.unpack("!H", query[at + 1:at + 3])
    name = ".".join(labels).lower()
    addr = None
    if name == real_name:
        addr = socket.inet_aton(real_addr)
    elif name.endswith("." + domain) and name[0] == "r" and name.split(".")[0][1:].isdigit():
        i = int(name.split(".")[0][1:])
        addr = bytes([10, 100 + (i >> 16), (i >> 8) & 255, i & 255])
    rcode = 0 if addr is not None else 3
    answers = b""
    if addr is not None and qtype == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + addr
    header = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
    sock.sendto(header + question + answers, peer)
`;

function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

describe('a random-subdomain flood', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    // The namespaces' resolv.conf names the server's address; the resolver below listens there.
    topo = await Topology.create({ dns: false });
    const resolver = topo.spawn(topo.server, python3(), ['-c', RESOLVER, topo.server.ipv4, FLOOD_DOMAIN, REAL_NAME, topo.server.ipv4]);
    await resolver.waitForLine(/^READY$/, { stream: 'stdout', timeoutMs: 10_000 });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('keeps the name indexes within their bounds, counts what they push out, and still names a real connection', async (t) => {
    const { client, server } = topo;
    const reply = await startReplyServer({ ns: server, host: server.ipv4 });
    const hostflow = await startHostflow(['-i', client.iface, '--no-control'], { ns: client.ns });
    const pid = hostflow.process.pid ?? 0;
    let result: Awaited<ReturnType<typeof hostflow.stop>>;
    let rssBefore = 0;
    let rssAfter = 0;
    let victim: Awaited<ReturnType<typeof pythonClient>>;
    let floodMs = 0;
    try {
      rssBefore = rssMb(pid);
      const started = Date.now();
      const share = NAMES / FLOODERS;
      const flood = Array.from({ length: FLOODERS }, (_, i) =>
        run('ip', ['netns', 'exec', client.ns, python3(), '-c', FLOOD, FLOOD_DOMAIN, String(i * share), String(share), String(share / FLOOD_SECONDS)], {
          timeoutMs: 300_000,
        }),
      );
      // Well into the flood, a real process resolves its own name and connects.
      await new Promise((resolve) => setTimeout(resolve, (FLOOD_SECONDS * 1000) / 2));
      victim = await pythonClient({ ns: client, host: REAL_NAME, family: 4, port: reply.port, send: 100, reply: 1000 });
      const done = await Promise.all(flood);
      floodMs = Date.now() - started;
      for (const { stdout } of done) assert.match(stdout, new RegExp(`^DONE ${share} 0$`, 'm'), 'every flood name resolved');
      // The flood's last records leave the reorder window and the rings.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      rssAfter = rssMb(pid);
    } finally {
      result = await hostflow.stop();
      await reply.stop();
    }
    t.diagnostic(`${NAMES} names in ${floodMs} ms; hostflow resident ${rssBefore} MB before, ${rssAfter} MB after`);
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(summaryOf(result.stderr));

    const session = result.summary?.session;
    const lookups = result.lines.filter((l) => l.type === 'dns' && typeof l.host === 'string' && l.host.endsWith(`.${FLOOD_DOMAIN}`));
    assert.equal(lookups.filter((l) => l.source === 'getaddrinfo').length, NAMES, 'every flood lookup has its getaddrinfo record');
    assert.equal(lookups.filter((l) => l.source === 'wire').length, NAMES, 'and its wire record');

    for (const level of session?.fill ?? [])
      assert.ok(level.peak <= level.capacity, `${level.table} stayed within its bound (${level.peak} of ${level.capacity})`);
    const evicted = session?.naming?.namesEvicted;
    for (const [table, count] of [
      ['names_global', evicted?.global ?? 0],
      ['names_by_process', evicted?.process ?? 0],
    ] as const) {
      const level = session?.fill?.find((fill) => fill.table === table);
      assert.equal(level?.peak, level?.capacity, `${table} filled up`);
      assert.ok(count >= NAMES - (level?.capacity ?? 0), `${table}: evictions counted: ${JSON.stringify(evicted)}`);
    }
    assert.match(result.stderr, /note names: \d+ names pushed out of the name indexes/);
    assert.match(result.stderr, /note tables: .*names_global 100%/);
    assert.ok(rssAfter - rssBefore < 200, `memory stays bounded: ${rssBefore} MB -> ${rssAfter} MB`);

    const open = result.lines.find((l) => l.type === 'conn' && l.event === 'open' && l.sport === victim.localPort);
    assert.equal(open?.host, REAL_NAME, `the real connection is named by its own lookup: ${JSON.stringify(open)}`);
    assert.equal(open?.host_source, 'process');
  });
});
