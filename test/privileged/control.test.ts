/**
 * The control socket of a real tracer in a network namespace: 50 `hostflow
 * ctl` clients at once among clients sending garbage, a 1 MB line and half
 * lines, while traffic flows. Every well-formed command gets its answer and
 * the tracer's counts stay exact.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCtl } from '../../src/control/client.js';
import { openClient } from '../helpers/control-client.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { startHostflow, type RunningHostflow } from '../helpers/hostflow.js';
import { udpSend } from '../helpers/servers.js';

const requirements = { commands: ['ip', 'python3'], features: ['netns' as const, 'btf' as const] };

async function ctl(socket: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCtl(['--socket', socket, ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

describe('control socket of a running tracer', privilegedSuite(requirements), () => {
  let topo: Topology;
  let hostflow: RunningHostflow;
  let dir: string;
  let socket: string;

  before(async () => {
    topo = await Topology.create({ dns: false });
    dir = mkdtempSync(join(tmpdir(), 'hostflow-ctl-'));
    socket = join(dir, 'run', 'control.sock');
    hostflow = await startHostflow(['-i', topo.client.iface, '--control', socket], { ns: topo.client.ns });
  });

  after(async () => {
    if (hostflow?.process.running) await hostflow.stop();
    await topo?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the socket is root's only", () => {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700);
  });

  test('50 ctl clients at once among abusive ones all get their answers, and the flow counts stay exact', async () => {
    const abusers = await Promise.all(Array.from({ length: 5 }, () => openClient(socket)));
    abusers[0]?.socket.write(Buffer.from([0, 1, 2, 0xff, 0x0a, 0xfe, 0x0a]));
    abusers[1]?.socket.write(`list-src ${'x'.repeat(1 << 20)}`);
    abusers[2]?.socket.write('block-src 10.');
    abusers[2]?.socket.destroy();
    abusers[3]?.socket.pause();
    abusers[3]?.socket.write('help\n'.repeat(50_000));
    abusers[4]?.socket.write('stats\nstats\nsta');

    const traffic = udpSend({ ns: topo.server, host: topo.client.ipv4, port: 9999, count: 400, size: 64, intervalMs: 1 });
    const commands = Array.from({ length: 50 }, (_, index) => {
      const prefix = `198.51.100.${index}`;
      return (async () => {
        const blocked = await ctl(socket, 'block-src', prefix);
        const stats = await ctl(socket, '--json', 'stats');
        const sources = await ctl(socket, 'list-src');
        const unblocked = await ctl(socket, 'unblock-src', prefix);
        return { index, blocked, stats, sources, unblocked };
      })();
    });
    const results = await Promise.all(commands);
    await traffic;
    for (const { index, blocked, stats, sources, unblocked } of results) {
      assert.deepEqual(blocked, { code: 0, stdout: `blocked 198.51.100.${index}/32\n`, stderr: '' });
      assert.equal(stats.code, 0);
      assert.equal((JSON.parse(stats.stdout) as { ok: boolean }).ok, true);
      assert.equal(sources.code, 0);
      assert.match(sources.stdout, /^\S+ packets \d+ bytes \d+ dropped \d+ host \S+$/m);
      assert.deepEqual(unblocked, { code: 0, stdout: `unblocked 198.51.100.${index}/32 packets 0 bytes 0\n`, stderr: '' });
    }
    const garbageAnswers = await abusers[0]?.answers(2);
    assert.ok(garbageAnswers?.every(([line]) => line?.startsWith('error: unknown command')));
    abusers[1]?.socket.write('\nstats\n');
    const longAnswers = await abusers[1]?.answers(2);
    assert.deepEqual(longAnswers?.[0], ['error: line longer than 4096 bytes; skipped']);
    assert.equal(longAnswers?.[1]?.at(-1), 'ok');
    const halfLineAnswers = await abusers[4]?.answers(2);
    for (const answer of halfLineAnswers ?? []) {
      assert.equal(answer[0], 'health ok', 'both whole stats lines were answered in full; the half line waits');
      assert.equal(answer.at(-1), 'ok');
    }
    for (const abuser of abusers) abuser.close();

    // Every datagram counted once, nothing dropped: the tracer did not notice the crowd.
    type Row = { addr: string; packets: number; dropped_packets: number };
    const serverRow = async (): Promise<{ row: Row | undefined; rows: Row[] }> => {
      const rows = (JSON.parse((await ctl(socket, '--json', 'list-src')).stdout) as { result: Row[] }).result;
      return { row: rows.find((candidate) => candidate.addr === topo.server.ipv4), rows };
    };
    const deadline = Date.now() + 5000;
    let seen = await serverRow();
    while ((seen.row?.packets ?? 0) < 400 && Date.now() < deadline) seen = await serverRow();
    const { row: server, rows } = seen;
    assert.ok(server && server.packets >= 400 && server.packets < 420 && server.dropped_packets === 0, JSON.stringify(rows));
    assert.equal((await ctl(socket, 'list-block-src')).stdout, '');
    const { code, summary, stderr } = await hostflow.stop();
    assert.equal(code, 0, stderr);
    assert.ok((summary?.control?.requests ?? 0) >= 200, JSON.stringify(summary?.control));
    assert.equal(summary?.session.counters?.drop_dns_xdp ?? 0, 0);
    assert.equal(summary?.verdict, 'healthy', JSON.stringify(summary?.lines));
  });
});
