/**
 * `npm run bench`: every figure next to a reference measured in the same
 * run, printed as one JSON document on stdout.
 */
import { cpus, release } from 'node:os';
import { benchBlocklistCapture, benchCaptureRate } from './capture-bench.js';
import { benchDecode } from './decode-bench.js';
import { benchStorage } from './storage-bench.js';
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
figures.push(await benchStorage());
const machine = { kernel: release(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version };
process.stdout.write(`${JSON.stringify({ machine, taken: new Date().toISOString(), figures }, null, 2)}\n`);
