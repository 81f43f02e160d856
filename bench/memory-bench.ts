/**
 * Resident memory of the user-space pipeline holding 100k flows and 100k
 * cached names: the real Correlator, NameIndex and FlowIntervals fed
 * synthetic kernel events and a synthetic flow-table dump (read by the
 * real flowTable), measured in a child process of its own so that the
 * other benchmarks' heaps do not count. The reference is the same child's
 * RSS before it built anything (Node, the modules, nothing held).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monotonicClock } from '../src/clock.js';
import { Correlator, DEFAULT_CONNECTION_ENTRIES } from '../src/correlate/correlator.js';
import { flatKey } from '../src/correlate/flat-key.js';
import { NameIndex } from '../src/correlate/names.js';
import { FlowIntervals } from '../src/flows/intervals.js';
import type { ConnectEvent, EstablishedEvent, LookupEvent, Task } from '../src/kernel/decode.js';
import { flowTable } from '../src/kernel/flows.js';
import { AF_INET, flowCounters, flowKey } from '../src/kernel/layout.js';
import type { MapDump } from '../src/kernel/native-api.js';
import { offsetOf } from '../src/kernel/struct.js';

const FLOWS = 100_000;
const NAMES = 100_000;
const OPEN_CONNECTIONS = 100_000;
/** The scale point: how memory grows with open connections. */
const SCALE_CONNECTIONS = 1_000_000;
const TARGET_MB = 200;
const CPUS = 2;

/** 10.x.y.z for i: distinct addresses for 100k entries. */
const addr = (i: number) => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;

/** A flow-table dump as bpf_map_lookup_batch hands it over: `count` IPv4 TCP flows, per-CPU values. */
function flowDump(count: number, packetsEach: number): MapDump {
  const keySize = flowKey.size;
  const cpuStride = (flowCounters.size + 7) & ~7;
  const keys = Buffer.alloc(count * keySize);
  const values = Buffer.alloc(count * cpuStride * CPUS);
  for (let i = 0; i < count; i++) {
    const key = i * keySize;
    keys.set([10, 0, 0, 2], key + offsetOf(flowKey, 'saddr'));
    keys.set([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff], key + offsetOf(flowKey, 'daddr'));
    keys.writeUInt32LE(2, key + offsetOf(flowKey, 'ifindex'));
    keys.writeUInt16LE(20_000 + (i % 40_000), key + offsetOf(flowKey, 'sport'));
    keys.writeUInt16LE(443, key + offsetOf(flowKey, 'dport'));
    keys.writeUInt8(0, key + offsetOf(flowKey, 'direction')); // HF_DIR_OUT
    keys.writeUInt8(6, key + offsetOf(flowKey, 'proto'));
    keys.writeUInt16LE(AF_INET, key + offsetOf(flowKey, 'family'));
    const value = i * cpuStride * CPUS;
    values.writeBigUInt64LE(BigInt(packetsEach), value + offsetOf(flowCounters, 'packets'));
    values.writeBigUInt64LE(BigInt(packetsEach * 1000), value + offsetOf(flowCounters, 'bytes'));
    values.writeBigUInt64LE(1_000_000n, value + offsetOf(flowCounters, 'first_seen_ns'));
    values.writeBigUInt64LE(2_000_000n, value + offsetOf(flowCounters, 'last_seen_ns'));
  }
  return { count, keySize, valueStride: cpuStride * CPUS, cpus: CPUS, keys, values };
}

const rssMb = () => process.memoryUsage().rss / (1 << 20);

function settle(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  return rssMb();
}

