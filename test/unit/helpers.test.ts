/**
 * The test helpers' own logic: names and addresses of topologies, dnsmasq's
 * command line and log, the CI/skip rule, process handling, and the traffic
 * peers over loopback (no root needed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dnsmasqArgs, parseDnsmasqLog } from '../helpers/dnsmasq.js';
import { allocateTopology, planTopology, resolvConf } from '../helpers/netns.js';
import { isCI, missingRequirements, privileged } from '../helpers/privileged.js';
import { findCommand, formatCommand, hasCommand, inNamespace, ManagedProcess, run } from '../helpers/process.js';
import { payload, startTcpServer, startUdpSink, tcpFetch, udpSend } from '../helpers/servers.js';

/** A random source that returns the given byte sequences in turn. */
function scriptedRandom(...sequences: number[][]): (size: number) => Uint8Array {
  let call = 0;
  return (size) => {
    const bytes = sequences[Math.min(call++, sequences.length - 1)] ?? [];
    assert.equal(bytes.length, size);
    return Uint8Array.from(bytes);
  };
}

describe('topology plan', () => {
  test('names both namespaces and interfaces after the id, and numbers the subnets with k', () => {
    const plan = planTopology('0a1b2c', 7);
    assert.deepEqual(plan.server, {
      ns: 'hf-0a1b2c-s',
      iface: 'hf-0a1b2c-s',
      ipv4: '10.213.7.1',
      ipv6: 'fd00:213:7::1',
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 64,
    });
    assert.equal(plan.client.ns, 'hf-0a1b2c-c');
    assert.equal(plan.client.ipv4, '10.213.7.2');
    assert.equal(plan.client.ipv6, 'fd00:213:7::2');
  });

  test('interface names fit the kernel limit of 15 characters', () => {
    const plan = planTopology('ffffff', 254);
    assert.ok(plan.server.iface.length <= 15 && plan.client.iface.length <= 15);
    assert.equal(plan.server.ipv6, 'fd00:213:254::1');
  });

  test('rejects ids and subnet numbers out of range', () => {
    assert.throws(() => planTopology('xyz', 1), RangeError);
    assert.throws(() => planTopology('abcdef', 0), RangeError);
    assert.throws(() => planTopology('abcdef', 255), RangeError);
    assert.throws(() => planTopology('abcdef', 1.5), RangeError);
  });

  test('allocation takes k from the random byte, 1..254', () => {
    assert.equal(allocateTopology({}, scriptedRandom([1, 2, 3, 0])).k, 1);
    assert.equal(allocateTopology({}, scriptedRandom([1, 2, 3, 253])).k, 254);
    assert.equal(allocateTopology({}, scriptedRandom([1, 2, 3, 254])).k, 1);
    assert.equal(allocateTopology({}, scriptedRandom([0xab, 0xcd, 0xef, 9])).id, 'abcdef');
  });

  test('allocation skips namespace names and subnets already taken', () => {
    const random = scriptedRandom([0, 0, 1, 4], [0, 0, 2, 4]);
    const plan = allocateTopology({ namespaces: ['hf-000001-c'], subnets: [5, 6] }, random);
    assert.equal(plan.id, '000002');
    assert.equal(plan.k, 7);
  });

  test('allocations differ from one call to the next', () => {
    const ids = new Set(Array.from({ length: 50 }, () => allocateTopology().id));
    assert.ok(ids.size >= 49);
  });

  test('resolv.conf points at the server with one short attempt', () => {
    const lines = resolvConf('10.213.9.1').split('\n');
    assert.ok(lines.includes('nameserver 10.213.9.1'));
    assert.ok(lines.includes('options attempts:1 timeout:1'));
    assert.equal(lines.filter((line) => line.startsWith('nameserver')).length, 1);
  });
});

