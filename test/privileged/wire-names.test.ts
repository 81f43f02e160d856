/**
 * Names that only the wire carries, end to end: hostflow runs in the client
 * namespace of a topology, and real clients name a server three ways that
 * getaddrinfo never sees and UDP DNS does not carry:
 * - `dig +tcp` asks dnsmasq over TCP, and another process connects to the
 *   address it printed: the answer is reassembled from TCP segments;
 * - `openssl s_client -servername` connects by address to an `openssl
 *   s_server`: the name is in the ClientHello (SNI) only;
 * - `curl -H 'Host: ...'` connects by address to an HTTP server: the name is
 *   in the request's Host header only.
 * Each server address is the topology's own and no DNS answer names the
 * SNI and HTTP ones, so the name can only come from the wire.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine, summaryOf } from '../helpers/hostflow.js';
import { Topology, type TopologyPlan } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { findCommand } from '../helpers/process.js';
import { pythonClient, startHttpServer, startReplyServer, type ClientResult } from '../helpers/workload.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'curl', 'openssl'], features: ['netns' as const, 'btf' as const] };

const REPLY_PORT = 8080;
const HTTP_PORT = 8000;
const TLS_PORT = 4433;
const DIG_TTL = 77;

const BASE = 'wire-names.hostflow.test';
const NAMES = {
  tcp: `tcp.${BASE}`,
  sni: `sni.${BASE}`,
  http: `http.${BASE}`,
};
/** Host part of each server address, 10.213.k.N. */
const HOST_NUMBERS = { tcp: 31, sni: 32, http: 33 } as const;

const addressOf = (plan: Pick<TopologyPlan, 'server'>, key: keyof typeof HOST_NUMBERS) => plan.server.ipv4.replace(/\.1$/, `.${HOST_NUMBERS[key]}`);
/** The summary's DNS over TCP line: messages, segments, duplicates, and what could not be framed. */
const DNS_TCP_SUMMARY = /DNS over TCP: (\d+) messages from (\d+) segments \((\d+) duplicate\)(?:; (\d+) could not be framed)?/;
const conns = (lines: JsonLine[], event: string) => lines.filter((l) => l.type === 'conn' && l.event === event);
const toServer = (address: string, port: number) => (l: JsonLine) => l.direction === 'out' && l.daddr === address && l.dport === port;

