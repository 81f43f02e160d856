import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CGROUP2_REMOUNT, cgroup2Root, describeSocketHooks, findCgroup2Root } from '../../../src/kernel/socket-hooks.js';

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

test("under ip netns exec, which hides /sys's cgroup mounts, cgroup2 is mounted again in that mount namespace only", () => {
  const mounted: string[] = [];
  const system = (own: string, init: string, mountError: string | null = null) => ({
    read: (path: string) => (path === '/proc/self/mountinfo' ? own : init),
    mount: (target: string) => {
      mounted.push(target);
      return mountError;
    },
  });
  const sysOnly = '22 1 0:21 / /sys rw - sysfs sysfs rw';
  assert.deepEqual(findCgroup2Root(system(HYBRID, HYBRID)), { cgroup: '/sys/fs/cgroup/unified', reason: null });
  assert.deepEqual(findCgroup2Root(system(sysOnly, HYBRID)), { cgroup: CGROUP2_REMOUNT, reason: null });
  assert.deepEqual(mounted, [CGROUP2_REMOUNT]);
  assert.match(findCgroup2Root(system(sysOnly, HYBRID, 'EPERM')).reason ?? '', /outside this mount namespace only, and mounting it here failed: EPERM/);
  const host = findCgroup2Root(system(sysOnly, sysOnly));
  assert.equal(host.cgroup, null, 'nothing is mounted where init has no cgroup2 either');
  assert.match(host.reason ?? '', /^no cgroup2 file system is mounted/);
  assert.equal(mounted.length, 2);
});

test('the socket hooks are described in one line, attached or not', () => {
  assert.equal(
    describeSocketHooks({ attached: true, cgroup: '/sys/fs/cgroup/unified', reason: null }),
    'socket hooks: cgroup2 root /sys/fs/cgroup/unified (DNS and UDP with their process)',
  );
  assert.match(describeSocketHooks({ attached: false, cgroup: null, reason: 'turned off' }), /^socket hooks: off, turned off \(/);
});