describe('dnsmasq arguments', () => {
  const base = { listen: ['10.213.1.1', 'fd00:213:1::1'], logFile: '/tmp/q.log' };

  test('serve only local data, in the foreground, bound to the listen addresses', () => {
    const args = dnsmasqArgs(base);
    for (const expected of [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      '--pid-file=',
      '--listen-address=10.213.1.1',
      '--listen-address=fd00:213:1::1',
      '--log-facility=/tmp/q.log',
      '--log-queries=extra',
      '--local-ttl=60',
      '--address=/#/',
    ]) {
      assert.ok(args.includes(expected), `missing ${expected} in ${args.join(' ')}`);
    }
    assert.ok(!dnsmasqArgs({ ...base, nxdomainForOthers: false }).includes('--address=/#/'));
  });

  test('one --host-record per address pair, with the record TTL when given', () => {
    const args = dnsmasqArgs({
      ...base,
      ttl: 30,
      hosts: [
        { name: 'Api.Test.', ipv4: '10.213.1.1', ipv6: 'fd00:213:1::1' },
        { name: 'multi.test', ipv4: ['10.213.1.11', '10.213.1.12'], ipv6: 'fd00:213:1::12', ttl: 5 },
        { name: 'v6only.test', ipv6: ['fd00:213:1::6'] },
      ],
    });
    assert.ok(args.includes('--local-ttl=30'));
    assert.deepEqual(
      args.filter((arg) => arg.startsWith('--host-record=')),
      [
        '--host-record=api.test,10.213.1.1,fd00:213:1::1',
        '--host-record=multi.test,10.213.1.11,fd00:213:1::12,5',
        '--host-record=multi.test,10.213.1.12,5',
        '--host-record=v6only.test,fd00:213:1::6',
      ],
    );
  });

  test('CNAMEs may point at hosts or at other CNAMEs, with their TTL', () => {
    const args = dnsmasqArgs({
      ...base,
      hosts: [{ name: 'origin.test', ipv4: '10.213.1.1' }],
      cnames: [
        { alias: 'outer.test', target: 'www.test' },
        { alias: 'www.test', target: 'origin.test', ttl: 45 },
      ],
    });
    assert.deepEqual(
      args.filter((arg) => arg.startsWith('--cname=')),
      ['--cname=outer.test,www.test', '--cname=www.test,origin.test,45'],
    );
  });

  test('rejects records dnsmasq would not serve as meant', () => {
    assert.throws(() => dnsmasqArgs({ ...base, cnames: [{ alias: 'a.test', target: 'nowhere.test' }] }), /neither a host nor a CNAME/);
    assert.throws(() => dnsmasqArgs({ ...base, hosts: [{ name: 'a.test', ipv4: 'fd00::1' }] }), /not an IPv4 address/);
    assert.throws(() => dnsmasqArgs({ ...base, hosts: [{ name: 'a.test', ipv6: '10.0.0.1' }] }), /not an IPv6 address/);
    assert.throws(() => dnsmasqArgs({ ...base, hosts: [{ name: 'a,b.test', ipv4: '10.213.1.1' }] }), /not a valid DNS name/);
    assert.throws(() => dnsmasqArgs({ ...base, hosts: [{ name: 'a.test' }] }), /has no address/);
    assert.throws(() => dnsmasqArgs({ ...base, hosts: [{ name: 'a.test', ipv4: '10.213.1.1', ttl: -1 }] }), /TTL/);
    assert.throws(
      () =>
        dnsmasqArgs({
          ...base,
          hosts: [{ name: 'a.test', ipv4: '10.213.1.1' }],
          cnames: [{ alias: 'a.test', target: 'a.test' }],
        }),
      /both a CNAME/,
    );
    assert.throws(() => dnsmasqArgs({ ...base, listen: [] }), /listen address/);
    assert.throws(() => dnsmasqArgs({ ...base, listen: ['localhost'] }), /not an IP address/);
  });

  test('the query log parses into type, name and client', () => {
    const log = [
      'Nov 23 18:42:07 dnsmasq[5801]: started, version 2.90 cachesize 150',
      'Nov 23 18:42:07 dnsmasq[5801]: 1 10.213.99.2/39950 query[A] a.test from 10.213.99.2',
      'Nov 23 18:42:07 dnsmasq[5801]: 1 10.213.99.2/39950 config a.test is 10.213.99.1',
      'Nov 23 18:42:07 dnsmasq[5801]: 2 fd00:213:99::2/38717 query[AAAA] www.test from fd00:213:99::2',
      'Nov 23 18:42:07 dnsmasq[5801]: query[A] plain.test from 10.213.99.2',
    ].join('\n');
    assert.deepEqual(parseDnsmasqLog(log), [
      { type: 'A', name: 'a.test', from: '10.213.99.2' },
      { type: 'AAAA', name: 'www.test', from: 'fd00:213:99::2' },
      { type: 'A', name: 'plain.test', from: '10.213.99.2' },
    ]);
  });
});

