/**
 * The metrics endpoint in the real run (src/run.ts): the real Session,
 * sinks and shutdown over a stand-in kernel, scraped over HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HostflowError } from '../../../src/errors.js';
import { DEFAULT_TRACER_OPTIONS } from '../../../src/kernel/tracer.js';
import { lineOutput } from '../../../src/output/sinks.js';
import type { RunPlan } from '../../../src/run-plan.js';
import { runHostflow, type FrontEnd } from '../../../src/run.js';
import { connectionEvents, FakeKernel, lookupEvent } from '../../helpers/fake-tracer.js';
import { parseExposition, promtoolCheck, sampleValue } from '../../helpers/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function plan(port: number): RunPlan {
  return {
    session: { tracer: { ...DEFAULT_TRACER_OPTIONS, interfaces: [] }, names: {}, filter: {}, flowIntervalSeconds: 1, reorderWindowMs: 20 },
    output: {},
    storage: undefined,
    services: { metrics: { address: { host: '127.0.0.1', port }, limits: { processes: 10, hostnamesPerProcess: 5 } } },
    ui: false,
  };
}

/** A headless front-end writing to a file, whose run the test stops. */
function frontEnd(path: string): { frontEnd: FrontEnd; stop: () => void } {
  let stopRun: () => void = () => {};
  return {
    frontEnd: {
      holdsTerminal: false,
      stopSignals: [],
      open: () => [lineOutput({ path }, 'json')],
      show: (_view, stop) => {
        stopRun = stop;
      },
      close: () => {},
    },
    stop: () => stopRun(),
  };
}

async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a run with --metrics serves the traffic and its own health at /metrics while it traces, and stops serving when it ends', async () => {
  const kernel = new FakeKernel();
  const logs: string[] = [];
  const { frontEnd: front, stop } = frontEnd(join(dir, 'records.jsonl'));
  const result = runHostflow({ plan: plan(0), frontEnd: front, startTracer: kernel.start, log: (line) => logs.push(line) });
  const url = await until(
    async () => /^metrics: (http:\S+) \(10 process names, 5 hostnames each\)$/.exec(logs.find((line) => line.startsWith('metrics:')) ?? '')?.[1],
    'the start line',
  );
  kernel.emit(
    lookupEvent(4242, 'curl', 'api.example.com', ['10.0.0.1']),
    ...connectionEvents(4242, 'curl', { family: 4, saddr: '10.0.0.2', sport: 4000, daddr: '10.0.0.1', dport: 443 }),
  );
  let text = '';
  const samples = await until(async () => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    text = await response.text();
    const parsed = parseExposition(text);
    return sampleValue(parsed, 'hostflow_connections_total', { comm: 'curl', host: 'api.example.com', direction: 'out' }) === 1 ? parsed : undefined;
  }, 'the connection in the metrics');
  const value = (name: string, labels?: Record<string, string>) => sampleValue(samples, name, labels);
  assert.equal(value('hostflow_dns_lookups_total', { comm: 'curl', host: 'api.example.com' }), 1);
  assert.equal(value('hostflow_dns_latency_seconds_count', { comm: 'curl' }), 1);
  assert.equal(value('hostflow_events_total'), 3);
  assert.equal(value('hostflow_records_total', { type: 'conn' }), 1);
  assert.equal(value('hostflow_sink_records_total', { sink: 'lines', type: 'dns' }), 1);
  assert.equal(value('hostflow_events_lost_total', { counter: 'drop_connect' }), 0);
  assert.equal(value('hostflow_metrics_label_limit', { label: 'host' }), 5);
  assert.equal(value('hostflow_storage_spool_bytes'), undefined, 'no storage metrics without storage');
  assert.equal(value('hostflow_blocked_packets_total'), undefined, 'no blocklist metrics without a blocklist');
  const check = promtoolCheck(text);
  assert.equal(check.status, 0, check.output);
  assert.equal((await fetch(url.replace('/metrics', '/'))).status, 404);
  assert.equal((await fetch(url, { method: 'POST' })).status, 405);

  stop();
  assert.equal(await result, 0);
  await assert.rejects(fetch(url), 'nothing listens after the run');
});

test('with storage, the spool and the uploads are metrics, and the storage sink counts its records', async () => {
  const kernel = new FakeKernel();
  const logs: string[] = [];
  const { frontEnd: front, stop } = frontEnd(join(dir, 'stored.jsonl'));
  const run = plan(0);
  run.storage = { directory: join(dir, 'objects'), spoolDir: join(dir, 'spool'), flushIntervalMs: 200, spoolMaxBytes: 8 * 1024 * 1024 };
  const result = runHostflow({ plan: run, frontEnd: front, startTracer: kernel.start, log: (line) => logs.push(line) });
  const url = await until(async () => /^metrics: (http:\S+)/.exec(logs.find((line) => line.startsWith('metrics:')) ?? '')?.[1], 'the start line');
  kernel.emit(lookupEvent(4242, 'curl', 'api.example.com', ['10.0.0.1']));
  const samples = await until(async () => {
    const parsed = parseExposition(await (await fetch(url)).text());
    return sampleValue(parsed, 'hostflow_storage_uploaded_records_total') === 1 ? parsed : undefined;
  }, 'the upload in the metrics');
  assert.equal(sampleValue(samples, 'hostflow_storage_uploaded_objects_total'), 1);
  assert.ok((sampleValue(samples, 'hostflow_storage_uploaded_bytes_total') ?? 0) > 0);
  assert.equal(sampleValue(samples, 'hostflow_storage_spool_limit_bytes'), 8 * 1024 * 1024);
  assert.equal(sampleValue(samples, 'hostflow_storage_spool_objects'), 0);
  assert.equal(sampleValue(samples, 'hostflow_storage_upload_failures_total'), 0);
  assert.equal(sampleValue(samples, 'hostflow_sink_records_total', { sink: 'storage', type: 'dns' }), 1);
  assert.equal(sampleValue(samples, 'hostflow_sink_records_total', { sink: 'lines', type: 'dns' }), 1);
  stop();
  assert.equal(await result, 0);
});

test('a port in use is one line, before anything is traced', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  const kernel = new FakeKernel();
  try {
    await assert.rejects(
      runHostflow({ plan: plan(port), frontEnd: frontEnd(join(dir, 'busy.jsonl')).frontEnd, startTracer: kernel.start, log: () => {} }),
      (error: unknown) =>
        error instanceof HostflowError &&
        error.message === `--metrics 127.0.0.1:${port}: port ${port} is in use on 127.0.0.1 (another hostflow or exporter?): choose another port`,
    );
    assert.equal(kernel.started, 0);
  } finally {
    busy.close();
  }
});

test('an address that is not this host is one line', async () => {
  const kernel = new FakeKernel();
  const run = plan(9464);
  run.services.metrics = { address: { host: '192.0.2.1', port: 9464 }, limits: { processes: 1, hostnamesPerProcess: 1 } };
  await assert.rejects(
    runHostflow({ plan: run, frontEnd: frontEnd(join(dir, 'foreign.jsonl')).frontEnd, startTracer: kernel.start, log: () => {} }),
    /^HostflowError: --metrics 192\.0\.2\.1:9464: 192\.0\.2\.1 is not an address of this host$/,
  );
  assert.equal(kernel.started, 0);
});
