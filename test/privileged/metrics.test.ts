/**
 * The metrics endpoint of a real tracer, scraped by a real Prometheus
 * (Debian's package) every second, both on the loopback of the client's
 * network namespace. A workload of known connections, bytes and lookups
 * runs under a process name with a quote, a backslash and a newline; the
 * query API must return its exact counts under that name, hostnames past
 * --metrics-hostnames must add up in "(other)", and promtool must accept
 * the exposition.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine, type StoppedHostflow } from '../helpers/hostflow.js';
import { promtoolCheck } from '../helpers/metrics.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { python3 } from '../helpers/process.js';
import { startReplyServer, type ReplyServer } from '../helpers/workload.js';

const requirements = { commands: ['ip', 'python3', 'dnsmasq', 'curl', 'prometheus', 'promtool'], features: ['netns' as const, 'btf' as const] };

/** In the client namespace's own loopback: no other test or helper shares it. */
const METRICS_PORT = 19464;
const PROMETHEUS_PORT = 19090;
const REPLY_PORT = 7070;

/** 9 bytes of a process name (the kernel keeps 15) that the exposition must escape. */
const HOSTILE_COMM = 'm"e\\t\nric';
const PLAIN_COMM = 'mx-plain';
const NAMES = { api: 'api.metrics.test', missing: 'missing.metrics.test', a: 'a.metrics.test', b: 'b.metrics.test', c: 'c.metrics.test' };
const ROUNDS = 5;
const SEND = 1_000;
const REPLY = 20_000;

/**
 * One process: names itself, then for each (name, count, connect) resolves
 * the name with getaddrinfo `count` times and, when asked, connects to the
 * reply server each time, sends SEND bytes and reads REPLY.
 */
const WORKLOAD = String.raw`
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
port, send, reply = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for spec in sys.argv[5:]:
    name, count, connect = spec.split(',')
    for _ in range(int(count)):
        try:
            info = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0]
        except socket.gaierror:
            continue
        if connect != '1':
            continue
        sock = socket.create_connection(info[4], timeout=10)
        sock.sendall(reply.to_bytes(4, 'big') + b'q' * (send - 4))
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
        sock.close()
print('DONE', flush=True)
`;

