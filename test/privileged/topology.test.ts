/**
 * The test network itself: two namespaces that reach each other over IPv4
 * and IPv6, a dnsmasq that the client's libc resolver uses, a TCP server that
 * delivers exactly what it promises, and a teardown that leaves nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { listNamespaces, Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { getaddrinfo, startTcpServer, tcpFetch } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'ping'], features: ['netns' as const] };

describe('netns topology', privilegedSuite(requirements), () => {
  let topo: Topology;
  // cdn.test: several addresses of the topology's own subnet, so nothing
  // could ever route out.
  const names = (k: number) => ({
    api: { v4: `10.213.${k}.1`, v6: `fd00:213:${k}::1` },
    cdn: { v4: [`10.213.${k}.21`, `10.213.${k}.22`], v6: `fd00:213:${k}::21` },
  });

  before(async () => {
    topo = await Topology.create({
      ttl: 30,
      hosts: ({ server, k }) => [
        { name: 'api.test', ipv4: server.ipv4, ipv6: server.ipv6 },
        { name: 'cdn.test', ipv4: names(k).cdn.v4, ipv6: names(k).cdn.v6, ttl: 7 },
      ],
      cnames: [{ alias: 'www.test', target: 'api.test', ttl: 45 }],
    });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('namespaces, interfaces and addresses are in place', async () => {
    assert.match(topo.server.ns, /^hf-[0-9a-f]{6}-s$/);
    assert.match(topo.client.ns, /^hf-[0-9a-f]{6}-c$/);
    const namespaces = await listNamespaces();
    assert.ok(namespaces.includes(topo.server.ns) && namespaces.includes(topo.client.ns));
    const { stdout } = await topo.exec(topo.client, 'ip', ['-o', 'addr', 'show', 'dev', topo.client.iface]);
    assert.match(stdout, new RegExp(`inet ${topo.client.ipv4.replaceAll('.', '\\.')}/24`));
    assert.match(stdout, new RegExp(`inet6 ${topo.client.ipv6}/64`));
    assert.doesNotMatch(stdout, /tentative/);
    const resolv = await topo.exec(topo.client, 'cat', ['/etc/resolv.conf']);
    assert.match(resolv.stdout, new RegExp(`^nameserver ${topo.server.ipv4.replaceAll('.', '\\.')}$`, 'm'));
  });

  test('ping works both ways over IPv4 and IPv6', async () => {
    for (const [from, to] of [
      [topo.client, topo.server],
      [topo.server, topo.client],
    ] as const) {
      await topo.exec(from, 'ping', ['-4', '-c', '1', '-W', '2', to.ipv4]);
      await topo.exec(from, 'ping', ['-6', '-c', '1', '-W', '2', to.ipv6]);
    }
  });

  test('getaddrinfo in the client resolves A, AAAA and CNAME through dnsmasq', async () => {
    const records = names(topo.k);
    const v4 = await getaddrinfo({ ns: topo.client, host: 'api.test', family: 4 });
    assert.deepEqual(v4.addresses, [records.api.v4]);
    const v6 = await getaddrinfo({ ns: topo.client, host: 'api.test', family: 6 });
    assert.deepEqual(v6.addresses, [records.api.v6]);
    const cdn = await getaddrinfo({ ns: topo.client, host: 'cdn.test', family: 4 });
    assert.deepEqual([...cdn.addresses].sort(), [...records.cdn.v4].sort());
    const alias = await getaddrinfo({ ns: topo.client, host: 'www.test' });
    assert.equal(alias.canonical, 'api.test');
    assert.deepEqual([...alias.addresses].sort(), [records.api.v4, records.api.v6].sort());
    await assert.rejects(getaddrinfo({ ns: topo.client, host: 'unknown.test' }), /getaddrinfo\(unknown\.test\) failed/);

    // The plain python one-liner a reader would type works the same way.
    const { stdout } = await topo.exec(topo.client, 'python3', [
      '-c',
      'import json, socket; print(json.dumps(sorted({i[4][0] for i in socket.getaddrinfo("www.test", 80)})))',
    ]);
    assert.deepEqual(JSON.parse(stdout), [records.api.v4, records.api.v6].sort());

    const queried = (await topo.dnsQueries()).filter((query) => query.from === topo.client.ipv4);
    assert.ok(queried.some((query) => query.name === 'www.test' && query.type === 'A'));
    assert.ok(queried.some((query) => query.name === 'cdn.test'));
  });

  test('dig gets the records with their TTLs, the CNAME chain, and NXDOMAIN for other names', async () => {
    const records = names(topo.k);
    const dig = async (...args: string[]): Promise<string> =>
      (await topo.exec(topo.client, 'dig', [`@${topo.server.ipv4}`, '+noall', '+answer', '+comments', ...args])).stdout;
    assert.match(await dig('api.test', 'A'), new RegExp(`^api\\.test\\.\\s+30\\s+IN\\s+A\\s+${records.api.v4.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(await dig('cdn.test', 'AAAA'), new RegExp(`^cdn\\.test\\.\\s+7\\s+IN\\s+AAAA\\s+${records.cdn.v6}$`, 'm'));
    const cname = await dig('www.test', 'A');
    assert.match(cname, /^www\.test\.\s+45\s+IN\s+CNAME\s+api\.test\.$/m);
    assert.match(cname, /^api\.test\.\s+30\s+IN\s+A\s/m);
    assert.match(await dig('unknown.test', 'A'), /status: NXDOMAIN/);
    // Also over IPv6 and TCP.
    const v6 = (await topo.exec(topo.client, 'dig', [`@${topo.server.ipv6}`, '+tcp', '+short', 'api.test', 'AAAA'])).stdout;
    assert.equal(v6.trim(), records.api.v6);
  });

  test('the TCP server delivers exactly N bytes to a client in the other namespace', async (t) => {
    const server = await startTcpServer({ ns: topo.server, host: '::', bytes: 1_000_003 });
    t.after(() => server.stop());
    const byName = await tcpFetch({ ns: topo.client, host: 'api.test', port: server.port, family: 4, send: 4096 });
    assert.equal(byName.bytesReceived, 1_000_003);
    assert.equal(byName.payloadValid, true);
    assert.equal(byName.localAddress, topo.client.ipv4);
    assert.equal(byName.remoteAddress, topo.server.ipv4);
    const overV6 = await tcpFetch({ ns: topo.client, host: topo.server.ipv6, port: server.port });
    assert.equal(overV6.bytesReceived, 1_000_003);
    assert.equal(overV6.localAddress, topo.client.ipv6);
    const connections = await server.waitForConnections(2);
    const fromV4 = connections.find((connection) => connection.peerPort === byName.localPort);
    assert.equal(fromV4?.bytesReceived, 4096);
    assert.equal(fromV4?.bytesSent, 1_000_003);
  });

  test('destroy() removes the namespaces, /etc/netns and every process, and can be called twice', async () => {
    const extra = await Topology.create({ hosts: [{ name: 'x.test', ipv4: '10.213.0.9' }] });
    const sleeper = extra.spawn(extra.client, 'sleep', ['600']);
    const { ns: serverNs } = extra.server;
    const { ns: clientNs } = extra.client;
    assert.ok(existsSync(`/etc/netns/${clientNs}/resolv.conf`));
    assert.ok(extra.dnsmasq?.running);
    await extra.destroy();
    await extra.destroy();
    const namespaces = await listNamespaces();
    assert.ok(!namespaces.includes(serverNs) && !namespaces.includes(clientNs));
    assert.ok(!existsSync(`/etc/netns/${clientNs}`) && !existsSync(`/etc/netns/${serverNs}`));
    assert.ok(!existsSync(extra.workDir));
    assert.equal(sleeper.running, false);
    assert.equal(extra.dnsmasq?.running, false);
  });

  test('two topologies live side by side without clashing', async () => {
    const [one, two] = await Promise.all([Topology.create({ dns: false }), Topology.create({ dns: false })]);
    try {
      assert.notEqual(one.server.ns, two.server.ns);
      await one.exec(one.client, 'ping', ['-c', '1', '-W', '2', one.server.ipv4]);
      await two.exec(two.client, 'ping', ['-c', '1', '-W', '2', two.server.ipv4]);
    } finally {
      await Promise.all([one.destroy(), two.destroy()]);
    }
  });
});
