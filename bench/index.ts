/**
 * `npm run bench`: every figure next to a reference measured in the same
 * run, printed as one JSON document on stdout (progress on stderr).
 *
 *   npm run bench -- --only connections_per_s,getaddrinfo_latency
 *
 * runs only the named benchmarks (the names below), and
 *
 *   npm run bench -- --soak 10
 *
 * only the soak: 10 minutes of load with every default feature on
 * (bench/soak.ts).
 */
import { cpus, release } from 'node:os';
import { parseArgs } from 'node:util';
import { benchBlocklistCapture, benchCaptureRate } from './capture-bench.js';
import { benchConnections } from './conn-bench.js';
import { benchDecode } from './decode-bench.js';
import { benchGetaddrinfo } from './gai-bench.js';
import { benchMemory } from './memory-bench.js';
import { benchMetrics } from './metrics-bench.js';
import { benchQueryDay } from './query-bench.js';
import { benchParquetEncoders } from './parquet-bench.js';
import { benchRing } from './ring-bench.js';
import { benchSocketHooks } from './socket-bench.js';
import { soak } from './soak.js';
import { benchStorage } from './storage-bench.js';
import { benchThroughput } from './throughput-bench.js';
import { benchXdp } from './xdp-bench.js';

// As in the CLI: the SDK's warning about its future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Figure = Record<string, unknown>;

/** Each benchmark by name, in the order they run; one may give several figures. */
const BENCHMARKS: ReadonlyArray<[string, () => Promise<Figure | Figure[]> | Figure | Figure[]]> = [
  ['decode_batch', benchDecode],
  ['flow_xdp', benchXdp],
  ['capture', async () => [...benchBlocklistCapture(), await benchCaptureRate()]],
  ['socket_hooks', benchSocketHooks],
  ['event_pipeline', benchRing],
  ['veth_throughput_kept', benchThroughput],
  ['connections_per_s', benchConnections],
  ['getaddrinfo_latency', benchGetaddrinfo],
  ['memory_100k_flows_100k_names', benchMemory],
  ['storage_sink', benchStorage],
  ['metrics', benchMetrics],
  ['query_day', benchQueryDay],
  ['parquet_encoders', benchParquetEncoders],
];

const { values } = parseArgs({ options: { only: { type: 'string' }, soak: { type: 'string' } } });
const soakMinutes = values.soak === undefined ? undefined : Number(values.soak);
if (soakMinutes !== undefined && !(soakMinutes > 0)) {
  process.stderr.write(`bench: --soak takes minutes, got '${values.soak}'\n`);
  process.exit(2);
}
const only = values.only?.split(',').map((name) => name.trim());
const unknown = only?.filter((name) => !BENCHMARKS.some(([known]) => known === name)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map(([name]) => name).join(', ')}\n`);
  process.exit(2);
}

const figures: Figure[] = [];
const chosen = soakMinutes !== undefined ? [['soak', () => soak(soakMinutes)] as const] : BENCHMARKS.filter(([name]) => !only || only.includes(name));
for (const [name, bench] of chosen) {
  process.stderr.write(`bench: ${name}\n`);
  // A benchmark that fails says why in its place; the others still run.
  try {
    const result = await bench();
    figures.push(...(Array.isArray(result) ? result : [result]));
  } catch (error) {
    figures.push({ name, error: (error as Error).message.split('\n')[0] });
  }
}
const machine = { kernel: release(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version };
process.stdout.write(`${JSON.stringify({ machine, taken: new Date().toISOString(), figures }, null, 2)}\n`);
