/**
 * `npm run bench`: every figure next to a reference measured in the same
 * run, printed as one JSON document on stdout.
 */
import { cpus, release } from 'node:os';
import { benchBlocklistCapture, benchCaptureRate } from './capture-bench.js';
import { benchConnections } from './conn-bench.js';
import { benchDecode } from './decode-bench.js';
import { benchGetaddrinfo } from './gai-bench.js';
import { benchMemory } from './memory-bench.js';
import { benchRing } from './ring-bench.js';
import { benchSocketHooks } from './socket-bench.js';
import { benchStorage } from './storage-bench.js';
import { benchThroughput } from './throughput-bench.js';
import { benchXdp } from './xdp-bench.js';

// As in the CLI: the SDK's warning about its future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const figures: Record<string, unknown>[] = [benchDecode()];
try {
  figures.push(...benchXdp());
} catch (error) {
  figures.push({ name: 'flow_xdp', error: (error as Error).message.split('\n')[0] });
}
try {
  figures.push(...benchBlocklistCapture(), await benchCaptureRate());
} catch (error) {
  figures.push({ name: 'capture', error: (error as Error).message.split('\n')[0] });
}
/** A figure that fails says why in its place; the others still run. */
async function figure(name: string, bench: () => Promise<Record<string, unknown>> | Record<string, unknown>): Promise<Record<string, unknown>> {
  process.stderr.write(`bench: ${name}\n`);
  try {
    return await bench();
  } catch (error) {
    return { name, error: (error as Error).message.split('\n')[0] };
  }
}

try {
  figures.push(...benchSocketHooks());
} catch (error) {
  figures.push({ name: 'socket_hooks', error: (error as Error).message.split('\n')[0] });
}
figures.push(await figure('event_pipeline', benchRing));
figures.push(await figure('veth_throughput_kept', benchThroughput));
figures.push(await figure('connections_per_s', benchConnections));
figures.push(await figure('getaddrinfo_latency', benchGetaddrinfo));
figures.push(await figure('memory_100k_flows_100k_names', benchMemory));
figures.push(await benchStorage());
const machine = { kernel: release(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version };
process.stdout.write(`${JSON.stringify({ machine, taken: new Date().toISOString(), figures }, null, 2)}\n`);
