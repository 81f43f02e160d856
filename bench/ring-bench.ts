/**
 * Event pipeline: the highest rate of close records from hostflow's
 * `events` ring buffer to decoded JavaScript events without loss, through
 * the real addon RingPoller and the real decodeBatch, next to a plain C
 * libbpf consumer (ring_buffer__poll) of the same ring fed by the same
 * generator. The generator is bench/bpf/ringgen.bpf.c on a getppid()
 * tracepoint, driven at a set rate by `ringbench gen` (bench/c/ringbench.c);
 * records it could not reserve are counted in the kernel
 * (HF_CNT_DROP_CLOSE) as hostflow counts its own.
 *
 * Needs root and the bench build (make -C bench: build/bench/).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBatch, type DecodeStats } from '../src/kernel/decode.js';
import { closeEvent } from '../src/kernel/layout.js';
import { loadNative } from '../src/kernel/native.js';
import type { BpfObject } from '../src/kernel/native-api.js';
import { packageRoot } from '../src/package-root.js';

/** Offered events/s; 0 is as fast as the generator goes. */
const RATES = [250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000];
const BURST = 256;
const SECONDS = 1;
const WAKEUP_BYTES = 65536;
/** hostflow.h: enum hf_counter HF_CNT_DROP_CLOSE. */
const DROP_CLOSE = 2;
const TARGET_RATE = 1_000_000;

export interface RingRun {
  offered: number;
  generated: number;
  received: number;
  lost: number;
  /** Events generated per second of the generator's run. */
  achieved: number;
}

const u32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
};

export const benchDir = () => join(packageRoot(), 'build/bench');

const lossless = (run: RingRun) => run.lost === 0 && run.received === run.generated;

/** bench/c/ringbench's generator and the ringgen object writing into its `events` ring for it, loaded and attached. */
interface Generator {
  object: BpfObject;
  /** Lets the generator go; resolves with what it reports when it exits. */
  run(): Promise<{ triggers: number; seconds: number }>;
  /** Records that found the ring full (the same counter as the tracer's close drops). */
  lost(): number;
  close(): void;
}

