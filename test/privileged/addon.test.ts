/**
 * The native addon against the real kernel: load, verifier errors, maps,
 * ring-buffer polling, XDP/TC attachment in a throwaway network namespace,
 * and what a SIGKILL leaves behind (nothing).
 *
 * Objects: build/bpf/xdp_pass.bpf.o (from `make -C bpf`; HOSTFLOW_BPF_DIR
 * overrides the folder), the hostflow object embedded in the addon, and small
 * fixtures compiled here with clang.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';

import { packageRoot } from '../../src/package-root.js';
import { loadNative, type BpfObject, type LinkInfo, type NativeAddon } from '../../src/kernel/native.js';
import { captureFilter } from '../../src/kernel/layout.js';
import { CONSTS, loadSettings, MAP_SIZES, PROGRAMS } from '../../src/kernel/load-plan.js';
import { DEFAULT_TRACER_OPTIONS } from '../../src/kernel/tracer-options.js';
import { privilegedSuite } from '../helpers/privileged.js';

const execFileAsync = promisify(execFile);
const bpfDir = process.env.HOSTFLOW_BPF_DIR ?? join(packageRoot(), 'build', 'bpf');
const xdpPassPath = join(bpfDir, 'xdp_pass.bpf.o');
const nativeUrl = new URL('../../src/kernel/native.js', import.meta.url).href;
const XDP_PASS = 2;

/** A fixture with a TC program, a tracepoint, a uprobe and an XDP program that writes one record per run. */
const FIXTURE_C = String.raw`
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
const volatile __u32 record_size = 16;
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } other SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } pids SEC(".maps");
/* [0] records produced, [1] records the ring had no room for */
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 20000); __type(key, __u32); __type(value, __u64); } table SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } per_cpu SEC(".maps");
/* The kernel has no batch lookup for device maps (ENOTSUPP): dumpMap walks their keys. */
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 8); __type(key, __u32); __type(value, __u32); } ports SEC(".maps");

SEC("xdp")
int produce(struct xdp_md *ctx) {
  __u32 produced_key = 0, dropped_key = 1;
  __u64 *produced = bpf_map_lookup_elem(&stats, &produced_key);
  __u64 *dropped = bpf_map_lookup_elem(&stats, &dropped_key);
  if (!produced || !dropped) return XDP_ABORTED;
  __u64 seq = __sync_fetch_and_add(produced, 1);
  __u8 record[64] = {};
  __builtin_memcpy(record, &seq, sizeof(seq));
  __u32 size = record_size;
  if (size > sizeof(record)) size = sizeof(record);
  if (size < sizeof(seq)) size = sizeof(seq);
  if (bpf_ringbuf_output(&events, record, size, 0)) __sync_fetch_and_add(dropped, 1);
  if ((seq & 3) == 0) bpf_ringbuf_output(&other, &seq, sizeof(seq), 0);
  return XDP_PASS;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb) { return 0; }

static __always_inline void output_pid(void) {
  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  bpf_ringbuf_output(&pids, &pid, sizeof(pid), 0);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx) { output_pid(); return 0; }

SEC("uprobe")
int on_getaddrinfo(void *ctx) { output_pid(); return 0; }

char LICENSE[] SEC("license") = "GPL";
`;

/** Reads past the packet start without a bounds check: the verifier must refuse it. */
const REJECTED_C = String.raw`
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int fine(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp")
int unchecked_read(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  return *(unsigned char *)(data + 20);
}
char LICENSE[] SEC("license") = "GPL";
`;

interface Record {
  ring: number;
  bytes: Buffer;
}

/** Splits a batch: u32 length, u32 ring index, bytes, padding to 8. */
function records(batch: Buffer): Record[] {
  const out: Record[] = [];
  for (let offset = 0; offset < batch.length;) {
    const length = batch.readUInt32LE(offset);
    out.push({ ring: batch.readUInt32LE(offset + 4), bytes: batch.subarray(offset + 8, offset + 8 + length) });
    offset += 8 + Math.ceil(length / 8) * 8;
  }
  return out;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

async function compileBpf(dir: string, name: string, source: string): Promise<Buffer> {
  const multiarch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch as 'x64' | 'arm64'] ?? process.arch;
  const input = join(dir, `${name}.bpf.c`);
  const output = join(dir, `${name}.bpf.o`);
  writeFileSync(input, source);
  await execFileAsync('clang', ['-g', '-O2', '-target', 'bpf', `-I/usr/include/${multiarch}-linux-gnu`, '-c', input, '-o', output]);
  return readFileSync(output);
}

