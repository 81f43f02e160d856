/**
 * The metrics' cost where they sit: records/s through the traffic
 * aggregation (one connection open and close and one lookup at a time, over
 * 100 process names x 50 hostnames, the default bounds), next to
 * JSON.stringify of the same records (what the lines sink does to each);
 * and a scrape with every series at those bounds: its length and the
 * longest the event loop waited during it, next to prom-client's own
 * Registry.metrics(), which writes the same text in one piece.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { exposition } from '../src/metrics/exposition.js';
import { LABEL_LIMIT_DEFAULTS } from '../src/metrics/label-bound.js';
import { TrafficMetrics } from '../src/metrics/traffic-metrics.js';
import type { HostflowRecord } from '../src/records/types.js';
import { closeOf, connRecord, dnsRecord } from '../test/helpers/record-builders.js';
import { rate } from './decode-bench.js';

function records(): HostflowRecord[] {
  const all: HostflowRecord[] = [];
  for (let p = 0; p < LABEL_LIMIT_DEFAULTS.processes; p++) {
    for (let h = 0; h < LABEL_LIMIT_DEFAULTS.hostnamesPerProcess; h++) {
      const comm = `proc-${p}`;
      const host = `svc-${h}.example.com`;
      const open = connRecord({ exe: '/usr/bin/curl', comm, sport: 1024 + h, host, connect_latency_ms: 0.2 });
      const lookup = dnsRecord({ exe: '/usr/bin/curl', comm, host, latency_ms: 0.1 + (h % 20) });
      all.push(lookup, open, closeOf(open, 1000, 20000, { duration_ms: 5 }));
    }
  }
  return all;
}

/** How long `scrape` takes, and the longest the event loop waited for a turn meanwhile. */
async function timed(scrape: () => Promise<string>): Promise<{ ms: number; longestWaitMs: number; bytes: number }> {
  let done = false;
  let longest = 0;
  let last = process.hrtime.bigint();
  const ticker = (async () => {
    while (!done) {
      await nextTurn();
      const now = process.hrtime.bigint();
      longest = Math.max(longest, Number(now - last) / 1e6);
      last = now;
    }
  })();
  const start = process.hrtime.bigint();
  const text = await scrape();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  done = true;
  await ticker;
  return { ms: Number(ms.toFixed(1)), longestWaitMs: Number(longest.toFixed(1)), bytes: text.length };
}

export async function benchMetrics(): Promise<Record<string, unknown>[]> {
  const all = records();
  const registry = new Registry();
  const traffic = new TrafficMetrics(registry, LABEL_LIMIT_DEFAULTS);
  const counted = rate(() => {
    for (const record of all) traffic.add(record);
  }, all.length);
  let length = 0;
  const stringified = rate(() => {
    for (const record of all) length += JSON.stringify(record).length;
  }, all.length);
  // Read, so the reference's work is kept.
  if (length === 0) throw new Error('JSON.stringify wrote nothing');
  // Warm both paths once, then the better of three each.
  await exposition(registry);
  await registry.metrics();
  const best = async (scrape: () => Promise<string>) => {
    const runs = [await timed(scrape), await timed(scrape), await timed(scrape)];
    return runs.reduce((a, b) => (b.longestWaitMs < a.longestWaitMs ? b : a));
  };
  const ours = await best(() => exposition(registry));
  const whole = await best(() => registry.metrics());
  return [
    {
      name: 'metrics_records',
      unit: 'records/s',
      value: counted,
      reference: { name: 'JSON.stringify of the same records', value: stringified },
      ratio: Number((counted / stringified).toFixed(3)),
    },
    {
      name: 'metrics_scrape',
      unit: 'ms the event loop waited at most during one scrape',
      series_pairs: LABEL_LIMIT_DEFAULTS.processes * LABEL_LIMIT_DEFAULTS.hostnamesPerProcess,
      value: ours.longestWaitMs,
      scrape_ms: ours.ms,
      exposition_bytes: ours.bytes,
      reference: { name: "prom-client's Registry.metrics() in one piece", value: whole.longestWaitMs, scrape_ms: whole.ms },
    },
  ];
}