describe('Prometheus scrapes a running tracer', privilegedSuite(requirements), () => {
  let topo: Topology;
  let replyServer: ReplyServer;
  let dir: string;
  let stopped: StoppedHostflow;
  let exposition = '';
  /** Instant query results, kept for the tests. */
  const results = new Map<string, number | undefined>();

  async function query(promql: string): Promise<number | undefined> {
    const { stdout } = await topo.exec(topo.client, 'curl', [
      '-sf',
      '--get',
      '--data-urlencode',
      `query=${promql}`,
      `http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/query`,
    ]);
    const answer = JSON.parse(stdout) as { status: string; data: { result: { value: [number, string] }[] } };
    assert.equal(answer.status, 'success', stdout);
    assert.ok(answer.data.result.length <= 1, `${promql} matched ${answer.data.result.length} series: ${stdout}`);
    const value = answer.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  }

  /**
   * Polls until Prometheus returns `expected` (it scrapes every second);
   * keeps the last value for the tests. After hostflow stopped, Prometheus
   * marks its series stale: query them as `last(...)`.
   */
  async function settled(promql: string, expected: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    let value = await query(promql);
    while (value !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      value = await query(promql);
    }
    results.set(promql, value);
  }

  /** The last value scraped, also once hostflow has stopped and its series are stale. */
  const last = (selector: string) => `last_over_time(${selector}[10m])`;

  const labels = (fields: Record<string, string>) =>
    `{${Object.entries(fields)
      .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
      .join(',')}}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostflow-metrics-'));
    topo = await Topology.create({
      hosts: ({ server }) => [NAMES.api, NAMES.a, NAMES.b, NAMES.c].map((name) => ({ name, ipv4: server.ipv4 })),
    });
    replyServer = await startReplyServer({ ns: topo.server, host: topo.server.ipv4, port: REPLY_PORT });
    const hostflow = await startHostflow(['-i', topo.client.iface, '--metrics', `:${METRICS_PORT}`, '--metrics-hostnames', '2', '--no-control'], {
      ns: topo.client.ns,
    });
    try {
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: hostflow',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${METRICS_PORT}']`,
          '',
        ].join('\n'),
      );
      const prometheus = topo.spawn(topo.client, 'prometheus', [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      ]);
      await prometheus.waitForLine(/Server is ready to receive web requests/, { timeoutMs: 30_000 });
      await settled('up{job="hostflow"}', 1);

      const workload = topo.spawn(topo.client, python3(), [
        '-c',
        WORKLOAD,
        HOSTILE_COMM,
        String(REPLY_PORT),
        String(SEND),
        String(REPLY),
        `${NAMES.api},${ROUNDS},1`,
        `${NAMES.missing},2,0`,
      ]);
      const plain = topo.spawn(topo.client, python3(), [
        '-c',
        WORKLOAD,
        PLAIN_COMM,
        String(REPLY_PORT),
        String(SEND),
        String(REPLY),
        `${NAMES.a},1,1`,
        `${NAMES.b},1,1`,
        `${NAMES.c},3,1`,
      ]);
      await Promise.all([workload.waitForLine(/^DONE$/, { timeoutMs: 30_000 }), plain.waitForLine(/^DONE$/, { timeoutMs: 30_000 })]);

      const hostile = { comm: HOSTILE_COMM, host: NAMES.api };
      await settled(`hostflow_connections_total${labels({ ...hostile, direction: 'out' })}`, ROUNDS);
      await settled(`hostflow_tcp_sent_bytes_total${labels(hostile)}`, ROUNDS * SEND);
      await settled(`hostflow_tcp_received_bytes_total${labels(hostile)}`, ROUNDS * REPLY);
      await settled(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: NAMES.a, direction: 'out' })}`, 1);
      await settled(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: NAMES.b, direction: 'out' })}`, 1);
      await settled(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: '(other)', direction: 'out' })}`, 3);
      // Both counts from the same scrape: the tracer sees the whole machine's traffic, which does not stop.
      await settled('hostflow_sink_records_total{sink="lines",type="conn"} - ignoring(sink) hostflow_records_total{type="conn"}', 0);
      exposition = (await topo.exec(topo.client, 'curl', ['-sf', `http://127.0.0.1:${METRICS_PORT}/metrics`])).stdout;
    } finally {
      stopped = await hostflow.stop();
    }
  });

  after(async () => {
    await replyServer?.stop();
    await topo?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const dnsOf = (comm: string, host: string) => stopped.lines.filter((line: JsonLine) => line.type === 'dns' && line.comm === comm && line.host === host);

  test('hostflow ran cleanly with the endpoint', () => {
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`metrics: http://127\\.0\\.0\\.1:${METRICS_PORT}/metrics \\(100 process names, 2 hostnames each\\)$`, 'm'));
  });

  test("the query API returns the workload's connections and bytes under a process name that needs escaping", () => {
    const hostile = labels({ comm: HOSTILE_COMM, host: NAMES.api });
    assert.equal(results.get(`hostflow_connections_total${labels({ comm: HOSTILE_COMM, host: NAMES.api, direction: 'out' })}`), ROUNDS);
    assert.equal(results.get(`hostflow_tcp_sent_bytes_total${hostile}`), ROUNDS * SEND);
    assert.equal(results.get(`hostflow_tcp_received_bytes_total${hostile}`), ROUNDS * REPLY);
  });

  test('hostnames past --metrics-hostnames are folded into "(other)", counted, and nothing is lost', () => {
    assert.equal(results.get(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: NAMES.a, direction: 'out' })}`), 1);
    assert.equal(results.get(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: NAMES.b, direction: 'out' })}`), 1);
    assert.equal(results.get(`hostflow_connections_total${labels({ comm: PLAIN_COMM, host: '(other)', direction: 'out' })}`), 3);
  });

  test('lookups and answer codes in the query API are the dns records hostflow wrote', async () => {
    const resolved = dnsOf(HOSTILE_COMM, NAMES.api);
    const missing = dnsOf(HOSTILE_COMM, NAMES.missing);
    assert.equal(resolved.filter((line) => line.source === 'getaddrinfo').length, ROUNDS, 'every getaddrinfo call is a record');
    assert.equal(missing.filter((line) => line.source === 'getaddrinfo').length, 2);
    assert.equal(await query(last(`hostflow_dns_lookups_total${labels({ comm: HOSTILE_COMM, host: NAMES.api })}`)), resolved.length);
    assert.equal(await query(last(`hostflow_dns_lookups_total${labels({ comm: HOSTILE_COMM, host: NAMES.missing })}`)), missing.length);
    const byStatus = new Map<string, number>();
    for (const line of [...resolved, ...missing]) byStatus.set(String(line.status), (byStatus.get(String(line.status)) ?? 0) + 1);
    for (const [status, count] of byStatus) {
      assert.equal(await query(last(`hostflow_dns_answers_total${labels({ comm: HOSTILE_COMM, status })}`)), count, status);
    }
    const timed = resolved.length + missing.length - [...resolved, ...missing].filter((line) => line.latency_ms === null).length;
    assert.equal(await query(last(`hostflow_dns_latency_seconds_count${labels({ comm: HOSTILE_COMM })}`)), timed);
  });

  test('the health metrics agree with each other and with the run', async () => {
    assert.equal(results.get('hostflow_sink_records_total{sink="lines",type="conn"} - ignoring(sink) hostflow_records_total{type="conn"}'), 0);
    const workloadConns = stopped.lines.filter((line) => line.type === 'conn' && (line.comm === HOSTILE_COMM || line.comm === PLAIN_COMM)).length;
    assert.ok(((await query(last('hostflow_records_total{type="conn"}'))) ?? 0) >= workloadConns);
    assert.equal(await query(`sum(${last('hostflow_events_lost_total')})`), 0);
    assert.ok(((await query(last('hostflow_events_total'))) ?? 0) > 0);
    assert.equal(await query(last('hostflow_metrics_label_limit{label="host"}')), 2);
    assert.ok(((await query(last('hostflow_metrics_label_folded_total{label="host"}'))) ?? 0) >= 3, 'the folds are counted');
    assert.ok(((await query(last('hostflow_libc_files{attached="true"}'))) ?? 0) >= 1, 'the system libc is traced');
  });

  test('promtool accepts the exposition', () => {
    assert.ok(exposition.includes('hostflow_connections_total{comm="m\\"e\\\\t\\nric"'), 'the name is escaped, not cut or replaced');
    const check = promtoolCheck(exposition);
    assert.equal(check.status, 0, check.output);
  });
});