async function sh(command: string, args: readonly string[]): Promise<string> {
  return (await execFileAsync(command, args)).stdout;
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fresh namespace holding the veth pair hfa0 <-> hfa1; deleted after the test, pass or fail. */
async function vethNamespace(t: TestContext): Promise<{ ns: string; ifindex: number }> {
  const ns = `hf-addon-${randomBytes(4).toString('hex')}`;
  await sh('ip', ['netns', 'add', ns]);
  t.after(() => sh('ip', ['netns', 'del', ns]).catch(() => undefined));
  await sh('ip', ['-n', ns, 'link', 'add', 'hfa0', 'type', 'veth', 'peer', 'name', 'hfa1']);
  await sh('ip', ['-n', ns, 'link', 'set', 'hfa0', 'up']);
  await sh('ip', ['-n', ns, 'link', 'set', 'hfa1', 'up']);
  const [link] = JSON.parse(await sh('ip', ['-n', ns, '-j', 'link', 'show', 'hfa0'])) as { ifindex: number }[];
  assert.ok(link);
  return { ns, ifindex: link.ifindex };
}

interface NetState {
  /** XDP program ids bpftool lists on hfa0. */
  xdp: number[];
  /** TC entries bpftool lists on hfa0 ('clsact/ingress', and 'tcx/…' with bpftool >= 7.3). */
  tc: string[];
  /** `ip link show` mentions an XDP program. */
  ipLinkXdp: boolean;
}

async function netState(ns: string): Promise<NetState> {
  const [net] = JSON.parse(await sh('ip', ['netns', 'exec', ns, 'bpftool', '-j', 'net', 'show', 'dev', 'hfa0'])) as {
    xdp?: { id: number }[];
    tc?: { kind: string }[];
  }[];
  const ipLink = await sh('ip', ['-n', ns, 'link', 'show', 'dev', 'hfa0']);
  return {
    xdp: (net?.xdp ?? []).map((entry) => entry.id),
    tc: (net?.tc ?? []).map((entry) => entry.kind),
    ipLinkXdp: /prog\/xdp/.test(ipLink),
  };
}

/** The kernel's links by id (bpftool 7.1 prints tcx links as type 11). */
async function kernelLinks(): Promise<Map<number, { type: string | number; prog_id: number }>> {
  const links = JSON.parse(await sh('bpftool', ['-j', 'link', 'show'])) as { id: number; type: string | number; prog_id: number }[];
  return new Map(links.map((link) => [link.id, link]));
}

const isTcx = (type: string | number | undefined): boolean => type === 'tcx' || type === 11;

/**
 * Node in the namespace attaching xdp_pass (XDP) and the fixture's tc_pass
 * (TC ingress + egress) to hfa0. Prints one JSON line per step; reads
 * 'detach' and 'close' on stdin.
 */
const ATTACH_SCRIPT = `
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const [nativeUrl, xdpPath, fixturePath, ifindexText] = process.argv.slice(1);
const { loadNative } = await import(nativeUrl);
const { BpfObject } = loadNative();
const ifindex = Number(ifindexText);
const xdp = new BpfObject({ object: readFileSync(xdpPath), name: 'xdp_pass' });
xdp.load();
const tc = new BpfObject({ object: readFileSync(fixturePath), name: 'fixture' });
tc.load();
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const listed = () => [...xdp.links(), ...tc.links()];
say({ attached: [xdp.attachXdp('xdp_pass', ifindex), tc.attachTc('tc_pass', ifindex, 'ingress'), tc.attachTc('tc_pass', ifindex, 'egress')], listed: listed() });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'detach') {
    for (const object of [xdp, tc]) for (const link of object.links()) object.detach(link.id);
    say({ listed: listed() });
  } else if (line === 'close') {
    xdp.close();
    tc.close();
    say({ closed: true });
    process.exit(0);
  }
}
`;

class AttachChild {
  readonly process: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(ns: string, fixturePath: string, ifindex: number, env: NodeJS.ProcessEnv = {}) {
    this.process = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', ATTACH_SCRIPT, nativeUrl, xdpPassPath, fixturePath, String(ifindex)],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    assert.ok(this.process.stdout);
    this.lines = createInterface({ input: this.process.stdout })[Symbol.asyncIterator]();
  }

  async next<T>(): Promise<T> {
    const line = await this.lines.next();
    if (line.done === true) assert.fail(`the attaching child exited early:\n${this.stderr}`);
    return JSON.parse(line.value) as T;
  }

  send(command: string): void {
    this.process.stdin?.write(`${command}\n`);
  }

  exited(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.process.once('exit', () => resolve()));
  }
}

