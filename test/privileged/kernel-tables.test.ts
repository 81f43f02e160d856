/**
 * The kernel tables that pair one event with a later one (`sockets`,
 * `lookups`, `connecting`), run through the real CLI: they are LRU hashes
 * of the sizes the options ask for (plus the free entries the kernel's LRU
 * keeps per CPU), and a burst of getaddrinfo calls larger than
 * --lookup-table-size loses lookups that the summary counts as lookups_full
 * instead of hiding. The calls are held in flight by a DNS server that
 * never answers, so that they all wait at once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LRU_FREE_PER_CPU } from '../../src/kernel/load-plan.js';
import { loadNative } from '../../src/kernel/native.js';
import { startHostflow, type JsonLine, summaryOf } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'bpftool'], features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

/** Sizes no other run on the machine asks for, so bpftool finds this run's maps by them. */
const ASKED = { sockets: 12_347, lookups: 1, connecting: 347 };
/** getaddrinfo calls in flight at once beyond what the lookups table holds. */
const EXCESS = 300;
const DOMAIN = 'tables.hostflow.test';

/** Starts every call at once (a barrier) and waits for all; the silent resolver makes each take `timeout` seconds. */
const BURST = String.raw`
import socket, sys, threading
threading.stack_size(256 * 1024)
n = int(sys.argv[1])
barrier = threading.Barrier(n)
def call(i):
    barrier.wait()
    try:
        socket.getaddrinfo('q%d.${DOMAIN}' % i, 80, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        pass
threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print('done', flush=True)
`;

/** Reads a UDP port 53 and never answers. */
const SILENT_RESOLVER = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print('ready', flush=True)
while True: s.recv(4096)
`;

interface MapInfo {
  name: string;
  type: string;
  max_entries: number;
}

describe('kernel pairing tables: LRU, sized from the options, and losses counted', privilegedSuite(requirements), () => {
  let topo: Topology;
  let cpus = 0;
  let calls = 0;
  let maps: MapInfo[] = [];
  let lines: JsonLine[] = [];
  let stderr = '';
  let code: number | null = null;

  before(async () => {
    cpus = loadNative().possibleCpus();
    calls = ASKED.lookups + LRU_FREE_PER_CPU * cpus + EXCESS;
    topo = await Topology.create({ dns: false });
    const resolver = topo.spawn(topo.server, python3(), ['-c', SILENT_RESOLVER, topo.server.ipv4]);
    await resolver.waitForLine(/^ready/, { stream: 'stdout' });
    // One try of two seconds: long enough for every call to be in flight at once.
    writeFileSync(join('/etc/netns', topo.client.ns, 'resolv.conf'), `nameserver ${topo.server.ipv4}\noptions timeout:2 attempts:1\n`);
    const hostflow = await startHostflow(
      [
        '--no-flows',
        '--no-wire-dns',
        '--no-control',
        '--socket-table-size',
        String(ASKED.sockets),
        '--lookup-table-size',
        String(ASKED.lookups),
        '--connect-table-size',
        String(ASKED.connecting),
      ],
      { ns: topo.client.ns },
    );
    try {
      maps = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show'], { encoding: 'utf8' })) as MapInfo[];
      await topo.exec(topo.client, python3(), ['-c', BURST, String(calls)], { timeoutMs: 60_000 });
    } finally {
      ({ lines, code, stderr } = await hostflow.stop('SIGINT'));
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  test('sockets, lookups and connecting are LRU hashes holding what the options ask for, plus 128 free entries per CPU', () => {
    for (const [name, asked] of Object.entries(ASKED)) {
      const expected = asked + LRU_FREE_PER_CPU * cpus;
      const found = maps.filter((map) => map.name === name && map.max_entries === expected);
      assert.equal(found.length, 1, `${name} with ${expected} entries among ${JSON.stringify(maps.filter((map) => map.name === name))}`);
      assert.equal(found[0]?.type, 'lru_hash');
    }
  });

  test('getaddrinfo calls beyond the lookups table are counted as lookups_full, a PROBLEM that names --lookup-table-size', (t) => {
    t.diagnostic(summaryOf(stderr));
    assert.equal(code, 0, stderr);
    const recorded = lines.filter((l) => l.type === 'dns' && l.source === 'getaddrinfo' && typeof l.host === 'string' && l.host.endsWith(DOMAIN));
    const tables = /summary: PROBLEM tables: \d+ records lost or closed without their process \(([^)]*)\): a kernel table was full; raise (.*)$/m.exec(stderr);
    assert.ok(tables, stderr);
    const full = Number(/lookups_full (\d+)/.exec(tables[1] ?? '')?.[1] ?? 0);
    const capacity = ASKED.lookups + LRU_FREE_PER_CPU * cpus;
    assert.ok(full >= calls - capacity, `lookups_full ${full}: at least ${calls - capacity} of ${calls} calls could not fit in ${capacity} entries`);
    // Other processes of the host are traced too: their lost lookups count here, so never fewer than ours.
    assert.ok(recorded.length + full >= calls, `${recorded.length} recorded + ${full} lost < ${calls} made`);
    assert.ok(recorded.length > 0 && recorded.length <= calls, `${recorded.length} recorded`);
    assert.match(tables[2] ?? '', /--lookup-table-size/);
    assert.match(stderr, /summary: \d+ PROBLEMS?: .*tables/);
  });
});
