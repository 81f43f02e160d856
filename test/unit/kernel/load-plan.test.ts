import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCKLIST_MAX,
  CaptureMode,
  CONNECTING_MAX,
  ConnectProbe,
  FLOW_CACHE_SLOTS,
  LOOKUPS_MAX,
  PACKETS_BYTES,
  PAYLOAD_EVENTS_BYTES,
  SOCKETS_MAX,
} from '../../../src/kernel/layout.js';
import { loadSettings, LRU_FREE_PER_CPU, PAGE_BYTES } from '../../../src/kernel/load-plan.js';
import { CONNECT_PROGRAMS } from '../../../src/kernel/probe-plan.js';
import { DEFAULT_TRACER_OPTIONS, type TracerOptions } from '../../../src/kernel/tracer-options.js';

const options = (overrides: Partial<TracerOptions> = {}): TracerOptions => ({ ...DEFAULT_TRACER_OPTIONS, excludePid: 4242, ...overrides });
const settings = (overrides: Partial<TracerOptions> = {}, mode: keyof typeof ConnectProbe = 'tracepoint') =>
  loadSettings(options(overrides), { mode, cpus: 4 });
const autoload = (s: ReturnType<typeof settings>) => Object.fromEntries(s.autoload);
const sizes = (s: ReturnType<typeof settings>) => Object.fromEntries(s.maxEntries);
const consts = (s: ReturnType<typeof settings>) => Object.fromEntries(s.consts);

test("each connect mode loads its own programs and no other mode's", () => {
  for (const mode of ['kprobe', 'fentry', 'tracepoint'] as const) {
    const loaded = autoload(settings({}, mode));
    for (const other of ['kprobe', 'fentry', 'tracepoint'] as const) {
      for (const { program } of CONNECT_PROGRAMS[other]) assert.equal(loaded[program], other === mode, `${mode}: ${program}`);
    }
    assert.equal(loaded.sock_state, true);
    assert.equal(loaded.getaddrinfo_entry && loaded.getaddrinfo_return, true, 'libcs found later attach to loaded programs');
    // Only the programs differ: no mode is told to the kernel side.
    assert.equal(consts(settings({}, mode)).connect_probe, undefined);
  }
});

test('the packet programs load only with an interface and a job for them', () => {
  assert.equal(autoload(settings({ interfaces: [] })).flow_xdp, false);
  assert.equal(autoload(settings({ interfaces: ['eth0'] })).flow_tc, true);
  const idle = autoload(settings({ interfaces: ['eth0'], flows: false, dnsCapture: false }));
  assert.deepEqual([idle.flow_xdp, idle.flow_tc, idle.xdp_attach_failed], [false, false, false]);
  assert.equal(autoload(settings({ interfaces: ['eth0'], flows: false, dnsCapture: false, block: ['10.0.0.0/8'] })).flow_xdp, true);
});

test('every constant comes from its option, in the size the object declares', () => {
  const set = consts(settings({ wakeupBytes: 0, flows: false, dnsCapture: true, snaplen: 96 }));
  assert.equal(set.exclude_tgid?.readUInt32LE(), 4242);
  assert.equal(set.wakeup_bytes?.readUInt32LE(), 0);
  assert.deepEqual([...(set.count_flows ?? [])], [0]);
  assert.deepEqual([...(set.capture_dns ?? [])], [1]);
  assert.deepEqual([...(set.blocklist ?? [])], [0]);
  assert.equal(set.capture_mode?.readUInt32LE(), CaptureMode.off);
  assert.equal(set.capture_snaplen?.readUInt32LE(), 96);
  assert.equal(set.capture_filter, undefined, 'without a filter the object keeps its own (zeros)');
});

test('ring and table sizes come from the options; unused ones shrink', () => {
  const plain = sizes(settings({ eventsRingBytes: 1 << 20, dnsRingBytes: 1 << 16, flowTableSize: 1234 }));
  assert.deepEqual([plain.events, plain.dns_events, plain.flows, plain.flow_cache], [1 << 20, 1 << 16, 1234, FLOW_CACHE_SLOTS]);
  assert.equal(sizes(settings({ flows: false })).flow_cache, 1, 'no flow counting: one slot');
  assert.equal(plain.packets, PAGE_BYTES, 'no capture: a page');
  assert.deepEqual([plain.blocked_v4, plain.blocked_v6, plain.block_counters], [1, 1, 1], 'no blocklist: one entry each');
  const busy = sizes(settings({ capture: { mode: 'all', filter: null }, blocklist: true }));
  assert.equal(busy.packets, PACKETS_BYTES);
  assert.equal(busy.blocked_v4, BLOCKLIST_MAX);
  assert.equal(sizes(settings({ capture: { mode: 'all', filter: null }, captureRingBytes: 1 << 22, blocklist: true, blocklistSize: 16 })).block_counters, 16);
});

test('a filter capture needs its encoded filter, and sets it', () => {
  assert.throws(() => settings({ capture: { mode: 'filter', filter: null } }), /capture\.filter/);
  const filter = Buffer.alloc(8, 7);
  assert.equal(consts(settings({ capture: { mode: 'filter', filter } })).capture_filter, filter);
});

test('the LRU tables hold the live entries the options ask for, plus what the kernel keeps free per CPU', () => {
  const slack = LRU_FREE_PER_CPU * 4;
  const asked = sizes(settings({ socketTableSize: 1000, lookupTableSize: 10, connectTableSize: 1 }));
  assert.deepEqual([asked.sockets, asked.lookups, asked.connecting], [1000 + slack, 10 + slack, 1 + slack]);
  const defaults = sizes(settings());
  assert.deepEqual([defaults.sockets, defaults.lookups, defaults.connecting], [SOCKETS_MAX + slack, LOOKUPS_MAX + slack, CONNECTING_MAX + slack]);
});

test('server names get a ring of their own; off, or without flow_tc and the socket hooks, it shrinks to a page and flow_tc copies none', () => {
  const on = settings({ interfaces: ['eth0'] });
  assert.equal(sizes(on).payload_events, PAYLOAD_EVENTS_BYTES);
  assert.deepEqual([...(consts(on).capture_names ?? [])], [1]);
  assert.equal(sizes(settings({ interfaces: ['eth0'], payloadRingBytes: 1 << 16 })).payload_events, 1 << 16);
  assert.equal(sizes(settings({ interfaces: [] })).payload_events, PAYLOAD_EVENTS_BYTES, 'the socket hooks copy QUIC Initials');
  for (const off of [settings({ interfaces: ['eth0'], serverNames: false }), settings({ interfaces: [], socketHooks: false })]) {
    assert.equal(sizes(off).payload_events, PAGE_BYTES);
    assert.deepEqual([...(consts(off).capture_names ?? [])], [0]);
  }
  assert.equal(sizes(on).dns_events, DEFAULT_TRACER_OPTIONS.dnsRingBytes, 'the DNS ring keeps its own size');
});
