import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIFECYCLE_HOOKS, planAttach } from '../../../src/kernel/attach-plan.js';
import { BLOCKLIST_MAX } from '../../../src/kernel/layout.js';
import { DEFAULT_TRACER_OPTIONS, type TracerOptions } from '../../../src/kernel/tracer-options.js';

const plan = (overrides: Partial<TracerOptions> = {}) => planAttach({ ...DEFAULT_TRACER_OPTIONS, ...overrides });

test('the lifecycle hooks are attached in every plan, all raw tracepoints', () => {
  assert.deepEqual(plan().lifecycle, LIFECYCLE_HOOKS);
  assert.deepEqual(
    LIFECYCLE_HOOKS.map((hook) => `${hook.program}:${hook.name}`),
    ['sock_state:inet_sock_set_state', 'tcp_retransmit:tcp_retransmit_skb', 'sock_destroy:tcp_destroy_sock'],
  );
});

test('without interfaces, or with nothing for them to do, no packet program attaches', () => {
  assert.equal(plan().packets, null);
  assert.equal(plan({ interfaces: ['eth0'], flows: false, dnsCapture: false }).packets, null);
  assert.deepEqual(plan({ interfaces: ['eth0', 'lo'] }).packets, { interfaces: ['eth0', 'lo'], xdpMode: 'auto' });
  assert.equal(plan({ interfaces: ['eth0'], xdpMode: 'generic' }).packets?.xdpMode, 'generic');
});

test('prefixes to block imply the blocklist, sized HF_BLOCKLIST_MAX unless told', () => {
  assert.equal(plan().blocklist, null);
  assert.deepEqual(plan({ block: ['10.0.0.0/8'] }).blocklist, { size: BLOCKLIST_MAX, block: ['10.0.0.0/8'] });
  assert.deepEqual(plan({ blocklist: true, blocklistSize: 8 }).blocklist, { size: 8, block: [] });
});

test('the libc files and discovery pass through as given', () => {
  assert.deepEqual(plan({ libcs: ['/lib/libc.so.6'], libcDiscovery: true, libcScanMs: 100 }).libcs, {
    files: ['/lib/libc.so.6'],
    discovery: true,
    scanMs: 100,
  });
  assert.equal(plan().libcs.discovery, false);
});