describe('native addon against the kernel', privilegedSuite({ commands: ['clang', 'bpftool', 'ip'], features: ['tracefs', 'btf', 'netns'] }), () => {
  let native: NativeAddon;
  let dir: string;
  let fixture: Buffer;
  let fixturePath: string;
  let rejected: Buffer;
  const opened: BpfObject[] = [];

  /** A loaded fixture object, closed after the suite. */
  function openFixture(configure?: (object: BpfObject) => void): BpfObject {
    const object = new native.BpfObject({ object: fixture, name: 'fixture' });
    opened.push(object);
    configure?.(object);
    object.load();
    return object;
  }

  before(async () => {
    native = loadNative();
    dir = mkdtempSync(join(tmpdir(), 'hf-addon-'));
    fixture = await compileBpf(dir, 'fixture', FIXTURE_C);
    fixturePath = join(dir, 'fixture.bpf.o');
    rejected = await compileBpf(dir, 'rejected', REJECTED_C);
  });

  after(() => {
    for (const object of opened) object.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('reports the libbpf it was built with and the possible CPUs', () => {
    assert.match(native.libbpfVersion(), /^\d+\.\d+$/);
    assert.ok(Number.isInteger(native.possibleCpus()) && native.possibleCpus() >= 1);
  });

  test('xdp_pass loads and BPF_PROG_TEST_RUN returns XDP_PASS', () => {
    assert.ok(existsSync(xdpPassPath), `${xdpPassPath} is missing: run npm run build:bpf`);
    const object = new native.BpfObject({ object: readFileSync(xdpPassPath), name: 'xdp_pass' });
    try {
      assert.ok(object.programs().includes('xdp_pass'));
      object.load();
      const packet = Buffer.alloc(64, 0xab);
      const result = object.testRun('xdp_pass', packet, 100);
      assert.equal(result.retval, XDP_PASS);
      assert.ok(result.durationNs >= 0);
      assert.deepEqual(result.dataOut, packet);
    } finally {
      object.close();
    }
    object.close(); // idempotent
  });

  test('the embedded hostflow object opens and lists its programs and maps', () => {
    const object = new native.BpfObject();
    try {
      assert.ok(object.programs().length > 0);
      assert.ok(object.maps().length > 0);
    } finally {
      object.close();
    }
  });

  test('the load table names every program of the hostflow object, and only maps and constants it has', () => {
    const object = new native.BpfObject();
    try {
      assert.deepEqual(PROGRAMS.map((row) => row.program).sort(), object.programs().sort());
      const maps = object.maps();
      for (const { map } of MAP_SIZES) assert.ok(maps.includes(map), `map ${map}`);
      // setConst checks the name and the size against the object's BTF.
      const settings = loadSettings(
        { ...DEFAULT_TRACER_OPTIONS, interfaces: ['lo'], capture: { mode: 'filter', filter: Buffer.alloc(captureFilter.size) } },
        { mode: 'tracepoint', cpus: native.possibleCpus() },
      );
      assert.deepEqual(
        settings.consts.map(([name]) => name),
        CONSTS.map((row) => row.name),
      );
      for (const [name, value] of settings.consts) object.setConst(name, value);
    } finally {
      object.close();
    }
  });

  test('a verifier rejection names the program and quotes the tail of the log', () => {
    const object = new native.BpfObject({ object: rejected, name: 'rejected' });
    try {
      assert.throws(
        () => object.load(),
        (error: Error & { code?: string; program?: string; verifierLog?: string }) => {
          assert.match(error.message, /^load\(rejected\): program 'unchecked_read' rejected by the verifier: Permission denied \(EACCES\)\n/);
          assert.match(error.message, /invalid access to packet/);
          assert.ok(error.message.split('\n').length <= 21, 'the message quotes at most 20 lines of the log');
          assert.equal(error.code, 'EACCES');
          assert.equal(error.program, 'unchecked_read');
          assert.match(error.verifierLog ?? '', /processed \d+ insns/);
          return true;
        },
      );
      assert.throws(() => object.load(), { code: 'ERR_INVALID_STATE' });
    } finally {
      object.close();
    }
  });

  test('bad arguments and calls in the wrong phase throw precise errors', () => {
    const object = new native.BpfObject({ object: fixture, name: 'fixture' });
    const call = (f: () => unknown) => f as () => void;
    assert.throws(
      call(() => object.attachXdp('produce', 1)),
      { code: 'ERR_INVALID_STATE', message: /call load\(\) first/ },
    );
    assert.throws(
      call(() => object.setConst('record_size', Buffer.alloc(8))),
      {
        name: 'RangeError',
        message: "BpfObject.setConst: 'record_size' is 4 bytes, value has 8",
      },
    );
    assert.throws(
      call(() => object.setConst('missing', Buffer.alloc(4))),
      { name: 'RangeError' },
    );
    assert.throws(
      call(() => object.setMaxEntries('events', 5000)),
      { name: 'RangeError', message: /power of 2/ },
    );
    object.load();
    assert.throws(
      call(() => object.setAutoload('produce', false)),
      { code: 'ERR_INVALID_STATE' },
    );
    assert.throws(
      call(() => object.attachXdp('produce', 0)),
      {
        name: 'RangeError',
        message: 'BpfObject.attachXdp: ifindex must be a positive integer',
      },
    );
    assert.throws(
      call(() => object.attachXdp('produce', '1' as unknown as number)),
      { name: 'TypeError' },
    );
    assert.throws(
      call(() => object.attachXdp('nope', 1)),
      { name: 'RangeError', message: /no program 'nope'.*programs: produce/ },
    );
    assert.throws(
      call(() => object.attachTc('produce', 1, 'ingress')),
      { name: 'RangeError', message: /not a TC/ },
    );
    assert.throws(
      call(() => object.attachTc('tc_pass', 1, 'sideways' as 'ingress')),
      { name: 'RangeError' },
    );
    assert.throws(
      call(() => object.attachXdp('produce', 0x7ffffff0)),
      (error: Error & { code?: string }) => {
        assert.match(error.message, /^attachXdp\(produce, ifindex 2147483632\): .+ \(E[A-Z]+\)/);
        assert.match(error.code ?? '', /^E[A-Z]+$/);
        return true;
      },
    );
    assert.throws(
      call(() => object.lookup('table', Buffer.alloc(2))),
      { name: 'RangeError', message: /must be 4 bytes/ },
    );
    assert.throws(
      call(() => new native.RingPoller(object, ['table'], () => undefined)),
      { name: 'RangeError', message: /not a ring buffer/ },
    );
    assert.throws(
      call(() => new native.RingPoller({} as BpfObject, ['events'], () => undefined)),
      { name: 'TypeError' },
    );
    assert.throws(
      call(() => object.detach(99)),
      { name: 'RangeError' },
    );
    object.close();
    assert.throws(
      call(() => object.programs()),
      { code: 'ERR_INVALID_STATE', message: /closed/ },
    );
  });

  test('attachKprobe attaches where the kernel has kprobes and says why where it has not', (t) => {
    const object = openFixture();
    const hasKprobes = existsSync('/sys/bus/event_source/devices/kprobe');
    try {
      const link = object.attachKprobe('on_getaddrinfo', 'do_sys_openat2', false);
      assert.ok(hasKprobes, 'attached although the kernel has no kprobe PMU');
      assert.equal(link.kind, 'kprobe');
      object.detach(link.id);
    } catch (error) {
      if (hasKprobes) throw error;
      assert.match((error as Error).message, /^attachKprobe\(on_getaddrinfo, do_sys_openat2\): .+ \(E[A-Z]+\)/);
      t.diagnostic(`no kprobes on this kernel: ${(error as Error).message.split('\n')[0]}`);
    }
  });

  test('setConst, dumpMap, lookup, update and delete work on a loaded object', async () => {
    const object = openFixture((o) => o.setConst('record_size', u32(24)));
    for (let key = 0; key < 10000; key++) object.update('table', u32(key), u64(key * 3));
    const dump = object.dumpMap('table');
    assert.equal(dump.count, 10000);
    assert.equal(dump.keySize, 4);
    assert.equal(dump.valueStride, 8);
    assert.equal(dump.cpus, 1);
    const seen = new Set<number>();
    for (let i = 0; i < dump.count; i++) {
      const key = dump.keys.readUInt32LE(i * 4);
      seen.add(key);
      assert.equal(dump.values.readBigUInt64LE(i * dump.valueStride), BigInt(key * 3));
    }
    assert.equal(seen.size, 10000);
    assert.deepEqual(object.lookup('table', u32(7)), u64(21));
    assert.equal(object.delete('table', u32(7)), true);
    assert.equal(object.delete('table', u32(7)), false);
    assert.equal(object.lookup('table', u32(7)), null);

    // Per-CPU: one 8-byte slot per possible CPU.
    const cpus = native.possibleCpus();
    const value = Buffer.alloc(8 * cpus);
    for (let cpu = 0; cpu < cpus; cpu++) value.writeUInt32LE(cpu + 100, cpu * 8);
    object.update('per_cpu', u32(1), value);
    assert.deepEqual(object.lookup('per_cpu', u32(1)), value);
    const perCpu = object.dumpMap('per_cpu');
    assert.deepEqual([perCpu.count, perCpu.cpus, perCpu.valueStride], [1, cpus, 8 * cpus]);
    assert.deepEqual(perCpu.values, value);

    // record_size reached the program: each record is 24 bytes.
    const sizes: number[] = [];
    const empty = object.dumpMap('stats');
    assert.equal(empty.count, 2);
    object.testRun('produce', Buffer.alloc(64), 1);
    assert.equal(object.lookup('stats', u32(0))?.readBigUInt64LE(), 1n);
    const poller = new native.RingPoller(object, ['events'], (batch) => sizes.push(...records(batch).map((r) => r.bytes.length)));
    await poller.stop();
    assert.deepEqual(sizes, [24]);
  });

  test('lookup, update and delete refuse a key or value of the wrong size, naming the map and both sizes', () => {
    const unloaded = new native.BpfObject({ object: fixture, name: 'fixture' });
    opened.push(unloaded);
    // The phase is checked before the key: an unloaded map has no size to check against yet.
    assert.throws(() => unloaded.lookup('table', Buffer.alloc(2)), { code: 'ERR_INVALID_STATE', message: /call load\(\) first/ });
    const object = openFixture();
    const wrongKey = (method: string) => ({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: `BpfObject.${method}: key of 'table' must be 4 bytes, got 2`,
    });
    assert.throws(() => object.lookup('table', Buffer.alloc(2)), wrongKey('lookup'));
    assert.throws(() => object.update('table', Buffer.alloc(2), u64(1)), wrongKey('update'));
    assert.throws(() => object.delete('table', Buffer.alloc(2)), wrongKey('delete'));
    assert.throws(() => object.update('table', u32(1), u32(1)), {
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: "BpfObject.update: value of 'table' must be 8 bytes, got 4",
    });
    const perCpuValue = 8 * native.possibleCpus();
    assert.throws(() => object.update('per_cpu', u32(1), u32(1)), {
      name: 'RangeError',
      message: `BpfObject.update: value of 'per_cpu' must be ${perCpuValue} bytes, got 4`,
    });
    assert.throws(() => object.delete('nope', u32(1)), {
      name: 'RangeError',
      message: /^BpfObject\.delete: no map 'nope' in object 'fixture' \(maps: .*table/,
    });
    assert.equal(object.lookup('table', u32(1)), null, 'nothing was written by the refused calls');
  });

  test('dumpMap walks the keys of a map that has no batch lookup, skipping empty slots', () => {
    const object = openFixture();
    const loopback = 1;
    object.update('ports', u32(2), u32(loopback));
    object.update('ports', u32(5), u32(loopback));
    object.update('ports', u32(6), u32(loopback));
    object.delete('ports', u32(6));
    // Every index of a device map is a key, but a lookup of an empty one finds nothing.
    const dump = object.dumpMap('ports');
    assert.deepEqual([dump.count, dump.keySize, dump.valueStride, dump.cpus], [2, 4, 4, 1]);
    assert.deepEqual(dump.keys, Buffer.concat([u32(2), u32(5)]));
    assert.deepEqual(dump.values, Buffer.concat([u32(loopback), u32(loopback)]));
    assert.deepEqual(object.dumpMap('ports').keys, dump.keys, 'a second walk starts from the first key again');
  });

  test('a RingPoller hands over every record and stop() resolves after the last batch', async () => {
    const object = openFixture();
    const sequence = new Set<number>();
    let fromOther = 0;
    let batches = 0;
    const poller = new native.RingPoller(
      object,
      ['events', 'other'],
      (batch) => {
        batches++;
        for (const record of records(batch)) {
          if (record.ring === 0) sequence.add(Number(record.bytes.readBigUInt64LE(0)));
          else fromOther++;
        }
      },
      { batchBytes: 4096, flushMs: 10 },
    );
    object.testRun('produce', Buffer.alloc(64), 5000);
    await poller.stop();
    assert.equal(sequence.size, 5000);
    assert.equal(Math.min(...sequence), 0);
    assert.equal(Math.max(...sequence), 4999);
    assert.equal(fromOther, 1250);
    assert.deepEqual(poller.stats(), { batches, records: 6250, bytes: 5000 * 16 + 1250 * 8 });
    assert.ok(batches > 1, 'batchBytes splits the records into several batches');
    await poller.stop(); // stopping twice is fine
  });

  test('when JavaScript falls behind, the kernel ring drops records and the poller none', async () => {
    const object = openFixture((o) => o.setMaxEntries('events', 16384));
    let received = 0;
    const sleep = new Int32Array(new SharedArrayBuffer(4));
    const poller = new native.RingPoller(
      object,
      ['events'],
      (batch) => {
        received += records(batch).length;
        Atomics.wait(sleep, 0, 0, 2); // a slow consumer
      },
      { batchBytes: 512, flushMs: 5, maxQueuedBatches: 1 },
    );
    for (let round = 0; round < 10; round++) {
      object.testRun('produce', Buffer.alloc(64), 1000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await poller.stop();
    const produced = Number(object.lookup('stats', u32(0))?.readBigUInt64LE());
    const dropped = Number(object.lookup('stats', u32(1))?.readBigUInt64LE());
    assert.equal(produced, 10000);
    assert.ok(dropped > 0, 'the small ring overflowed');
    assert.equal(received + dropped, produced);
    assert.equal(poller.stats().records, received);
  });

  test('close() stops running pollers; a map has one poller at a time; 50 start/stop cycles lose nothing', async () => {
    const object = openFixture();
    let total = 0;
    for (let cycle = 0; cycle < 50; cycle++) {
      const poller = new native.RingPoller(object, ['events'], (batch) => (total += records(batch).length), {
        flushMs: 1 + (cycle % 5),
        batchBytes: 256 + cycle * 64,
      });
      object.testRun('produce', Buffer.alloc(64), 100);
      if (cycle % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      await poller.stop();
    }
    assert.equal(total, 5000);

    const first = new native.RingPoller(object, ['events'], () => undefined);
    assert.throws(() => new native.RingPoller(object, ['other', 'events'], () => undefined), {
      code: 'ERR_INVALID_STATE',
      message: /already polled/,
    });
    let fromOther = 0;
    const second = new native.RingPoller(object, ['other'], (batch) => (fromOther += records(batch).length), { flushMs: 1000 });
    object.testRun('produce', Buffer.alloc(64), 400);
    object.close();
    await Promise.all([first.stop(), second.stop()]);
    // 'other' gets every 4th record: 5000 from the cycles (nobody polled it) + 400.
    assert.equal(fromOther, 1350, 'close() drained the ring before freeing it');
  });

  test('a tracepoint and a uprobe attach, deliver events and detach', async (t) => {
    const object = openFixture();
    const pids = new Set<number>();
    const poller = new native.RingPoller(object, ['pids'], (batch) => records(batch).forEach((r) => pids.add(r.bytes.readUInt32LE(0))), {
      flushMs: 5,
    });
    t.after(() => poller.stop());

    const exec = object.attachTracepoint('on_exec', 'sched', 'sched_process_exec');
    assert.deepEqual(
      { ...exec, kernelLinkId: 0 },
      { id: exec.id, program: 'on_exec', kind: 'tracepoint', target: 'sched/sched_process_exec', kernelLinkId: 0 },
    );
    assert.ok(exec.kernelLinkId > 0);
    const child = spawn('true');
    await new Promise((resolve) => child.once('exit', resolve));
    await eventually('the exec event of true', () => child.pid !== undefined && pids.has(child.pid));

    const libc = readFileSync('/proc/self/maps', 'utf8').match(/\s(\/\S*\/libc\.so\.6)$/m)?.[1];
    assert.ok(libc, 'libc.so.6 is mapped');
    const lookup = object.attachUprobe('on_getaddrinfo', libc, 'getaddrinfo', false);
    assert.equal(lookup.kind, 'uprobe');
    assert.equal(lookup.target, `${libc}:getaddrinfo`);
    const getent = spawn('getent', ['ahosts', 'localhost'], { stdio: 'ignore' });
    await new Promise((resolve) => getent.once('exit', resolve));
    await eventually('the getaddrinfo call of getent', () => getent.pid !== undefined && pids.has(getent.pid));

    assert.deepEqual(
      object.links().map((link: LinkInfo) => link.kind),
      ['tracepoint', 'uprobe'],
    );
    object.detach(exec.id);
    object.detach(lookup.id);
    assert.deepEqual(object.links(), []);
    assert.ok(!(await kernelLinks()).has(exec.kernelLinkId));
  });

  for (const mode of ['tcx', 'tc-netlink'] as const) {
    test(`XDP and TC (${mode}) attach to a veth in a fresh namespace, show in bpftool and detach`, async (t) => {
      const { ns, ifindex } = await vethNamespace(t);
      const child = new AttachChild(ns, fixturePath, ifindex, mode === 'tc-netlink' ? { HOSTFLOW_TC_NETLINK: '1' } : {});
      t.after(() => {
        child.process.kill('SIGKILL');
      });
      const { attached, listed } = await child.next<{ attached: LinkInfo[]; listed: LinkInfo[] }>();
      assert.deepEqual(
        attached.map((link) => [link.program, link.kind, link.target]),
        [
          ['xdp_pass', 'xdp', 'hfa0'],
          ['tc_pass', mode, 'hfa0/ingress'],
          ['tc_pass', mode, 'hfa0/egress'],
        ],
      );
      assert.deepEqual(listed, attached);

      const kernel = await kernelLinks();
      const [xdp, ingress, egress] = attached as [LinkInfo, LinkInfo, LinkInfo];
      const xdpLink = kernel.get(xdp.kernelLinkId);
      assert.equal(xdpLink?.type, 'xdp');
      const state = await netState(ns);
      assert.deepEqual(state.xdp, [xdpLink?.prog_id]);
      assert.ok(state.ipLinkXdp);
      if (mode === 'tcx') {
        // bpftool 7.1 does not list tcx in `net show`; the links are there.
        assert.ok(isTcx(kernel.get(ingress.kernelLinkId)?.type));
        assert.ok(isTcx(kernel.get(egress.kernelLinkId)?.type));
      } else {
        assert.deepEqual([ingress.kernelLinkId, egress.kernelLinkId], [0, 0]);
        assert.deepEqual(state.tc.sort(), ['clsact/egress', 'clsact/ingress']);
      }

      child.send('detach');
      assert.deepEqual((await child.next<{ listed: LinkInfo[] }>()).listed, []);
      await eventually('the kernel to drop the links', async () => {
        const links = await kernelLinks();
        return attached.every((link) => link.kernelLinkId === 0 || !links.has(link.kernelLinkId));
      });
      assert.deepEqual(await netState(ns), { xdp: [], tc: [], ipLinkXdp: false });
      if (mode === 'tc-netlink') {
        assert.doesNotMatch(await sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show', 'dev', 'hfa0']), /clsact/, 'the clsact it created is gone');
      }
      child.send('close');
      assert.deepEqual(await child.next(), { closed: true });
      await child.exited();
    });
  }

  test('attachTc on a missing interface says which step failed: the tcx link, or the clsact for a netlink filter', (t) => {
    const object = openFixture();
    const missing = 0x7ffffff0;
    const forced = process.env.HOSTFLOW_TC_NETLINK;
    t.after(() => {
      if (forced === undefined) delete process.env.HOSTFLOW_TC_NETLINK;
      else process.env.HOSTFLOW_TC_NETLINK = forced;
    });
    delete process.env.HOSTFLOW_TC_NETLINK;
    assert.throws(() => object.attachTc('tc_pass', missing, 'egress'), {
      code: 'ENODEV',
      message: `attachTc(tc_pass, ifindex ${missing} egress): No such device (ENODEV)`,
    });
    process.env.HOSTFLOW_TC_NETLINK = '1';
    assert.throws(() => object.attachTc('tc_pass', missing, 'ingress'), {
      code: 'ENODEV',
      message: new RegExp(`^attachTc\\(tc_pass, ifindex ${missing} ingress\\) creating clsact: No such device \\(ENODEV\\)`),
    });
    assert.deepEqual(object.links(), []);
  });

  test('SIGKILL leaves no XDP or tcx program attached', async (t) => {
    const { ns, ifindex } = await vethNamespace(t);
    const child = new AttachChild(ns, fixturePath, ifindex);
    t.after(() => {
      child.process.kill('SIGKILL');
    });
    const { attached } = await child.next<{ attached: LinkInfo[] }>();
    assert.deepEqual(
      attached.map((link) => link.kind),
      ['xdp', 'tcx', 'tcx'],
    );
    const before = await netState(ns);
    assert.equal(before.xdp.length, 1);
    assert.ok(before.ipLinkXdp);

    child.process.kill('SIGKILL');
    await child.exited();
    assert.equal(child.process.signalCode, 'SIGKILL');
    await eventually('the kernel to release the links of the killed process', async () => {
      const links = await kernelLinks();
      return attached.every((link) => !links.has(link.kernelLinkId));
    });
    assert.deepEqual(await netState(ns), { xdp: [], tc: [], ipLinkXdp: false });
  });

  test('without tcx, the next start replaces the TC filters a SIGKILLed run left, it does not stack them', async (t) => {
    const { ns, ifindex } = await vethNamespace(t);
    const filters = async () =>
      (await sh('ip', ['netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', 'hfa0', 'egress']))
        .split('\n')
        .filter((line) => line.includes(' bpf ') && line.includes(' handle '));
    const killed = new AttachChild(ns, fixturePath, ifindex, { HOSTFLOW_TC_NETLINK: '1' });
    t.after(() => killed.process.kill('SIGKILL'));
    await killed.next();
    killed.process.kill('SIGKILL');
    await killed.exited();
    // A netlink filter is no bpf_link: the kernel keeps it after its owner died.
    const left = await filters();
    assert.equal(left.length, 1, left.join('\n'));
    assert.match(left[0] ?? '', /handle 0x6866/);

    const next = new AttachChild(ns, fixturePath, ifindex, { HOSTFLOW_TC_NETLINK: '1' });
    t.after(() => next.process.kill('SIGKILL'));
    await next.next();
    const now = await filters();
    assert.equal(now.length, 1, `one filter, not one per run:\n${now.join('\n')}`);
    assert.notEqual(/id (\d+)/.exec(now[0] ?? '')?.[1], /id (\d+)/.exec(left[0] ?? '')?.[1], 'the program of the new run replaced the old one');
    next.send('close');
    assert.deepEqual(await next.next(), { closed: true });
    await next.exited();
    assert.deepEqual(await filters(), [], 'a clean exit removes it');
  });
});
