import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2Root, describeSocketHooks } from '../../../src/kernel/socket-hooks.js';

const HYBRID = [
  '22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '26 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '27 26 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '28 26 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

test('the cgroup2 root is found in mountinfo: hybrid, unified, or only a subtree', () => {
  assert.equal(cgroup2Root(HYBRID), '/sys/fs/cgroup/unified');
  assert.equal(cgroup2Root('30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw'), '/sys/fs/cgroup');
  const subtree = '40 22 0:26 /system.slice/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
  assert.equal(cgroup2Root(`${subtree}\n41 22 0:26 / /mnt/cg\\040root rw - cgroup2 cgroup2 rw`), '/mnt/cg root', 'the root mount wins, its path unescaped');
  assert.equal(cgroup2Root(subtree), '/sys/fs/cgroup', 'a subtree when nothing else is mounted');
  assert.equal(cgroup2Root(HYBRID.replace(/cgroup2/g, 'cgroup')), null);
});

test('the socket hooks are described in one line, attached or not', () => {
  assert.equal(
    describeSocketHooks({ attached: true, cgroup: '/sys/fs/cgroup/unified', reason: null }),
    'socket hooks: cgroup2 root /sys/fs/cgroup/unified (DNS and UDP with their process)',
  );
  assert.match(describeSocketHooks({ attached: false, cgroup: null, reason: 'turned off' }), /^socket hooks: off, turned off \(/);
});
