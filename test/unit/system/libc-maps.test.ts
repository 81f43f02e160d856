import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLibcPath, libcMappings, openPathCandidates, parseMapsLine, pidsOf, startTicks, statKey } from '../../../src/system/libc-maps.js';

const GLIBC = `55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 123                        /usr/bin/python3.11
7f1e2c000000-7f1e2c028000 r--p 00000000 fe:01 456                        /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 456                        /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2d000000-7f1e2d001000 r--p 00000000 fe:01 789                        /usr/lib/x86_64-linux-gnu/libcrypto.so.3
7f1e2e000000-7f1e2e001000 rw-p 00000000 00:00 0                          [heap]
7ffd1a000000-7ffd1a002000 r-xp 00000000 00:00 0                          [vdso]
7f1e2f000000-7f1e2f001000 rw-p 00000000 00:00 0 
`;

test('a glibc process maps one libc, each file once; libcrypto, the heap and anonymous maps are not libc', () => {
  const found = libcMappings(GLIBC);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0], {
    range: '7f1e2c000000-7f1e2c028000',
    perms: 'r--p',
    device: 'fe:01',
    inode: 456,
    path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
    deleted: false,
    key: 'fe:01:456',
  });
});

test('musl is found by its loader name (Alpine) and its libc.so (Debian musl)', () => {
  const maps = [
    '7f0000000000-7f0000014000 r--p 00000000 00:2a 1001 /lib/ld-musl-x86_64.so.1',
    '7f0000014000-7f0000060000 r-xp 00014000 00:2a 1001 /lib/ld-musl-x86_64.so.1',
    '7f1000000000-7f1000014000 r-xp 00000000 fe:01 2002 /usr/lib/x86_64-linux-musl/libc.so',
  ].join('\n');
  assert.deepEqual(
    libcMappings(maps).map((m) => [m.path, m.key]),
    [
      ['/lib/ld-musl-x86_64.so.1', '00:2a:1001'],
      ['/usr/lib/x86_64-linux-musl/libc.so', 'fe:01:2002'],
    ],
  );
  assert.ok(isLibcPath('/lib/libc.musl-x86_64.so.1'));
  assert.ok(isLibcPath('/lib/x86_64-linux-gnu/libc-2.31.so'));
  assert.ok(!isLibcPath('/usr/lib/libcurl.so.4'));
  assert.ok(!isLibcPath('/usr/lib/x86_64-linux-gnu/libc.so.6.bak'));
});

test('a libc deleted after it was mapped is marked and opened through map_files', () => {
  const line = '7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 456                        /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)';
  const [mapping] = libcMappings(line);
  assert.ok(mapping);
  assert.equal(mapping.path, '/usr/lib/x86_64-linux-gnu/libc.so.6');
  assert.equal(mapping.deleted, true);
  assert.deepEqual(openPathCandidates(4242, mapping, true), ['/proc/4242/map_files/7f1e2c028000-7f1e2c1bd000']);
});

test("paths with spaces (and the kernel's escaped newline) are kept whole", () => {
  const line = '7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 457   /opt/my app/lib dir/libc.so.6';
  const mapping = parseMapsLine(line);
  assert.equal(mapping?.path, '/opt/my app/lib dir/libc.so.6');
  assert.equal(libcMappings(line)[0]?.path, '/opt/my app/lib dir/libc.so.6');
  assert.equal(parseMapsLine('7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 458 /tmp/a\\012b/libc.so.6')?.path, '/tmp/a\nb/libc.so.6');
  const deletedWithSpace = libcMappings('7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 459 /opt/my app/libc.so.6 (deleted)')[0];
  assert.equal(deletedWithSpace?.path, '/opt/my app/libc.so.6');
  assert.equal(deletedWithSpace?.deleted, true);
});

test('a process in another mount namespace (a container) is tried through /proc/<pid>/root first, one in ours by its path first', () => {
  const [mapping] = libcMappings('7f0000000000-7f0000014000 r-xp 00000000 00:2a 1001 /lib/ld-musl-x86_64.so.1');
  assert.ok(mapping);
  assert.deepEqual(openPathCandidates(31337, mapping, false), ['/proc/31337/root/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-x86_64.so.1']);
  // A chroot shares the mount namespace, and the kernel prints its files' full host paths.
  assert.deepEqual(openPathCandidates(31337, mapping, true), ['/lib/ld-musl-x86_64.so.1', '/proc/31337/root/lib/ld-musl-x86_64.so.1']);
});

test('one file is deduplicated by device and inode, not by path; two copies at one path are two files', () => {
  const maps = [
    // The same file seen at two paths (a bind mount, a symlinked directory).
    '7f0000000000-7f0000001000 r-xp 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6',
    '7f0000001000-7f0000002000 r-xp 00000000 fe:01 456 /lib/x86_64-linux-gnu/libc.so.6',
    // Another file at the same path on another device (a second copy).
    '7f0000002000-7f0000003000 r-xp 00000000 00:31 456 /usr/lib/x86_64-linux-gnu/libc.so.6',
  ].join('\n');
  assert.deepEqual(
    libcMappings(maps).map((m) => m.key),
    ['fe:01:456', '00:31:456'],
  );
});

test('malformed and truncated lines are skipped, never thrown on', () => {
  for (const line of ['', 'garbage', '7f00-7f01 r-xp', '7f00-7f01 r-xp 0 fe:01 x /lib/libc.so.6', '7f00-7f01 r-xp 0 fe:01 0 /lib/libc.so.6']) {
    assert.deepEqual(libcMappings(line), [], line);
  }
});

test('stat() device numbers become the maps identity', () => {
  // makedev(254, 1) and makedev(259, 2) as glibc encodes them.
  assert.equal(statKey({ dev: (254 << 8) | 1, ino: 456 }), 'fe:01:456');
  assert.equal(statKey({ dev: (259 << 8) | 2, ino: 7 }), '103:02:7');
  // A minor number above 255 uses the high bits.
  assert.equal(statKey({ dev: (0x12345 & 0xff) | (0 << 8) | ((0x12345 & ~0xff) << 12), ino: 1 }), '00:12345:1');
});

test('pids are the numeric names of /proc; the start time is read past a comm with spaces', () => {
  assert.deepEqual(pidsOf(['1', 'self', '42', 'net', '007x']), [1, 42]);
  const stat = '4242 (my (odd) comm) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200';
  assert.equal(startTicks(stat), 987654);
  assert.equal(startTicks('garbage'), null);
});
