import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitySet, checkPrivileges, privilegeWants } from '../../../src/system/capabilities.js';
import {
  CAPABILITY_NEEDS,
  capabilitiesToKeep,
  capabilityBit,
  capabilityNames,
  missingCapabilities,
  type CapabilityName,
  type PrivilegeWants,
} from '../../../src/system/capability-needs.js';
import { DEFAULT_TRACER_OPTIONS } from '../../../src/kernel/tracer.js';

const ROOT = 0x1ffffffffffn;
const maskOf = (...names: CapabilityName[]) => names.reduce((mask, name) => mask | capabilityBit(name), 0n);
/** The default run: interfaces traced, socket hooks, the system libc with discovery. */
const DEFAULT_RUN: PrivilegeWants = { packets: true, socketHooks: true, cgroup2Mount: false, getaddrinfo: true, libcDiscovery: true };
const DOCUMENTED = maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE');

test('a capability line of /proc/<pid>/status is read as a mask', () => {
  const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t000000c000001000\nCapEff:\t000001ffffffffff\n';
  assert.equal(capabilitySet(status), ROOT);
  assert.equal(capabilitySet(status, 'CapPrm'), maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'));
  assert.equal(capabilitySet('Name:\tnode\n'), 0n);
});

test("root's full set and the documented set lack nothing", () => {
  assert.deepEqual(missingCapabilities(DEFAULT_RUN, ROOT), []);
  assert.deepEqual(missingCapabilities(DEFAULT_RUN, DOCUMENTED), []);
});

test('an unprivileged process gets one line per missing capability, each naming the features that need it', () => {
  const missing = missingCapabilities(DEFAULT_RUN, 0n);
  assert.deepEqual(
    missing.map((entry) => entry.capability),
    ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'],
  );
  const line = (name: CapabilityName) => missing.find((entry) => entry.capability === name)?.line ?? '';
  assert.match(line('CAP_BPF'), /^missing CAP_BPF: needed for loading the BPF programs/);
  assert.match(line('CAP_NET_ADMIN'), /XDP and TC on the traced interfaces.*; the cgroup socket hooks/);
  for (const entry of missing) assert.ok(!entry.line.includes('\n'), 'one line');
});

test('CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (with interfaces) stop the start; the others only turn a feature off and say which', () => {
  const { fatal, degraded } = checkPrivileges(DEFAULT_RUN, maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'));
  assert.deepEqual(fatal, []);
  assert.deepEqual(
    degraded.map((entry) => entry.capability),
    ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'],
  );
  assert.match(degraded[0]?.line ?? '', /getaddrinfo uprobes.*without it lookups are named from DNS messages only/);
  assert.match(degraded[1]?.line ?? '', /CAP_SYS_PTRACE.*their exe is null/);
  assert.deepEqual(
    checkPrivileges(DEFAULT_RUN, maskOf('CAP_BPF', 'CAP_PERFMON')).fatal.map((entry) => entry.capability),
    ['CAP_NET_ADMIN'],
  );
});

test('without interfaces CAP_NET_ADMIN only turns the socket hooks off', () => {
  const wants = { ...DEFAULT_RUN, packets: false };
  const [netAdmin] = checkPrivileges(wants, maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE')).degraded;
  assert.equal(netAdmin?.capability, 'CAP_NET_ADMIN');
  assert.match(netAdmin?.line ?? '', /without it DNS only at traced interfaces, no UDP conversations/);
});

test('CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as the kernel accepts it there', () => {
  assert.deepEqual(missingCapabilities(DEFAULT_RUN, maskOf('CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE')), []);
});

test('mounting cgroup2 is wanted only where this mount namespace has none', () => {
  const held = maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE');
  const noGetaddrinfo = { ...DEFAULT_RUN, getaddrinfo: false, libcDiscovery: false };
  assert.deepEqual(missingCapabilities(noGetaddrinfo, held), []);
  const [line] = missingCapabilities({ ...noGetaddrinfo, cgroup2Mount: true }, held);
  assert.match(line?.line ?? '', /mounting cgroup2 in this mount namespace.*no socket hooks/);
});

test('after start only what running uses is kept: map access, late libc attaches, /proc reads, interfaces coming back', () => {
  assert.deepEqual(capabilityNames(capabilitiesToKeep(DEFAULT_RUN, ROOT)), ['CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_ADMIN', 'CAP_PERFMON', 'CAP_BPF']);
  // Without libc discovery nothing attaches later: CAP_SYS_ADMIN and CAP_PERFMON go.
  const noDiscovery = { ...DEFAULT_RUN, libcDiscovery: false };
  assert.deepEqual(capabilityNames(capabilitiesToKeep(noDiscovery, ROOT)), ['CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_BPF']);
  // No interfaces: CAP_NET_ADMIN goes too.
  assert.deepEqual(capabilityNames(capabilitiesToKeep({ ...noDiscovery, packets: false }, ROOT)), ['CAP_SYS_PTRACE', 'CAP_BPF']);
  // Nothing is kept that the process does not hold.
  assert.deepEqual(capabilityNames(capabilitiesToKeep(DEFAULT_RUN, maskOf('CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'))), [
    'CAP_NET_ADMIN',
    'CAP_PERFMON',
    'CAP_BPF',
  ]);
  // CAP_BPF held through CAP_SYS_ADMIN only (kernels before 5.8): that one is kept.
  assert.deepEqual(capabilityNames(capabilitiesToKeep({ ...noDiscovery, packets: false }, maskOf('CAP_SYS_ADMIN'))), ['CAP_SYS_ADMIN']);
});

test('every need names a feature, and what is off when it degrades', () => {
  for (const need of CAPABILITY_NEEDS) {
    assert.ok(need.feature.length > 0);
    assert.ok(need.degrades === null || need.degrades.length > 0);
  }
});

test('the wants of a tracer follow its options and the mounts of this process', () => {
  const mountinfo = '30 25 0:26 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n';
  const options = { ...DEFAULT_TRACER_OPTIONS, interfaces: ['lo'], flows: true, libcs: ['/lib/libc.so.6'], libcDiscovery: true };
  assert.deepEqual(privilegeWants(options, mountinfo), DEFAULT_RUN);
  assert.equal(privilegeWants({ ...options, interfaces: [] }, mountinfo).packets, false);
  assert.equal(privilegeWants(options, '').cgroup2Mount, true);
  assert.equal(privilegeWants({ ...options, libcs: [], libcDiscovery: false }, mountinfo).getaddrinfo, false);
});
