/**
 * The fixtures of the UDP, QUIC and naming tests work on their own, without
 * hostflow: the static clients resolve through the topology's dnsmasq
 * without libc, the UDP echo counts are exact, a QUIC handshake completes
 * with the name given, and the naming workload returns complete truth.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { namingWorkloadHosts, runNamingWorkload, WORKLOAD_CLIENTS, workloadName } from '../helpers/naming-workload.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { QUIC_COMMANDS, QUIC_VERSIONS, runQuicClient, startQuicServer } from '../helpers/quic.js';
import { startTcpServer } from '../helpers/servers.js';
import { buildGoClient, buildMuslClient, describeBinary, runGoClient, runMuslClient, runUdpClient, startClient } from '../helpers/static-clients.js';
import { startTcpdump } from '../helpers/tcpdump.js';
import { startUdpEchoServer, udpPeerKey } from '../helpers/udp-server.js';

const requirements = {
  commands: [...TOPOLOGY_COMMANDS, ...QUIC_COMMANDS, 'go', 'musl-gcc', 'file', 'ss', 'tcpdump', 'tshark'],
  features: ['netns' as const],
};

describe('test fixtures', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    topo = await Topology.create({ hosts: namingWorkloadHosts });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('the Go and musl clients are statically linked', async () => {
    for (const binary of [await buildGoClient(), await buildMuslClient()]) {
      const description = await describeBinary(binary);
      assert.match(description, /statically linked/, `${binary}: ${description}`);
      assert.doesNotMatch(description, /dynamically linked|interpreter/, `${binary}: ${description}`);
    }
  });

  test("the Go client resolves with Go's own resolver through dnsmasq, then talks TCP and UDP", async (t) => {
    const tcp = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, bytes: 300 });
    t.after(() => tcp.stop());
    const echo = await startUdpEchoServer({ ns: topo.server, host: topo.server.ipv4 });
    t.after(() => echo.stop());
    const name = workloadName('go');
    const queriesBefore = (await topo.dnsQueries()).length;

    const { pid, steps } = await runGoClient({
      ns: topo.client,
      steps: [
        'resolve',
        name,
        'tcp',
        `${name}:${tcp.port}`,
        'send',
        '100',
        'udp',
        `${name}:${echo.port}`,
        'send',
        '5x100',
        'udp-unconnected',
        `${topo.server.ipv4}:${echo.port}`,
        'send',
        '3x7',
      ],
    });

    assert.deepEqual(
      steps.map((step) => step.step),
      ['resolve', 'tcp', 'udp', 'udp-unconnected'],
    );
    for (const step of steps) {
      assert.equal(step.pid, pid);
      assert.match(step.comm, /^go-client/);
    }
    const [resolved, tcpStep, udpStep, unconnected] = steps;
    assert.deepEqual(resolved?.addresses, [topo.server.ipv4]);
    // dnsmasq saw the queries, from the client namespace.
    const queries = (await topo.dnsQueries()).slice(queriesBefore);
    assert.ok(
      queries.some((query) => query.name === name),
      `dnsmasq saw no query for ${name}: ${JSON.stringify(queries)}`,
    );
    assert.equal(tcpStep?.remoteAddress, topo.server.ipv4);
    assert.equal(tcpStep?.localAddress, topo.client.ipv4);
    assert.equal(tcpStep?.bytesSent, 100);
    assert.equal(tcpStep?.bytesReceived, 300);
    const [connection] = await tcp.waitForConnections(1);
    assert.equal(connection?.peerPort, tcpStep?.localPort);
    assert.equal(connection?.bytesReceived, 100);
    assert.deepEqual([udpStep?.datagramsSent, udpStep?.bytesSent, udpStep?.datagramsReceived, udpStep?.bytesReceived], [5, 500, 5, 500]);
    assert.deepEqual([unconnected?.datagramsSent, unconnected?.bytesSent, unconnected?.datagramsReceived, unconnected?.bytesReceived], [3, 21, 3, 21]);
    const counts = await echo.counts();
    assert.deepEqual(counts[udpPeerKey(topo.client.ipv4, udpStep?.localPort ?? 0)], {
      datagramsReceived: 5,
      bytesReceived: 500,
      datagramsSent: 5,
      bytesSent: 500,
    });
    assert.deepEqual(counts[udpPeerKey(topo.client.ipv4, unconnected?.localPort ?? 0)], {
      datagramsReceived: 3,
      bytesReceived: 21,
      datagramsSent: 3,
      bytesSent: 21,
    });
  });

  test('the Go client waits for a file between steps, and its pid is the one the test started', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hostflow-fixtures-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const go = startClient(await buildGoClient(), ['resolve', workloadName('go'), 'sleep-until-file', join(dir, 'go'), 'resolve', workloadName('glibc')], {
      ns: topo.client,
    });
    await go.process.waitForLine(/"step":"resolve"/, { stream: 'stdout' });
    // `ip netns exec` executed the client in place: the pid is the client's own.
    assert.equal((await readFile(`/proc/${go.pid}/comm`, 'utf8')).trim(), 'go-client');
    // Another process resolves meanwhile.
    const other = await runUdpClient({
      ns: topo.client,
      mode: 'connected',
      host: workloadName('python-udp-connected'),
      port: 9,
      datagrams: 0,
      datagramBytes: 0,
    });
    assert.notEqual(other.pid, go.pid);
    assert.ok(go.process.running, 'the Go client did not wait for the file');
    await writeFile(join(dir, 'go'), '');
    const { steps } = await go.finished;
    assert.deepEqual(
      steps.map((step) => [step.step, step.name ?? step.path, step.pid]),
      [
        ['resolve', workloadName('go'), go.pid],
        ['sleep-until-file', join(dir, 'go'), go.pid],
        ['resolve', workloadName('glibc'), go.pid],
      ],
    );
  });

  test("the musl client resolves with musl's own resolver, then talks TCP and connected UDP", async (t) => {
    const tcp = await startTcpServer({ ns: topo.server, host: topo.server.ipv4, bytes: 50 });
    t.after(() => tcp.stop());
    const echo = await startUdpEchoServer({ ns: topo.server, host: topo.server.ipv4 });
    t.after(() => echo.stop());
    const name = workloadName('musl');
    const queriesBefore = (await topo.dnsQueries()).length;

    const { pid, steps } = await runMuslClient({
      ns: topo.client,
      name,
      tcpPort: tcp.port,
      tcpBytes: 4000,
      udpPort: echo.port,
      datagrams: 4,
      datagramBytes: 33,
    });

    assert.deepEqual(
      steps.map((step) => [step.step, step.pid, step.comm]),
      [
        ['resolve', pid, 'musl-client'],
        ['tcp', pid, 'musl-client'],
        ['udp', pid, 'musl-client'],
      ],
    );
    assert.deepEqual(steps[0]?.addresses, [topo.server.ipv4]);
    // musl asked dnsmasq itself (A only: the client asks for IPv4).
    const queries = (await topo.dnsQueries()).slice(queriesBefore).filter((query) => query.name === name);
    assert.deepEqual(
      queries.map((query) => [query.type, query.from]),
      [['A', topo.client.ipv4]],
    );
    assert.deepEqual([steps[1]?.bytesSent, steps[1]?.bytesReceived], [4000, 50]);
    const udpStep = steps[2];
    assert.deepEqual([udpStep?.datagramsSent, udpStep?.bytesSent, udpStep?.datagramsReceived, udpStep?.bytesReceived], [4, 132, 4, 132]);
    const counts = await echo.stop();
    assert.deepEqual(counts[udpPeerKey(topo.client.ipv4, udpStep?.localPort ?? 0)], {
      datagramsReceived: 4,
      bytesReceived: 132,
      datagramsSent: 4,
      bytesSent: 132,
    });
  });

  test('the UDP echo server counts exactly, per peer, connected and unconnected, with and without echo', async (t) => {
    const echo = await startUdpEchoServer({ ns: topo.server, host: topo.server.ipv4 });
    t.after(() => echo.stop());
    const connected = await runUdpClient({
      ns: topo.client,
      mode: 'connected',
      host: workloadName('python-udp-connected'),
      port: echo.port,
      datagrams: 7,
      datagramBytes: 1200,
    });
    const unconnected = await runUdpClient({ ns: topo.client, mode: 'unconnected', host: topo.server.ipv4, port: echo.port, datagrams: 2, datagramBytes: 0 });
    assert.equal(connected.localAddress, topo.client.ipv4);
    assert.equal(unconnected.localAddress, '0.0.0.0');
    assert.deepEqual(await echo.counts(), {
      [udpPeerKey(topo.client.ipv4, connected.localPort ?? 0)]: { datagramsReceived: 7, bytesReceived: 8400, datagramsSent: 7, bytesSent: 8400 },
      [udpPeerKey(topo.client.ipv4, unconnected.localPort ?? 0)]: { datagramsReceived: 2, bytesReceived: 0, datagramsSent: 2, bytesSent: 0 },
    });
    assert.deepEqual([connected.datagramsReceived, connected.bytesReceived, unconnected.datagramsReceived], [7, 8400, 2]);

    const sink = await startUdpEchoServer({ ns: topo.server, host: topo.server.ipv4, echo: false });
    t.after(() => sink.stop());
    const lonely = await runUdpClient({ ns: topo.client, mode: 'connected', host: topo.server.ipv4, port: sink.port, datagrams: 1, datagramBytes: 10 });
    assert.deepEqual([lonely.datagramsSent, lonely.datagramsReceived], [1, 0]);
    assert.deepEqual(await sink.stop(), {
      [udpPeerKey(topo.client.ipv4, lonely.localPort ?? 0)]: { datagramsReceived: 1, bytesReceived: 10, datagramsSent: 0, bytesSent: 0 },
    });
  });

  test('a QUIC v1 handshake completes, with the name resolved as the SNI of the Initial', async (t) => {
    const server = await startQuicServer({ ns: topo.server, host: topo.server.ipv4 });
    t.after(() => server.stop());
    const file = join(server.certDir, 'quic.pcap');
    const capture = await startTcpdump({ ns: topo.client.ns, iface: topo.client.iface, file, filter: `udp port ${server.port}` });
    const name = workloadName('quic');
    const client = await runQuicClient({ ns: topo.client, host: name, port: server.port });
    const frames = await capture.stop();

    assert.equal(client.version, QUIC_VERSIONS.v1);
    assert.equal(client.comm, 'gtlsclient');
    assert.ok(client.pid > 0);
    assert.deepEqual([client.localAddress, client.remoteAddress, client.remotePort], [topo.client.ipv4, topo.server.ipv4, server.port]);
    assert.ok(client.datagramsSent >= 2 && client.datagramsReceived >= 2, JSON.stringify(client));
    // The capture saw exactly the datagrams the client logged.
    assert.equal(frames.length, client.datagramsSent + client.datagramsReceived);
    // tshark decrypts the Initial (its keys come from the connection ID) and reads the ClientHello's server name.
    const { stdout } = await run('tshark', [
      '-r',
      file,
      '-d',
      `udp.port==${server.port},quic`,
      '-Y',
      'tls.handshake.type == 1',
      '-T',
      'fields',
      '-e',
      'tls.handshake.extensions_server_name',
    ]);
    assert.equal(stdout.trim().split('\n')[0], name);
    assert.equal(client.sni, name);
  });

  test('the QUIC v2 draft handshake completes too', async (t) => {
    const server = await startQuicServer({ ns: topo.server, host: topo.server.ipv4 });
    t.after(() => server.stop());
    const client = await runQuicClient({ ns: topo.client, host: workloadName('quic'), port: server.port, version: 'v2draft' });
    assert.equal(client.version, QUIC_VERSIONS.v2draft);
    assert.equal(client.sni, workloadName('quic'));
  });

  test('the naming workload runs every client and returns complete truth', async () => {
    const truth = await runNamingWorkload(topo);

    assert.deepEqual([...new Set(truth.flows.map((flow) => flow.client))], [...WORKLOAD_CLIENTS]);
    const pids = new Map<string, number>();
    for (const flow of truth.flows) {
      const where = JSON.stringify(flow);
      assert.ok(flow.pid > 0 && flow.comm !== '', where);
      assert.equal(flow.name, workloadName(flow.client), where);
      assert.deepEqual(flow.addresses, [truth.address], where);
      assert.equal(flow.localAddress, topo.client.ipv4, where);
      assert.ok(flow.localPort > 0, where);
      assert.equal(flow.remoteAddress, truth.address, where);
      const expectedPort = { tcp: truth.tcpPort, udp: truth.udpPort, dns: 53, quic: truth.quicPort }[flow.protocol];
      assert.equal(flow.remotePort, expectedPort, where);
      assert.ok(flow.bytesSent > 0 && flow.bytesReceived > 0, where);
      if (flow.transport === 'udp') assert.ok(flow.datagramsSent > 0, where);
      // One process per client, a different one for each.
      assert.equal(pids.get(flow.client) ?? flow.pid, flow.pid, where);
      pids.set(flow.client, flow.pid);
    }
    assert.equal(new Set(pids.values()).size, WORKLOAD_CLIENTS.length);
    assert.deepEqual(
      truth.flows.map((flow) => `${flow.client} ${flow.resolver} ${flow.protocol}/${flow.transport}`),
      [
        'glibc glibc tcp/tcp',
        'musl musl tcp/tcp',
        'musl musl udp/udp',
        'go go tcp/tcp',
        'go go udp/udp',
        'dig-udp dig dns/udp',
        'dig-tcp dig dns/tcp',
        'python-udp-connected glibc udp/udp',
        'python-udp-unconnected glibc udp/udp',
        'quic glibc quic/udp',
      ],
    );
    const udpFlows = truth.flows.filter((flow) => flow.protocol === 'udp');
    assert.equal(Object.keys(truth.echoCounts).length, udpFlows.length);
    for (const flow of udpFlows) assert.deepEqual([flow.datagramsSent, flow.bytesSent, flow.datagramsReceived], [5, 500, 5]);
  });
});