describe('privileged gate', () => {
  test('CI is on for any value but empty, "false" and "0"', () => {
    assert.equal(isCI({ CI: 'true' }), true);
    assert.equal(isCI({ CI: '1' }), true);
    assert.equal(isCI({}), false);
    assert.equal(isCI({ CI: '' }), false);
    assert.equal(isCI({ CI: 'false' }), false);
    assert.equal(isCI({ CI: '0' }), false);
  });

  test('missing requirements are named one by one', () => {
    assert.deepEqual(missingRequirements({ root: false }), []);
    const reasons = missingRequirements({
      root: false,
      commands: ['sh', 'hf-no-such-command'],
      files: ['/nonexistent/hostflow.node'],
    });
    assert.equal(reasons.length, 2);
    assert.match(reasons[0] ?? '', /missing command: hf-no-such-command/);
    assert.match(reasons[1] ?? '', /missing file: \/nonexistent\/hostflow\.node/);
  });

  test('a missing requirement skips the test off CI and fails it on CI', () => {
    const skipped: string[] = [];
    const fakeContext = { skip: (reason: string) => skipped.push(reason), diagnostic: () => {} };
    const context = fakeContext as unknown as Parameters<typeof privileged>[0];
    const requirements = { root: false, commands: ['hf-no-such-command'] };
    const saved = process.env.CI;
    try {
      delete process.env.CI;
      assert.equal(privileged(context, requirements), false);
      assert.match(skipped[0] ?? '', /hf-no-such-command/);
      process.env.CI = 'true';
      assert.throws(() => privileged(context, requirements), /not met on CI.*hf-no-such-command/);
      assert.equal(privileged(context, { root: false }), true);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});

describe('processes', () => {
  test('commands are found in $PATH and in the sbin folders', () => {
    assert.ok(hasCommand('sh'));
    assert.equal(hasCommand('hf-no-such-command'), false);
    // `ip` (iproute2) lives in sbin, which a non-root $PATH often lacks.
    assert.match(findCommand('ip', '/nonexistent') ?? 'not found', /\/sbin\/ip$/);
    assert.equal(findCommand('/bin/sh'), '/bin/sh');
  });

  test('command lines are quoted for messages', () => {
    assert.equal(formatCommand('python3', ['-c', "print('x')", 'a b', '10.0.0.1:53']), `python3 -c 'print('\\''x'\\'')' 'a b' 10.0.0.1:53`);
  });

  test('a namespace wraps the command in ip netns exec', () => {
    assert.deepEqual(inNamespace(undefined, 'dig', ['a.test']), ['dig', ['a.test']]);
    const [file, args] = inNamespace('hf-000001-c', 'dig', ['a.test']);
    assert.match(file, /(^|\/)ip$/);
    assert.deepEqual(args, ['netns', 'exec', 'hf-000001-c', 'dig', 'a.test']);
  });

  test('run() collects output and rejects with stderr on failure', async () => {
    const ok = await run(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err")']);
    assert.equal(ok.stdout, 'out');
    assert.equal(ok.stderr, 'err');
    await assert.rejects(run(process.execPath, ['-e', 'console.error("boom"); process.exit(3)']), /exited with 3: boom/);
    const unchecked = await run(process.execPath, ['-e', 'process.exit(4)'], { check: false });
    assert.equal(unchecked.code, 4);
    await assert.rejects(run(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 100 }), /timed out/);
  });

  test('a managed process is ready when its line appears, and stops on request', async () => {
    const managed = ManagedProcess.start(process.execPath, [
      '-e',
      'console.log("starting"); setTimeout(() => console.log("READY 42"), 50); setInterval(() => {}, 1000)',
    ]);
    const match = await managed.waitForLine(/^READY (\d+)$/);
    assert.equal(match[1], '42');
    // Lines already printed are found too.
    assert.equal((await managed.waitForLine(/^starting$/))[0], 'starting');
    const status = await managed.stop();
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(managed.running, false);
  });

  test('waiting for a line fails with the output when the process exits first', async () => {
    const managed = ManagedProcess.start(process.execPath, ['-e', 'console.error("bad flag"); process.exit(2)']);
    await assert.rejects(managed.waitForLine(/^READY/), /exited before printing.*\(exit code 2\).*bad flag/s);
  });
});

describe('traffic peers on loopback', () => {
  test('the payload pattern is byte i = i % 251', () => {
    const bytes = payload(600);
    assert.equal(bytes.length, 600);
    assert.equal(bytes[0], 0);
    assert.equal(bytes[250], 250);
    assert.equal(bytes[251], 0);
    assert.equal(bytes[599], 599 % 251);
  });

  test('the TCP server sends exactly N bytes per connection and counts what it received', async (t) => {
    const server = await startTcpServer({ host: '127.0.0.1', bytes: 200_000 });
    t.after(() => server.stop());
    const first = await tcpFetch({ host: '127.0.0.1', port: server.port, send: 1234 });
    assert.equal(first.bytesReceived, 200_000);
    assert.equal(first.payloadValid, true);
    assert.equal(first.remotePort, server.port);
    const second = await tcpFetch({ host: '127.0.0.1', port: server.port });
    assert.equal(second.bytesReceived, 200_000);
    const connections = await server.waitForConnections(2);
    const byPort = new Map(connections.map((connection) => [connection.peerPort, connection]));
    assert.deepEqual(byPort.get(first.localPort), {
      peerAddress: '127.0.0.1',
      peerPort: first.localPort,
      bytesSent: 200_000,
      bytesReceived: 1234,
    });
    assert.equal(byPort.get(second.localPort)?.bytesReceived, 0);
  });

  test('the UDP sender sends exactly N datagrams of S bytes', async (t) => {
    const sink = await startUdpSink({ host: '127.0.0.1' });
    t.after(() => sink.stop());
    const sent = await udpSend({ host: '127.0.0.1', port: sink.port, count: 20, size: 1000 });
    assert.equal(sent.datagrams, 20);
    assert.equal(sent.localAddress, '127.0.0.1');
    const totals = await sink.waitFor(20);
    assert.deepEqual(totals, { datagrams: 20, bytes: 20_000, invalid: 0 });
    assert.deepEqual(await sink.stop(), totals);
  });

  test('the UDP sender keeps sending when nobody listens', async () => {
    const sink = await startUdpSink({ host: '127.0.0.1' });
    const port = sink.port;
    await sink.stop();
    const sent = await udpSend({ host: '127.0.0.1', port, count: 5, size: 10 });
    assert.equal(sent.datagrams, 5);
  });
});
