/**
 * hostflow against an independent reference, libbpf-tools `tcplife`, on the
 * same workload: every connection tcplife reports between the topology's two
 * namespaces must be among hostflow's conn close records, with the same pid,
 * comm, addresses, ports and byte counts.
 *
 * tcplife prints `tcp_sock.bytes_acked` (TX) and `bytes_received` (RX) as
 * KiB with two decimals. Both count sequence space, not payload. Measured
 * here (byte counts just below and above tcplife's rounding edges, so a
 * difference of one byte changes the printed figure) and matching the
 * kernel code:
 *
 *   end                              TX (bytes_acked)    RX (bytes_received)
 *   client, active open, FIN first   payload + 2         payload + 1
 *                                    (SYN and FIN acked) (the peer's FIN)
 *   server, passive open, FIN last   payload + 1         payload + 1
 *                                    (FIN acked; the child socket starts
 *                                     with snd_una past its SYN-ACK)
 *
 * hostflow reports exact payload bytes, so it is compared after adding these.
 * The request/reply server makes the client close first and the server close
 * from its own process (LAST_ACK), so tcplife's pid is the owner's on both
 * ends: for a socket closed in softirq without LAST_ACK, tcplife would report
 * whatever task the CPU was running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { ensureTracefs } from '../../src/system/mounts.js';
import { findTcplife, startTcplife, tcplifeKb, type TcplifeRow } from '../helpers/tcplife.js';
import { pythonClient, startReplyServer, type ClientResult } from '../helpers/workload.js';

const requirements = {
  commands: ['ip', 'python3', ...(findTcplife() === undefined ? ['tcplife'] : [])],
  features: ['netns' as const, 'btf' as const],
};

/** Sequence-space bytes tcplife counts on top of the payload (see the table above). */
const EXTRA = {
  client: { tx: 2, rx: 1 },
  server: { tx: 1, rx: 1 },
} as const;

/** printf("%.2f") and toFixed(2) may round an exact tie differently: b/1024 ends in ...5 when b = 128 mod 256. */
const isTie = (bytes: number) => bytes % 256 === 128;

/** The first count >= near with tcplifeKb(count + at) != tcplifeKb(count + at + 1), neither a tie. */
function edgeCount(near: number, at: number): number {
  for (let count = near; ; count++) {
    const low = count + at;
    if (isTie(low) || isTie(low + 1)) continue;
    if (tcplifeKb(low) !== tcplifeKb(low + 1)) return count;
  }
}

interface Planned {
  family: 4 | 6;
  send: number;
  reply: number;
}

/**
 * Distinct sizes, every one on a rounding edge. Sent bytes: client TX is
 * send + 2 and server RX send + 1, so the edge lies between those two and a
 * byte too few (client) or too many (server) shows. Replied bytes count +1 on
 * both ends: half the connections sit just above an edge (a byte too few
 * shows), half just below (a byte too many shows).
 */
const PLAN: Planned[] = (
  [
    [4, 700, 1_500],
    [4, 9_000, 3_100],
    [4, 65_000, 250_000],
    [4, 400_000, 20_000],
    [6, 3_000, 70_000],
    [6, 120_000, 5_000],
  ] as const
).map(([family, send, reply], index) => ({
  family,
  send: edgeCount(send, 1),
  reply: index % 2 === 0 ? edgeCount(reply, 0) : edgeCount(reply, 1),
}));