describe('wire names: DNS over TCP, TLS SNI and HTTP Host name connections', privilegedSuite(requirements), () => {
  let topo: Topology;
  let lines: JsonLine[] = [];
  let stderr = '';
  let exitCode: number | null = null;
  let digAnswer = '';
  let byAddress: ClientResult;
  let certDir = '';
  const at = (key: keyof typeof HOST_NUMBERS) => addressOf(topo, key);

  before(async () => {
    topo = await Topology.create({ hosts: (plan) => [{ name: NAMES.tcp, ipv4: addressOf(plan, 'tcp'), ttl: DIG_TTL }] });
    for (const key of Object.keys(HOST_NUMBERS) as Array<keyof typeof HOST_NUMBERS>) {
      await topo.exec(topo.server, 'ip', ['addr', 'add', `${at(key)}/24`, 'dev', topo.server.iface]);
    }
    // A throwaway self-signed certificate for the TLS server.
    certDir = mkdtempSync(join(tmpdir(), 'hostflow-tls-'));
    const openssl = findCommand('openssl') ?? 'openssl';
    const [cert, key] = [join(certDir, 'cert.pem'), join(certDir, 'key.pem')];
    await topo.exec(topo.server, openssl, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${NAMES.sni}`,
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    const tlsServer = topo.spawn(topo.server, openssl, ['s_server', '-accept', String(TLS_PORT), '-cert', cert, '-key', key, '-www', '-naccept', '1']);
    await tlsServer.waitForLine(/^ACCEPT/, { stream: 'stdout' });
    const [replyServer, httpServer] = await Promise.all([
      startReplyServer({ ns: topo.server, host: '0.0.0.0', port: REPLY_PORT }),
      startHttpServer({ ns: topo.server, host: '0.0.0.0', port: HTTP_PORT, fileBytes: 1_000 }),
    ]);
    try {
      const hostflow = await startHostflow(['-i', topo.client.iface, '--flow-interval', '1', '--no-control'], { ns: topo.client.ns });
      try {
        const ns = topo.client;
        const dig = await topo.exec(ns, 'dig', ['+tcp', '+short', '+tries=1', '+time=2', `@${topo.server.ipv4}`, NAMES.tcp, 'A']);
        digAnswer = dig.stdout.trim();
        byAddress = await pythonClient({ ns, host: digAnswer, port: REPLY_PORT, send: 100, reply: 1_000 });
        // No stdin: s_client ends after the handshake, when it reads end of file.
        await topo.exec(ns, openssl, ['s_client', '-servername', NAMES.sni, '-connect', `${at('sni')}:${TLS_PORT}`], { input: '', timeoutMs: 10_000 });
        await topo.exec(ns, findCommand('curl') ?? 'curl', [
          '-s',
          '-o',
          '/dev/null',
          '--max-time',
          '10',
          '-H',
          `Host: ${NAMES.http}:${HTTP_PORT}`,
          `http://${at('http')}:${HTTP_PORT}/file`,
        ]);
      } finally {
        ({ lines, code: exitCode, stderr } = await hostflow.stop('SIGINT'));
      }
    } finally {
      await Promise.all([replyServer.stop(), httpServer.stop(), tlsServer.stop()]);
    }
  });

  after(async () => {
    await topo?.destroy();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  test('hostflow ends cleanly and its summary counts the TCP DNS message and both server names', (t) => {
    t.diagnostic(summaryOf(stderr) || 'no summary line');
    assert.equal(exitCode, 0, stderr);
    assert.match(stderr, /summary: ok events: \d+ delivered; none lost/);
    const tcp = DNS_TCP_SUMMARY.exec(stderr);
    assert.ok(tcp, stderr);
    // dig's socket is seen sending the query and receiving the answer: two messages, one lookup.
    assert.equal(Number(tcp[1]), 2, 'the query and its answer');
    assert.match(stderr, /DNS queries: 1 sent by local processes: 1 answered, 0 timed out/);
    assert.equal(Number(tcp[4] ?? 0), 0, 'nothing skipped');
    const names = /server names: seen SNI (\d+), HTTP Host (\d+)/.exec(stderr);
    assert.ok(names, stderr);
    assert.ok(Number(names[1]) >= 1 && Number(names[2]) >= 1, names[0]);
  });

  test('dig +tcp: the answer reassembled from TCP is a wire dns record, and names a connection to its address', () => {
    assert.equal(digAnswer, at('tcp'));
    const answers = lines.filter((l) => l.type === 'dns' && l.source === 'wire' && l.host === NAMES.tcp);
    assert.equal(answers.length, 1, JSON.stringify(lines.filter((l) => l.type === 'dns')));
    const [answer] = answers as [JsonLine];
    assert.deepEqual(answer.addrs, [digAnswer]);
    assert.equal(answer.ttl, DIG_TTL);
    assert.equal(answer.server, topo.server.ipv4);
    assert.equal(answer.status, 'NOERROR');
    const mine = (l: JsonLine) => l.sport === byAddress.localPort && toServer(digAnswer, REPLY_PORT)(l);
    const open = conns(lines, 'open').find(mine);
    const close = conns(lines, 'close').find(mine);
    assert.ok(open && close, JSON.stringify(conns(lines, 'open')));
    for (const record of [open, close]) {
      assert.equal(record.host, NAMES.tcp);
      assert.equal(record.host_source, 'global');
    }
  });

  test('dig +tcp over loopback, seen by both XDP and TC: one answer, the copies counted as duplicates', async (t) => {
    // In the server's namespace dnsmasq's address is local: the query and answer go over lo.
    const run = await startHostflow(['-i', 'lo', '--no-flows', '--no-control', '--no-socket-hooks'], { ns: topo.server.ns });
    let stopped: Awaited<ReturnType<typeof run.stop>>;
    try {
      await topo.exec(topo.server, 'dig', ['+tcp', '+short', '+tries=1', '+time=2', `@${topo.server.ipv4}`, NAMES.tcp, 'A']);
    } finally {
      stopped = await run.stop('SIGINT');
    }
    assert.equal(stopped.code, 0, stopped.stderr);
    const summary = summaryOf(stopped.stderr);
    t.diagnostic(summary);
    const answers = stopped.lines.filter((l) => l.type === 'dns' && l.source === 'wire' && l.host === NAMES.tcp);
    assert.equal(answers.length, 1, JSON.stringify(stopped.lines));
    assert.equal(answers[0]?.iface, 'lo');
    const tcp = DNS_TCP_SUMMARY.exec(summary);
    assert.ok(tcp, summary);
    assert.equal(Number(tcp[1]), 1, 'one message: the second copy of each segment is a duplicate');
    assert.ok(Number(tcp[3]) >= 1, 'copies seen');
    assert.equal(Number(tcp[4] ?? 0), 0);
  });

  test('openssl s_client -servername: the connection by address is named by its SNI', () => {
    const close = conns(lines, 'close').find(toServer(at('sni'), TLS_PORT));
    assert.ok(close, JSON.stringify(conns(lines, 'close')));
    assert.equal(close.comm, 'openssl');
    assert.equal(close.host, NAMES.sni, JSON.stringify(close));
    assert.equal(close.host_source, 'sni');
  });

  test('curl -H Host: the connection by address is named by its Host header', () => {
    const close = conns(lines, 'close').find(toServer(at('http'), HTTP_PORT));
    assert.ok(close, JSON.stringify(conns(lines, 'close')));
    assert.equal(close.comm, 'curl');
    assert.equal(close.host, NAMES.http, JSON.stringify(close));
    assert.equal(close.host_source, 'http');
  });
});
