import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LibcRegistry, describeLibc, libcSummaryLines, type LibcFile } from '../../../src/system/libc-registry.js';

const SYSTEM: Omit<LibcFile, 'pids'> = {
  key: 'fe:01:456',
  path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  openPath: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  origin: 'system',
  deleted: false,
  firstPid: null,
  firstComm: null,
  container: null,
  foreignRoot: false,
  attached: false,
  error: null,
  untracedMs: null,
};

const CONTAINER: Omit<LibcFile, 'pids'> = {
  ...SYSTEM,
  key: '00:2a:1001',
  path: '/lib/ld-musl-x86_64.so.1',
  openPath: '/proc/31337/root/lib/ld-musl-x86_64.so.1',
  origin: 'discovered',
  firstPid: 31337,
  firstComm: 'nginx',
  container: 'docker:0123456789ab',
  foreignRoot: true,
};

test('a file is registered once by its identity, and processes are counted per file', () => {
  const registry = new LibcRegistry();
  assert.equal(registry.add(SYSTEM), true);
  assert.equal(registry.add({ ...SYSTEM, path: '/lib/x86_64-linux-gnu/libc.so.6' }), false, 'same key, other path');
  registry.add(CONTAINER);
  registry.settle(SYSTEM.key, null);
  registry.settle(CONTAINER.key, 'attachUprobe: ENOENT');
  registry.setPidFiles(1, [SYSTEM.key]);
  registry.setPidFiles(2, [SYSTEM.key, 'ff:ff:1' /* unknown: ignored */]);
  registry.setPidFiles(31337, [CONTAINER.key]);
  registry.setPidFiles(2, [SYSTEM.key]); // read again: not counted twice
  let files = registry.list();
  assert.deepEqual(
    files.map((f) => [f.path, f.pids, f.attached, f.error]),
    [
      ['/usr/lib/x86_64-linux-gnu/libc.so.6', 2, true, null],
      ['/lib/ld-musl-x86_64.so.1', 1, false, 'attachUprobe: ENOENT'],
    ],
  );
  registry.forgetPid(2);
  registry.forgetPid(31337);
  registry.forgetPid(999); // never seen
  files = registry.list();
  assert.deepEqual(
    files.map((f) => f.pids),
    [1, 0],
  );
  assert.deepEqual([...registry.trackedPids()], [1]);
});

test("the summary lists each file with its processes, where a container's came from, and failures", () => {
  const files: LibcFile[] = [
    { ...SYSTEM, attached: true, pids: 57 },
    { ...CONTAINER, attached: false, error: 'no getaddrinfo symbol', pids: 3 },
    {
      ...SYSTEM,
      key: 'fe:01:9',
      path: '/tmp/copy/libc.so.6',
      openPath: '/tmp/copy/libc.so.6',
      origin: 'discovered',
      firstPid: 77,
      firstComm: 'python3',
      attached: true,
      untracedMs: 120.4,
      pids: 1,
    },
  ];
  assert.equal(describeLibc(files[0] as LibcFile), '/usr/lib/x86_64-linux-gnu/libc.so.6 (system, 57 pids)');
  assert.equal(
    describeLibc(files[1] as LibcFile),
    '/lib/ld-musl-x86_64.so.1 (3 pids, from pid 31337 nginx, container docker:0123456789ab, not attached: no getaddrinfo symbol)',
  );
  assert.equal(describeLibc(files[2] as LibcFile), '/tmp/copy/libc.so.6 (1 pid, attached 120 ms after its process started)');
  const lines = libcSummaryLines(files, { scans: 10, vanished: 2, unreadable: 0, unreadableSample: [], backlog: 0 });
  assert.deepEqual(
    lines.map((line) => [line.health, line.text.replace(/:.*/, '')]),
    [
      ['ok', 'getaddrinfo traced in 2 files'],
      ['problem', 'getaddrinfo NOT traced in 1 file, their lookups are not seen'],
      ['note', '1 file was found after a process that maps it started'],
    ],
  );
  assert.match(lines[0]?.text ?? '', /\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6 \(system, 57 pids\); \/tmp\/copy\/libc\.so\.6 \(1 pid, attached 120 ms/);
  assert.match(lines[1]?.text ?? '', /ld-musl-x86_64\.so\.1 \(.*not attached: no getaddrinfo symbol\)/);
  assert.equal(describeLibc({ ...SYSTEM, origin: 'option', pids: 0 }), '/usr/lib/x86_64-linux-gnu/libc.so.6 (--libc)');
});

test('a healthy libc summary is one ok line; processes exited before their maps were read are no news', () => {
  const lines = libcSummaryLines([{ ...SYSTEM, attached: true, pids: 4 }], { scans: 80, vanished: 3, unreadable: 0, unreadableSample: [], backlog: 0 });
  assert.deepEqual(lines, [{ health: 'ok', topic: 'libc', text: 'getaddrinfo traced in 1 file: /usr/lib/x86_64-linux-gnu/libc.so.6 (system, 4 pids)' }]);
});

test('unreadable maps are a note that names the processes and what it means', () => {
  const lines = libcSummaryLines([{ ...SYSTEM, attached: true, pids: 4 }], {
    scans: 80,
    vanished: 0,
    unreadable: 1,
    unreadableSample: ['pid 1 init: EACCES'],
    backlog: 0,
  });
  assert.equal(lines[1]?.health, 'note');
  assert.equal(lines[1]?.text, 'could not read the memory maps of pid 1 init: EACCES: a libc that only such a process maps is not traced');
});
