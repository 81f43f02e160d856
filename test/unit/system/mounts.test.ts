import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountPoints } from '../../../src/system/mounts.js';

const MOUNTS = `sysfs /sys sysfs rw,nosuid 0 0
nodev /sys/kernel/tracing tracefs rw,relatime 0 0
debugfs /sys/kernel/debug debugfs rw 0 0
bpf /sys/fs/bpf bpf rw,mode=700 0 0
`;

test('mount points are read by filesystem type', () => {
  assert.deepEqual(mountPoints(MOUNTS, 'tracefs'), ['/sys/kernel/tracing']);
  assert.deepEqual(mountPoints(MOUNTS, 'bpf'), ['/sys/fs/bpf']);
  assert.deepEqual(mountPoints(MOUNTS, 'cgroup2'), []);
});