function startGenerator(rate: number, seconds: number, configure: (object: BpfObject) => void): Generator {
  const gen = spawn(join(benchDir(), 'ringbench'), ['gen', String(rate), String(BURST), String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  gen.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = once(gen, 'exit');
  const object = new (loadNative().BpfObject)({ object: readFileSync(join(benchDir(), 'ringgen.bpf.o')), name: 'ringgen' });
  const close = () => {
    if (gen.exitCode === null) gen.kill('SIGKILL');
    object.close();
  };
  try {
    object.setConst('gen_tgid', u32(gen.pid ?? 0));
    object.setConst('burst', u32(BURST));
    configure(object);
    object.load();
    object.attachTracepoint('ringgen', 'syscalls', 'sys_enter_getppid');
  } catch (error) {
    close();
    throw error;
  }
  return {
    object,
    run: async () => {
      gen.stdin.write('go\n');
      await exited;
      return JSON.parse(out) as { triggers: number; seconds: number };
    },
    lost: () => {
      const counters = object.lookup('counters', u32(DROP_CLOSE));
      let lost = 0;
      for (let at = 0; counters && at + 8 <= counters.length; at += 8) lost += Number(counters.readBigUInt64LE(at));
      return lost;
    },
    close,
  };
}

/** A poller batch handler that decodes with the real decoder and counts close events. */
function closeCounter(): { onBatch: (batch: Buffer) => void; closes: () => number } {
  const stats: DecodeStats = { records: 0, malformed: 0 };
  let closes = 0;
  const onEvent = (event: { kind: string }) => {
    if (event.kind === 'close') closes++;
  };
  return { onBatch: (batch) => decodeBatch(batch, onEvent, stats), closes: () => closes };
}

/** One run through the addon and the decoder at `rate`. */
async function jsRun(rate: number): Promise<RingRun> {
  const generator = startGenerator(rate, SECONDS, (object) => object.setConst('wakeup_bytes', u32(WAKEUP_BYTES)));
  try {
    const counter = closeCounter();
    const poller = new (loadNative().RingPoller)(generator.object, ['events'], counter.onBatch);
    const { triggers, seconds } = await generator.run();
    await poller.stop();
    const generated = triggers * BURST;
    return { offered: rate, generated, received: counter.closes(), lost: generator.lost(), achieved: Math.round(generated / seconds) };
  } finally {
    generator.close();
  }
}

/** Ring for the drain runs, as bench/c/ringbench.c's DRAIN_BYTES: about 880k close records. */
const DRAIN_BYTES = 128 << 20;
const DRAIN_FILL_SECONDS = 0.3;

interface DrainRun {
  /** Records in the ring when the consumer started. */
  records: number;
  seconds: number;
  rate: number;
}

/**
 * The consumer's own rate: the generator fills a large ring first (as fast
 * as it goes; what does not fit is counted lost), then the addon's poller
 * and the decoder empty it with the CPUs to themselves.
 */
async function jsDrain(): Promise<DrainRun> {
  const generator = startGenerator(0, DRAIN_FILL_SECONDS, (object) => {
    // Nobody reads while the ring fills: the default policy, not a forced wakeup per record past wakeup_bytes.
    object.setConst('wakeup_bytes', u32(0));
    object.setMaxEntries('events', DRAIN_BYTES);
  });
  try {
    const { triggers } = await generator.run();
    const expected = triggers * BURST - generator.lost();
    const counter = closeCounter();
    const started = process.hrtime.bigint();
    let finished = 0n;
    const poller = new (loadNative().RingPoller)(generator.object, ['events'], (batch) => {
      counter.onBatch(batch);
      if (counter.closes() >= expected && finished === 0n) finished = process.hrtime.bigint();
    });
    const deadline = Date.now() + 60_000;
    while (finished === 0n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    await poller.stop();
    const seconds = Number((finished || process.hrtime.bigint()) - started) / 1e9;
    return { records: counter.closes(), seconds, rate: Math.round(counter.closes() / seconds) };
  } finally {
    generator.close();
  }
}

function cDrain(): DrainRun {
  const result = spawnSync(join(benchDir(), 'ringbench'), ['drain', '0', String(BURST), String(DRAIN_FILL_SECONDS)], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`ringbench drain: ${result.stderr.trim()}`);
  const run = JSON.parse(result.stdout) as { received: number; drain_seconds: number };
  return { records: run.received, seconds: run.drain_seconds, rate: Math.round(run.received / Math.max(run.drain_seconds, 1e-9)) };
}

function cRun(rate: number): RingRun {
  const result = spawnSync(join(benchDir(), 'ringbench'), ['consume', String(rate), String(BURST), String(SECONDS)], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`ringbench consume: ${result.stderr.trim()}`);
  const run = JSON.parse(result.stdout) as { generated: number; received: number; lost: number; seconds: number };
  return { offered: rate, generated: run.generated, received: run.received, lost: run.lost, achieved: Math.round(run.generated / run.seconds) };
}

/** Highest achieved rate among lossless runs. */
const best = (runs: RingRun[]) => Math.max(0, ...runs.filter(lossless).map((run) => run.achieved));

export async function benchRing(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { name: 'event_pipeline', error: 'needs root' };
  if (!existsSync(join(benchDir(), 'ringbench'))) return { name: 'event_pipeline', error: 'build/bench/ringbench missing: make -C bench' };
  const js: RingRun[] = [];
  const c: RingRun[] = [];
  for (const rate of RATES) {
    process.stderr.write(`bench: event pipeline at ${rate} events/s\n`);
    js.push(await jsRun(rate));
    c.push(cRun(rate));
  }
  process.stderr.write('bench: event pipeline, draining a full ring\n');
  const jsDrained = await jsDrain();
  const cDrained = cDrain();
  const value = jsDrained.rate;
  const reference = cDrained.rate;
  const belowTarget = js.filter((run) => run.offered <= TARGET_RATE);
  return {
    name: 'event_pipeline',
    unit: 'close events/s from the ring to decoded JS events (consumer alone, draining a full 128 MiB ring)',
    value,
    reference: { name: 'plain C libbpf consumer (ring_buffer__consume, counting records) draining the same ring', value: reference },
    ratio: Number((value / Math.max(reference, 1)).toFixed(3)),
    target: `>= ${TARGET_RATE} events/s, >= half of the C consumer, zero loss at or below ${TARGET_RATE}/s`,
    met: value >= TARGET_RATE && value >= reference / 2 && belowTarget.every(lossless),
    paced: {
      unit: 'events/s generated and decoded with nothing lost (highest achieved), generator and consumer sharing the CPUs',
      js: best(js),
      c: best(c),
      lost_total: js.reduce((sum, run) => sum + run.lost, 0),
      js_runs: js,
      c_runs: c,
    },
    drain: { js: jsDrained, c: cDrained },
    record_bytes: closeEvent.size,
    note: `ringgen.bpf.o writes ${BURST} hostflow close records per getppid() of the generator into the events ring; paced runs: 8 MiB ring, wakeup_bytes ${WAKEUP_BYTES} as the tracer sets it, ${SECONDS} s per rate; a run is lossless when nothing failed to reserve and every record was decoded`,
  };
}
