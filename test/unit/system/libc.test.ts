import { test } from 'node:test';
import assert from 'node:assert/strict';
import { libcPathsFromMaps, libcTargets, systemLibc } from '../../../src/system/libc.js';

const MAPS = `55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 123 /usr/bin/node
7f1e2c000000-7f1e2c028000 r--p 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2c028000-7f1e2c1bd000 r-xp 00028000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2d000000-7f1e2d001000 r--p 00000000 fe:01 789 /usr/lib/x86_64-linux-gnu/libcrypto.so.3
7f1e2e000000-7f1e2e001000 rw-p 00000000 00:00 0 [heap]
7f1e2f000000-7f1e2f001000 r-xp 00000000 fe:01 999 /lib/ld-musl-x86_64.so.1
`;

test('libc files are found in a maps listing, each once, libcrypto and heap ignored', () => {
  assert.deepEqual(libcPathsFromMaps(MAPS), ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/ld-musl-x86_64.so.1']);
});

test('the system libc is the one this process has mapped', () => {
  const path = systemLibc();
  assert.ok(path, 'a libc is found');
  assert.match(path, /libc/);
});

test('--libc adds a file once, and a missing file is a clear error', () => {
  const system = systemLibc() as string;
  assert.deepEqual(libcTargets([system], false), [system]);
  assert.deepEqual(libcTargets([system], true), [system]);
  assert.deepEqual(libcTargets([], true), []);
  assert.throws(() => libcTargets(['/nonexistent/libc.so.6'], false), /--libc \/nonexistent\/libc.so.6: no such file/);
});
