/**
 * The kernel pipeline end to end, on the real kernel: hostflow runs in the
 * client namespace of a two-namespace topology with dnsmasq, workloads run
 * beside it, and the JSON lines it writes must describe exactly what they
 * did: who resolved which name to which addresses, who connected where, how
 * many bytes came back, the DNS answers on the wire, and packet counts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectProbeModes } from '../helpers/connect-probe.js';
import { startHostflow, type JsonLine } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { startTcpServer, tcpFetch, udpSend } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS], features: ['netns' as const, 'btf' as const] };

const SERVER_BYTES = 123_457;
const CLIENT_BYTES = 777;
const UDP_COUNT = 50;
const UDP_PAYLOAD = 200;

const dnsRecords = (lines: JsonLine[], source: string) => lines.filter((l) => l.type === 'dns' && l.source === source);
const connRecords = (lines: JsonLine[], event: string) => lines.filter((l) => l.type === 'conn' && l.event === event);
const flowRecords = (lines: JsonLine[]) => lines.filter((l) => l.type === 'flow');

describe('kernel pipeline in network namespaces', privilegedSuite(requirements), () => {
  let topo: Topology;
  let lines: JsonLine[] = [];
  let exitCode: number | null = null;
  let stderr = '';
  let fetched: Awaited<ReturnType<typeof tcpFetch>>;
  let fetched6: Awaited<ReturnType<typeof tcpFetch>>;
  let udp4Port = 0;
  let udp6Port = 0;

  before(async () => {
    topo = await Topology.create({
      ttl: 30,
      hosts: ({ server }) => [{ name: 'web.hostflow.test', ipv4: server.ipv4, ipv6: server.ipv6 }],
      cnames: [{ alias: 'alias.hostflow.test', target: 'web.hostflow.test' }],
    });
    const server = await startTcpServer({ ns: topo.server, host: '::', port: 8080, bytes: SERVER_BYTES });
    try {
      const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1'], { ns: topo.client.ns });
      try {
        fetched = await tcpFetch({ ns: topo.client, host: 'web.hostflow.test', port: 8080, family: 4, send: CLIENT_BYTES });
        fetched6 = await tcpFetch({ ns: topo.client, host: 'web.hostflow.test', port: 8080, family: 6 });
        await topo.exec(topo.client, 'dig', ['+short', '+tries=1', 'alias.hostflow.test', 'A']);
        udp4Port = (await udpSend({ ns: topo.client, host: topo.server.ipv4, port: 9999, count: UDP_COUNT, size: UDP_PAYLOAD })).localPort;
        udp6Port = (await udpSend({ ns: topo.client, host: topo.server.ipv6, port: 9999, count: UDP_COUNT, size: UDP_PAYLOAD, family: 6 })).localPort;
        await server.waitForConnections(2);
      } finally {
        const result = await hostflow.stop('SIGINT');
        lines = result.lines;
        exitCode = result.code;
        stderr = result.stderr;
      }
    } finally {
      await server.stop();
    }
  });

  after(async () => {
    await topo?.destroy();
  });

  test('hostflow exits 0 on SIGINT with a summary line and reports the connect probe', () => {
    assert.equal(exitCode, 0, stderr);
    assert.match(stderr, new RegExp(`connect probe: (${connectProbeModes()})\\b`));
    assert.match(stderr, /summary: ok records: dns \d+, conn \d+, flow \d+, udp \d+ written\nhostflow: summary: ok events: \d+ delivered; none lost/);
  });

  test('a getaddrinfo lookup carries the process, the name and every address', () => {
    const lookups = dnsRecords(lines, 'getaddrinfo').filter((l) => l.host === 'web.hostflow.test' && l.comm === 'python3');
    assert.ok(lookups.length >= 2, `lookups: ${JSON.stringify(dnsRecords(lines, 'getaddrinfo'))}`);
    const v4 = lookups.find((l) => (l.addrs as string[]).includes(topo.server.ipv4));
    const v6 = lookups.find((l) => (l.addrs as string[]).includes(topo.server.ipv6));
    assert.ok(v4 && v6, JSON.stringify(lookups));
    assert.equal(v4.status, 'OK');
    assert.ok(typeof v4.latency_ms === 'number' && v4.latency_ms > 0);
    assert.ok((v4.pid as number) > 0 && v4.pid === v4.tid);
  });

  test('the connection is traced from connect to close with the exact bytes the server sent', () => {
    for (const [result, daddr] of [
      [fetched, topo.server.ipv4],
      [fetched6, topo.server.ipv6],
    ] as const) {
      assert.equal(result.bytesReceived, SERVER_BYTES);
      const mine = (l: JsonLine) => l.daddr === daddr && l.dport === 8080 && l.sport === result.localPort;
      const open = connRecords(lines, 'open').find(mine);
      const close = connRecords(lines, 'close').find(mine);
      assert.ok(open && close, JSON.stringify(lines.filter((l) => l.type === 'conn')));
      const lookup = dnsRecords(lines, 'getaddrinfo').find((l) => (l.addrs as string[]).includes(daddr) && l.pid === open.pid);
      assert.ok(lookup, 'the process that connected is the one that resolved the name');
      assert.equal(open.comm, 'python3');
      assert.equal(open.saddr, result.localAddress);
      assert.equal(open.direction, 'out');
      assert.equal(open.host, 'web.hostflow.test');
      assert.equal(open.host_source, 'process');
      assert.match(String(open.probe), new RegExp(`^(${connectProbeModes()})$`));
      assert.ok((open.connect_latency_ms as number) > 0);
      assert.equal(close.pid, open.pid);
      assert.equal(close.comm, 'python3');
      assert.equal(close.bytes_received, SERVER_BYTES);
      assert.equal(close.bytes_sent, result === fetched ? CLIENT_BYTES : 0);
      assert.equal(close.established, true);
      assert.ok((close.duration_ms as number) > 0);
    }
  });

  test('the server side of the connection is seen as inbound with the mirrored byte counts', () => {
    const inbound = connRecords(lines, 'close').find((l) => l.direction === 'in' && l.sport === 8080 && l.dport === fetched.localPort);
    assert.ok(inbound, JSON.stringify(connRecords(lines, 'close')));
    assert.equal(inbound.bytes_sent, SERVER_BYTES);
    assert.equal(inbound.bytes_received, CLIENT_BYTES);
    assert.equal(inbound.comm, 'python3', 'the process that closed it');
    const accepted = connRecords(lines, 'open').find((l) => l.direction === 'in' && l.sport === 8080 && l.dport === fetched.localPort);
    assert.ok(accepted, 'the accept is reported');
  });

  test("dig's answer is captured on the wire as a dns record with its CNAME chain", () => {
    const answers = dnsRecords(lines, 'wire').filter((l) => l.host === 'alias.hostflow.test');
    assert.equal(answers.length, 1, JSON.stringify(dnsRecords(lines, 'wire')));
    const [answer] = answers as [JsonLine];
    assert.deepEqual(answer.cnames, ['web.hostflow.test']);
    assert.deepEqual(answer.addrs, [topo.server.ipv4]);
    assert.equal(answer.status, 'NOERROR');
    assert.equal(answer.server, topo.server.ipv4);
    assert.equal(answer.iface, topo.client.iface);
    // dig's own socket sent the query: the answer carries dig, and its latency.
    assert.equal(typeof answer.pid, 'number');
    assert.match(String(answer.comm), /^(dig|isc-net-\d+)$/, 'dig, or the network thread it names isc-net-NNNN');
    assert.equal(typeof answer.latency_ms, 'number');
    assert.ok(typeof answer.ttl === 'number' && answer.ttl > 0);
  });

  test('exactly N datagrams of known size are counted on egress, IPv4 and IPv6', () => {
    for (const [daddr, sport, headerBytes] of [
      [topo.server.ipv4, udp4Port, 20 + 8],
      [topo.server.ipv6, udp6Port, 40 + 8],
    ] as const) {
      const flows = flowRecords(lines).filter(
        (l) => l.direction === 'egress' && l.proto === 'udp' && l.daddr === daddr && l.sport === sport && l.dport === 9999,
      );
      const packets = flows.reduce((sum, l) => sum + (l.packets as number), 0);
      const bytes = flows.reduce((sum, l) => sum + (l.bytes as number), 0);
      assert.equal(packets, UDP_COUNT, JSON.stringify(flows));
      assert.equal(bytes, UDP_COUNT * (UDP_PAYLOAD + headerBytes));
      assert.ok(flows.every((l) => l.iface === topo.client.iface));
    }
  });

  test("the TCP connection's packets are counted on ingress with its flags", () => {
    const inbound = flowRecords(lines).filter(
      (l) => l.direction === 'ingress' && l.proto === 'tcp' && l.saddr === topo.server.ipv4 && l.dport === fetched.localPort,
    );
    const bytes = inbound.reduce((sum, l) => sum + (l.bytes as number), 0);
    assert.ok(bytes > SERVER_BYTES, `ingress bytes ${bytes} include the payload and headers`);
    const flags = inbound.reduce((all, l) => all | (l.tcp_flags as number), 0);
    assert.equal(flags & 0x12, 0x12, 'SYN and ACK seen');
    assert.ok(
      inbound.every((l) => l.src_host === 'web.hostflow.test' && l.comm === 'python3'),
      JSON.stringify(inbound),
    );
  });
});