describe('hostflow agrees with tcplife', privilegedSuite(requirements), () => {
  let topo: Topology;
  let rows: TcplifeRow[] = [];
  let lines: JsonLine[] = [];
  let exitCode: number | null = null;
  let stderr = '';
  let serverPorts: number[] = [];
  const results: Array<Planned & { result: ClientResult; serverPid: number }> = [];

  before(async () => {
    // tcplife attaches its tracepoint by name, through tracefs (hostflow mounts it itself).
    const tracefs = ensureTracefs();
    assert.ok(tracefs.path, tracefs.error);
    topo = await Topology.create({ dns: false });
    const servers = await Promise.all([
      startReplyServer({ ns: topo.server, host: topo.server.ipv4 }),
      startReplyServer({ ns: topo.server, host: topo.server.ipv6 }),
    ]);
    try {
      const [server4, server6] = servers;
      serverPorts = servers.map((server) => server.port);
      const tcplife = await startTcplife();
      try {
        const hostflow = await startHostflow(['-i', topo.client.iface], { ns: topo.client.ns });
        try {
          for (const planned of PLAN) {
            const server = planned.family === 4 ? server4 : server6;
            const host = planned.family === 4 ? topo.server.ipv4 : topo.server.ipv6;
            const result = await pythonClient({ ns: topo.client, host, port: server.port, send: planned.send, reply: planned.reply });
            results.push({ ...planned, result, serverPid: server.pid });
          }
          // Both ends of every connection, before anyone stops.
          await tcplife.waitFor((seen) => seen.filter(ours).length >= 2 * PLAN.length);
        } finally {
          ({ lines, code: exitCode, stderr } = await hostflow.stop('SIGINT'));
        }
      } finally {
        rows = (await tcplife.stop()).filter(ours);
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  /** A row between the topology's two namespaces, to or from one of its servers. */
  function ours(row: TcplifeRow): boolean {
    const addresses = [topo.server.ipv4, topo.server.ipv6, topo.client.ipv4, topo.client.ipv6];
    return (
      addresses.includes(row.localAddress) &&
      addresses.includes(row.remoteAddress) &&
      (serverPorts.includes(row.localPort) || serverPorts.includes(row.remotePort))
    );
  }

  test('the workload did what was planned, and hostflow ended cleanly', () => {
    assert.equal(exitCode, 0, stderr);
    assert.match(stderr, /summary: ok records: dns \d+, conn \d+, flow \d+, udp \d+ written\nhostflow: summary: ok events: \d+ delivered; none lost/);
    for (const { send, reply, result } of results) {
      assert.equal(result.bytesSent, send);
      assert.equal(result.bytesReceived, reply);
    }
  });

  test('tcplife sees both ends of every connection, and its units are as measured', () => {
    assert.equal(rows.length, 2 * PLAN.length, JSON.stringify(rows));
    for (const { send, reply, result, serverPid } of results) {
      const client = rows.find((row) => row.localPort === result.localPort && row.localAddress === result.localAddress);
      const server = rows.find((row) => row.remotePort === result.localPort && row.remoteAddress === result.localAddress);
      assert.ok(client && server, `tcplife rows of ${result.localAddress}:${result.localPort}: ${JSON.stringify(rows)}`);
      // The client's own numbers against tcplife: this pins the extras above.
      assert.equal(client.txKb, tcplifeKb(send + EXTRA.client.tx));
      assert.equal(client.rxKb, tcplifeKb(reply + EXTRA.client.rx));
      assert.equal(server.txKb, tcplifeKb(reply + EXTRA.server.tx));
      assert.equal(server.rxKb, tcplifeKb(send + EXTRA.server.rx));
      assert.equal(client.pid, result.pid);
      assert.equal(server.pid, serverPid);
    }
  });

  test('every connection tcplife reports is a hostflow close record with the same pid, ports and bytes', (t) => {
    const closes = lines.filter((l) => l.type === 'conn' && l.event === 'close');
    let matched = 0;
    for (const row of rows) {
      const side = serverPorts.includes(row.localPort) ? 'server' : 'client';
      const record = closes.find(
        (l) => l.saddr === row.localAddress && l.sport === row.localPort && l.daddr === row.remoteAddress && l.dport === row.remotePort,
      );
      assert.ok(record, `no hostflow close record for tcplife's ${JSON.stringify(row)}; closes: ${JSON.stringify(closes)}`);
      const what = `${side} ${row.localAddress}:${row.localPort}`;
      assert.equal(record.direction, side === 'client' ? 'out' : 'in', what);
      assert.equal(record.pid, row.pid, what);
      assert.equal(record.comm, row.comm, what);
      assert.equal(record.established, true, what);
      assert.equal(tcplifeKb((record.bytes_sent as number) + EXTRA[side].tx), row.txKb, `${what}: bytes_sent ${record.bytes_sent}`);
      assert.equal(tcplifeKb((record.bytes_received as number) + EXTRA[side].rx), row.rxKb, `${what}: bytes_received ${record.bytes_received}`);
      matched++;
    }
    t.diagnostic(`${matched} of ${rows.length} tcplife connection ends matched by hostflow close records`);
  });

  test("hostflow's byte counts are the exact payloads, for both ends", () => {
    const closes = lines.filter((l) => l.type === 'conn' && l.event === 'close');
    for (const { send, reply, result } of results) {
      const client = closes.find((l) => l.direction === 'out' && l.sport === result.localPort && l.saddr === result.localAddress);
      const server = closes.find((l) => l.direction === 'in' && l.dport === result.localPort && l.daddr === result.localAddress);
      assert.ok(client && server, JSON.stringify(closes));
      assert.deepEqual([client.bytes_sent, client.bytes_received], [send, reply]);
      assert.deepEqual([server.bytes_sent, server.bytes_received], [reply, send]);
    }
  });
});
