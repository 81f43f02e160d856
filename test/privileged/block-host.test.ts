/**
 * Blocking by name as a user runs it: hostflow with --control in the client
 * namespace, `hostflow ctl block-host` (the real CLI), real dnsmasq serving
 * the blocked name from an --addn-hosts file that the test rewrites and
 * reloads (SIGHUP) to move the name to a new address, and real clients
 * connecting by name (Python's socket.create_connection, getent).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, startHostflow, type RunningHostflow } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';
import { startTcpServer, tcpFetch, type TcpServer } from '../helpers/servers.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'getent'], features: ['netns' as const, 'btf' as const] };

const BLOCKED = 'moving.block.test';
const OPEN = 'open.block.test';
const PORT = 8080;

interface HostRow {
  name: string;
  addrs: string[];
}

describe('hostflow ctl block-host', privilegedSuite(requirements), () => {
  let topo: Topology;
  let server: TcpServer;
  let hostflow: RunningHostflow;
  let dir: string;
  let socket: string;
  let hostsFile: string;
  let oldAddr: string;
  let newAddr: string;

  const ctl = (...args: string[]) => run(process.execPath, [CLI, 'ctl', '--socket', socket, ...args], { check: false });
  const fetch = (host: string, timeoutMs = 10_000) => tcpFetch({ ns: topo.client, host, port: PORT, family: 4, timeoutMs });
  const blockedRows = async (): Promise<HostRow[]> => {
    const listed = await ctl('--json', 'list-block-host');
    assert.equal(listed.code, 0, listed.stderr);
    return (JSON.parse(listed.stdout) as { result: HostRow[] }).result;
  };
  /**
   * Points BLOCKED at `addr` and waits until dnsmasq has read the file again.
   * Not by asking dnsmasq: hostflow's socket hooks see every process's DNS,
   * in every namespace, and the answer would teach hostflow the address.
   */
  const moveName = async (addr: string): Promise<void> => {
    const reads = async () => (await topo.dnsLog()).split('\n').filter((line) => line.includes(`read ${hostsFile}`)).length;
    const before = await reads();
    writeFileSync(hostsFile, `${addr} ${BLOCKED}\n`);
    topo.dnsmasq?.child.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while ((await reads()) === before) {
      if (Date.now() > deadline) throw new Error(`dnsmasq did not read ${hostsFile} again within 5 s: ${(await topo.dnsLog()).slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostflow-block-host-'));
    socket = join(dir, 'control.sock');
    hostsFile = join(dir, 'hosts');
    writeFileSync(hostsFile, '');
    topo = await Topology.create({
      hosts: ({ server: s }) => [{ name: OPEN, ipv4: s.ipv4 }],
      // Re-read on SIGHUP: how the test moves the blocked name to a new address.
      dnsmasqArgs: [`--addn-hosts=${hostsFile}`],
    });
    // Two more server addresses, so that a name can move while OPEN stays on the first.
    const subnet = topo.server.ipv4.replace(/\.\d+$/, '');
    oldAddr = `${subnet}.11`;
    newAddr = `${subnet}.12`;
    for (const addr of [oldAddr, newAddr]) await run('ip', ['-n', topo.server.ns, 'addr', 'add', `${addr}/24`, 'dev', topo.server.iface]);
    server = await startTcpServer({ ns: topo.server, host: '0.0.0.0', port: PORT, bytes: 1000 });
    await moveName(oldAddr);
    hostflow = await startHostflow(['-i', topo.client.iface, '--control', socket], { ns: topo.client.ns });
  });

  after(async () => {
    if (hostflow?.process.running) await hostflow.stop();
    await server?.stop();
    await topo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('block-host stops connections to the current and the newly resolved addresses; unblock-host restores them', async (t) => {
    assert.equal((await fetch(BLOCKED)).remoteAddress, oldAddr, 'reachable by name before');
    // The lookup leaves the reorder window before the name is blocked: its address is the rule's own, never
    // one learned after it (a slow `ctl` start let the window release it during block-host's own lookup).
    const applied = Date.now() + 5000;
    while (!/^records_dns [1-9]/m.test((await ctl('stats')).stdout)) {
      assert.ok(Date.now() < applied, 'the lookup before block-host is applied');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const blocked = await ctl('--json', 'block-host', `${BLOCKED.toUpperCase()}.`);
    assert.equal(blocked.code, 0, blocked.stderr);
    const answer = JSON.parse(blocked.stdout) as { result: { name: string; addrs: string[]; lookup: { addrs?: string[] } } };
    assert.equal(answer.result.name, BLOCKED, 'case and trailing dot do not matter');
    assert.deepEqual(answer.result.addrs, [oldAddr]);
    assert.deepEqual(answer.result.lookup.addrs, [oldAddr], "hostflow's own lookup found the address too");

    await assert.rejects(fetch(BLOCKED, 1500), "blocked by name: the server's answers are dropped");
    assert.equal((await fetch(OPEN)).bytesReceived, 1000, 'another name still works');

    // The name moves; hostflow learns the new address when a process resolves it.
    await moveName(newAddr);
    assert.deepEqual((await blockedRows())[0]?.addrs, [oldAddr], 'nothing resolved the name since it moved');
    const resolved = await topo.exec(topo.client, 'getent', ['ahostsv4', BLOCKED]);
    assert.match(resolved.stdout, new RegExp(`^${newAddr.replaceAll('.', '\\.')} `, 'm'));
    const resolvedAt = Date.now();
    const deadline = resolvedAt + 5000;
    while (!(await blockedRows())[0]?.addrs.includes(newAddr)) {
      assert.ok(Date.now() < deadline, `the new address joins the name: ${JSON.stringify(await blockedRows())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.diagnostic(`the new address was blocked within ${Date.now() - resolvedAt} ms of getent's answer (polled every 100 ms)`);
    await assert.rejects(fetch(BLOCKED, 1500), 'the newly resolved address is blocked too');

    const listed = await ctl('list-block-host');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${BLOCKED} addrs ${oldAddr},${newAddr} refused 0 since \\S+$`, 'm'));
    const sources = await ctl('list-block-src');
    assert.match(sources.stdout, new RegExp(`^${newAddr.replaceAll('.', '\\.')}/32 packets [1-9]`, 'm'), 'the drops are counted per address');

    const stats = await ctl('stats');
    assert.match(stats.stdout, /^blocked_hosts 1$/m);
    assert.match(stats.stdout, /^blocked_host_addrs 2$/m);
    assert.match(stats.stdout, /^block_host_addrs_learned 1$/m);

    const unblocked = await ctl('unblock-host', BLOCKED);
    assert.equal(unblocked.code, 0, unblocked.stderr);
    assert.match(unblocked.stdout, new RegExp(`^unblocked ${BLOCKED} released ${oldAddr},${newAddr}$`, 'm'));
    assert.equal((await fetch(BLOCKED)).remoteAddress, newAddr, 'reachable by name again');
    assert.equal((await tcpFetch({ ns: topo.client, host: oldAddr, port: PORT })).bytesReceived, 1000, 'the old address too');
    assert.deepEqual(await blockedRows(), []);
    assert.equal((await ctl('list-block-src')).stdout, '', 'nothing left in the blocklist');
  });

  test('a name with escape sequences is refused in one printable line; an address is sent to block-src', async () => {
    const escaped = await ctl('block-host', '\x1b[31mred.test\x07');
    assert.equal(escaped.code, 1);
    assert.match(escaped.stderr, /^hostflow ctl: '\?\[31mred\.test\?' is not a host name/);
    assert.ok(
      [...escaped.stderr.trimEnd()].every((char) => char >= ' ' && char <= '~'),
      `printable only: ${JSON.stringify(escaped.stderr)}`,
    );
    const address = await ctl('block-host', oldAddr);
    assert.equal(address.code, 1);
    assert.match(address.stderr, /block-src blocks addresses/);
    const { code, stderr } = await hostflow.stop();
    assert.equal(code, 0, stderr);
  });
});
