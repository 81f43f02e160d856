import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { exposition } from '../../../src/metrics/exposition.js';
import { FOLDED } from '../../../src/metrics/label-bound.js';
import { TrafficMetrics, UNNAMED_WAITING_MAX } from '../../../src/metrics/traffic-metrics.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import { parseExposition, promtoolCheck, sampleValue } from '../../helpers/metrics.js';
import { closeOf, connRecord, dnsRecord, udpRecord } from '../../helpers/record-builders.js';

async function scraped(records: HostflowRecord[], limits = { processes: 100, hostnamesPerProcess: 50 }) {
  const registry = new Registry();
  const traffic = new TrafficMetrics(registry, limits);
  for (const record of records) traffic.add(record);
  const text = await exposition(registry);
  return { text, samples: parseExposition(text), traffic };
}

test('a connection with a hostname is counted at open, its bytes at close; one that never established is counted as failed', async () => {
  const open = connRecord();
  const failed = connRecord({ sport: 40001, event: 'close', established: false, bytes_sent: 0, bytes_received: 0 });
  const { samples } = await scraped([open, closeOf(open, 1200, 34000), failed]);
  const labels = { comm: 'curl', host: 'api.example.com' };
  assert.equal(sampleValue(samples, 'hostflow_connections_total', { ...labels, direction: 'out' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_connections_failed_total', labels), 1);
  assert.equal(sampleValue(samples, 'hostflow_tcp_sent_bytes_total', labels), 1200);
  assert.equal(sampleValue(samples, 'hostflow_tcp_received_bytes_total', labels), 34000);
});

test('an outbound connection opened without a name is counted under the name it gets later, or unnamed at its close; inbound ones at open', async () => {
  const sni = connRecord({ host: null, unresolved: 'no_lookup_seen', sport: 41000 });
  const neverNamed = connRecord({ host: null, unresolved: 'address_literal', sport: 41001 });
  const inbound = connRecord({ direction: 'in', host: null, unresolved: 'inbound', sport: 443, dport: 50000 });
  const before = await scraped([sni, neverNamed, inbound]);
  assert.equal(sampleValue(before.samples, 'hostflow_connections_total', { direction: 'out' }), undefined, 'not counted while waiting for a name');
  assert.equal(sampleValue(before.samples, 'hostflow_connections_total', { comm: 'curl', host: '', direction: 'in' }), 1);
  assert.equal(before.traffic.waitingUnnamed, 2);
  const after = await scraped([sni, neverNamed, inbound, { ...sni, event: 'named', host: 'sni.example.com', host_source: 'sni' }, closeOf(neverNamed, 1, 2)]);
  assert.equal(sampleValue(after.samples, 'hostflow_connections_total', { comm: 'curl', host: 'sni.example.com', direction: 'out' }), 1);
  assert.equal(sampleValue(after.samples, 'hostflow_connections_total', { comm: 'curl', host: '', direction: 'out' }), 1);
  assert.equal(after.traffic.waitingUnnamed, 0);
});

test('past the bound of connections waiting for a name, the longest waiting is counted unnamed', async () => {
  const records = Array.from({ length: UNNAMED_WAITING_MAX + 1 }, (_, i) => connRecord({ host: null, sport: 1024 + i }));
  const { samples, traffic } = await scraped([...records, { ...records[0]!, event: 'named', host: 'late.example.com' }]);
  assert.equal(sampleValue(samples, 'hostflow_connections_total', { host: '', direction: 'out' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_connections_total', { host: 'late.example.com' }), undefined, 'the evicted one was counted already');
  assert.equal(traffic.waitingUnnamed, UNNAMED_WAITING_MAX);
});

test('lookups by process name and hostname, answer codes and a latency histogram in seconds by process name', async () => {
  const { samples } = await scraped([
    dnsRecord({ latency_ms: 0.2 }),
    dnsRecord({ latency_ms: 30 }),
    dnsRecord({ host: 'gone.example.com', status: 'NXDOMAIN', source: 'wire', latency_ms: null }),
    dnsRecord({ comm: null, pid: null, source: 'wire', status: 'NOERROR', latency_ms: null }),
  ]);
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: 'curl', host: 'api.example.com' }), 2);
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: 'curl', host: 'gone.example.com' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: '', host: 'api.example.com' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_answers_total', { comm: 'curl', status: '0' }), 2);
  assert.equal(sampleValue(samples, 'hostflow_dns_answers_total', { comm: 'curl', status: 'NXDOMAIN' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_latency_seconds_count', { comm: 'curl' }), 2, 'lookups without a latency are not observed');
  assert.equal(sampleValue(samples, 'hostflow_dns_latency_seconds_bucket', { comm: 'curl', le: '0.0005' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_latency_seconds_bucket', { comm: 'curl', le: '0.025' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_latency_seconds_bucket', { comm: 'curl', le: '0.05' }), 2);
  assert.ok(Math.abs((sampleValue(samples, 'hostflow_dns_latency_seconds_sum', { comm: 'curl' }) ?? 0) - 0.0302) < 1e-9);
});

test('UDP conversations are counted when they begin, their payload bytes when they end', async () => {
  const open = udpRecord();
  const { samples } = await scraped([open, { ...open, event: 'close', bytes_sent: 48, bytes_received: 96, end_reason: 'idle' }]);
  const labels = { comm: 'ntpd', host: 'ntp.example.com' };
  assert.equal(sampleValue(samples, 'hostflow_udp_conversations_total', labels), 1);
  assert.equal(sampleValue(samples, 'hostflow_udp_sent_bytes_total', labels), 48);
  assert.equal(sampleValue(samples, 'hostflow_udp_received_bytes_total', labels), 96);
});

test('process names and hostnames past their bounds share the "(other)" series', async () => {
  const records = ['a', 'b', 'c'].flatMap((comm) => ['x', 'y', 'z'].map((host) => dnsRecord({ comm, host })));
  const { samples, traffic } = await scraped(records, { processes: 2, hostnamesPerProcess: 2 });
  const lookups = samples.filter((sample) => sample.name === 'hostflow_dns_lookups_total');
  assert.equal(lookups.length, 9, '3 series for each of 3 process-name values');
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: 'a', host: FOLDED }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: FOLDED, host: FOLDED }), 1);
  assert.equal(sampleValue(samples, 'hostflow_dns_lookups_total', { comm: FOLDED, host: 'x' }), 1);
  assert.equal(
    lookups.reduce((sum, sample) => sum + sample.value, 0),
    9,
    'nothing is lost in the folding',
  );
  assert.deepEqual(
    traffic.labels.stats().map(({ label, folded }) => [label, folded]),
    [
      ['comm', 3],
      ['host', 3],
      ['status', 0],
    ],
  );
});

test('process names and hostnames with quotes, backslashes and newlines are escaped: they read back exactly and promtool accepts the text', async () => {
  const comm = 'a"b\\c\nd';
  const host = 'evil"}\\n\n{x="1';
  const open = connRecord({ comm, host });
  const { text, samples } = await scraped([open, closeOf(open, 5, 6), dnsRecord({ comm, host, status: 'x"\n\\' })]);
  assert.equal(sampleValue(samples, 'hostflow_connections_total', { comm, host, direction: 'out' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_tcp_sent_bytes_total', { comm, host }), 5);
  assert.equal(sampleValue(samples, 'hostflow_dns_answers_total', { comm, status: 'x"\n\\' }), 1);
  const check = promtoolCheck(text);
  assert.equal(check.status, 0, check.output);
});