/** Runs in the child: builds the state, keeps it referenced, prints one JSON line. */
function child(connections: number): void {
  const baseline = settle();
  // Heap growth of each stage, to tell what the resident size is made of.
  const heap = () => {
    settle();
    return process.memoryUsage().heapUsed / (1 << 20);
  };
  const stages: Record<string, number> = { start: heap() };
  const names = new NameIndex({ processEntries: NAMES, globalEntries: NAMES });
  let records = 0;
  const correlator = new Correlator({
    names,
    clock: monotonicClock(0),
    interfaceName: () => 'eth0',
    containers: { lookup: () => null },
    excludePid: 0,
    emit: () => records++,
    connectionEntries: Math.max(DEFAULT_CONNECTION_ENTRIES, connections * 2),
  });
  // The decoder hands out one task object per unchanged thread, its name
  // one string per process name (readTask, src/kernel/comm-strings.ts).
  const comms = Array.from({ length: 100 }, (_, i) => `worker-${i}`);
  const tasks = new Map<number, Task>();
  const task = (pid: number): Task => {
    let known = tasks.get(pid);
    if (!known) tasks.set(pid, (known = { pid, tid: pid, uid: 1000, gid: 1000, cgroupId: 1, comm: comms[pid % 100] as string, ppid: 1, startNs: 0 }));
    return known;
  };
  // 100k names: getaddrinfo results of 1000 processes, one address each (both indexes learn them).
  for (let i = 0; i < NAMES; i++) {
    const lookup: LookupEvent = {
      kind: 'lookup',
      tsNs: 1e9 + i,
      cpu: 0,
      task: task(1000 + (i % 1000)),
      // Flat, as the decoder's names are (a template literal would be a rope).
      name: flatKey(`host-${i}.example.com`),
      addrs: [addr(i % NAMES)],
      truncated: false,
      ret: 0,
      latencyNs: 1e6,
    };
    correlator.handle(lookup);
  }
  stages.names = heap();
  // Open connections to those addresses (each address reached from several
  // local ports when there are more connections than names): the
  // correlator's socket and owner tables.
  for (let i = 0; i < connections; i++) {
    const tuple = { family: 4 as const, saddr: `10.255.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}`, sport: 1024 + (i & 0xff), daddr: addr(i % NAMES), dport: 443 };
    const connect: ConnectEvent = {
      kind: 'connect',
      tsNs: 2e9 + i,
      cpu: 0,
      task: task(1000 + (i % 1000)),
      tuple: { ...tuple, sport: 0 },
      sock: 0x8880_0000_0000 + i * 64,
      ret: 0,
      probe: 'kprobe',
    };
    const established: EstablishedEvent = {
      kind: 'established',
      tsNs: 2e9 + i + 1,
      cpu: 0,
      task: task(1000 + (i % 1000)),
      tuple,
      sock: connect.sock,
      latencyNs: 1e5,
      direction: 'out',
    };
    correlator.handle(connect);
    correlator.handle(established);
  }
  stages.connections = heap();
  // 100k flows: two table reads, as two intervals see them; the second's
  // deltas become records and go to the sinks one at a time, as in the session.
  const intervals = new FlowIntervals();
  intervals.next(flowTable(flowDump(FLOWS, 10)), 0, 10e9, () => {});
  let flowRecords = 0;
  let named = 0;
  intervals.next(flowTable(flowDump(FLOWS, 20)), 10e9, 20e9, (delta) => {
    const record = correlator.flowRecord(delta);
    flowRecords++;
    if (record.dst_host !== null) named++;
  });
  stages.flows = heap();
  const after = settle();
  const tables = { names: names.sizes, connections: correlator.tableSizes(), flows: intervals.size };
  process.stdout.write(
    `${JSON.stringify({ baseline, after, stages, heapUsedMb: process.memoryUsage().heapUsed / (1 << 20), usage: process.memoryUsage(), records, flowRecords, named, tables })}\n`,
  );
  // Keep everything alive until the measurement is out.
  if (names.nameOf(addr(0)) === null && correlator.stats.wireAnswers < 0) process.exitCode = 1;
}

interface ChildResult {
  stages: { start: number; names: number; connections: number; flows: number };
  baseline: number;
  after: number;
  heapUsedMb: number;
  usage: NodeJS.MemoryUsage;
  flowRecords: number;
  named: number;
  tables: { names: { process: number; global: number }; connections: { connections: number; owners: number }; flows: number };
}

function runChild(connections: number): ChildResult | string {
  const result = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(connections)], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !line.startsWith('{')) return `child exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return JSON.parse(line) as ChildResult;
}

/** Heap bytes per item a stage added. */
const perItem = (mb: number, items: number) => Math.round((mb * (1 << 20)) / items);

export function benchMemory(): Record<string, unknown>[] {
  const measured = runChild(OPEN_CONNECTIONS);
  if (typeof measured === 'string') return [{ name: 'memory_100k_flows_100k_names', error: measured }];
  const { stages } = measured;
  const value = Math.round(measured.after);
  const figure = {
    name: 'memory_100k_flows_100k_names',
    unit: 'MB resident (RSS) holding 100k flows, 100k names and 100k open connections',
    value,
    reference: { name: 'the same process before building anything (Node and the modules)', value: Math.round(measured.baseline) },
    ratio: Number((measured.after / measured.baseline).toFixed(2)),
    added_mb: Math.round(measured.after - measured.baseline),
    heap_used_mb: Math.round(measured.heapUsedMb),
    // What the resident size is besides the live heap: V8's free heap pages, buffers outside the heap.
    heap_total_mb: Math.round(measured.usage.heapTotal / (1 << 20)),
    external_mb: Math.round(measured.usage.external / (1 << 20)),
    heap_bytes_per_item: {
      name: perItem(stages.names - stages.start, NAMES),
      open_connection: perItem(stages.connections - stages.names, OPEN_CONNECTIONS),
      flow: perItem(stages.flows - stages.connections, FLOWS),
    },
    tables: measured.tables,
    target: `< ${TARGET_MB} MB`,
    met: value < TARGET_MB,
    flows: measured.flowRecords,
    flows_named: measured.named,
    names: NAMES,
    open_connections: OPEN_CONNECTIONS,
  };
  const large = runChild(SCALE_CONNECTIONS);
  if (typeof large === 'string') return [figure, { name: 'memory_1m_open_connections', error: large }];
  const small = figure.heap_bytes_per_item.open_connection;
  const big = perItem(large.stages.connections - large.stages.names, SCALE_CONNECTIONS);
  return [
    figure,
    {
      name: 'memory_1m_open_connections',
      unit: 'MB resident with 1M open connections (and the same 100k flows and names)',
      value: Math.round(large.after),
      reference: { name: 'the same with 100k open connections', value },
      heap_bytes_per_open_connection: { at_100k: small, at_1m: big },
      target: 'linear or better: bytes per open connection at 1M no more than 1.25x those at 100k',
      met: big <= small * 1.25,
      tables: large.tables,
    },
  ];
}

if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) child(Number(process.argv[3]));
