/**
 * The tracker against this machine's real /proc, with a recording attach
 * (no kernel, no root: processes whose maps cannot be read are counted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { libcMappings } from '../../../src/system/libc-maps.js';
import { LibcTracker } from '../../../src/system/libc-tracker.js';
import { systemLibc } from '../../../src/system/libc.js';
import { waitFor } from '../../helpers/fake-terminal.js';

/** True once the child runs `sleep` and its loader has mapped a libc. */
function mapsLibc(child: ChildProcess): boolean {
  try {
    const pid = child.pid as number;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' && libcMappings(readFileSync(`/proc/${pid}/maps`, 'utf8')).length > 0;
  } catch {
    return false;
  }
}

/** Waits until every child runs `sleep` with its libc mapped. */
async function started(...children: ChildProcess[]): Promise<void> {
  await waitFor(
    () => children.every(mapsLibc),
    () => `sleep (pids ${children.map((child) => child.pid).join(', ')}) never mapped a libc`,
    5000,
  );
}

test('the system libc that many processes map is attached once, and counted per process', () => {
  const attached: string[] = [];
  const tracker = new LibcTracker({ attach: (path) => attached.push(path) });
  const system = systemLibc() as string;
  tracker.addFile(system, 'system');
  tracker.scanAll();
  assert.equal(attached.filter((path) => path === system).length, 1, `attached: ${attached.join(', ')}`);
  assert.equal(new Set(attached).size, attached.length, 'no file attached twice');
  const file = tracker.files().find((f) => f.openPath === system);
  assert.ok(file && file.pids >= 1, 'this process maps it');
  assert.ok(tracker.stats.scans >= 1);
});

test('an attach failure is one warning and a failed file, never a throw', () => {
  const warnings: string[] = [];
  const tracker = new LibcTracker({
    attach: () => {
      throw new Error('attachUprobe(getaddrinfo_entry): no such symbol\nmore detail');
    },
    warn: (line) => warnings.push(line),
  });
  tracker.addFile(systemLibc() as string, 'system');
  tracker.addFile('/nonexistent/libc.so.6');
  assert.equal(warnings.length, 2);
  assert.match(warnings[0] as string, /getaddrinfo not traced: attachUprobe\(getaddrinfo_entry\): no such symbol$/);
  assert.match(warnings[1] as string, /^libc \/nonexistent\/libc.so.6: .*ENOENT/);
  assert.deepEqual(
    tracker.files().map((f) => [f.attached, f.error !== null]),
    [[false, true]],
  );
});

test('a process started after the first scan is read within a tick and again at the next, then forgotten when it exits', async () => {
  const tracker = new LibcTracker({ attach: () => {}, maxScansPerTick: 10_000 });
  tracker.addFile(systemLibc() as string, 'system');
  tracker.scanAll();
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  const tracked = () => [...tracker.registry.trackedPids()].includes(child.pid as number);
  try {
    await started(child);
    // (Nothing reads maps between scanAll and a tick: the tick is what finds it.)
    const before = tracker.stats.scans;
    tracker.tick();
    assert.ok(tracker.stats.scans > before, 'the tick read the maps of new processes');
    assert.equal(tracked(), true, 'sleep maps the system libc');
    const scans = tracker.stats.scans;
    tracker.tick();
    assert.ok(tracker.stats.scans > scans, 'read again one tick later');
    assert.equal(tracked(), true);
  } finally {
    child.kill();
    await once(child, 'exit');
  }
  tracker.tick();
  assert.equal(tracked(), false, 'forgotten after it exited');
});

test('at most maxScansPerTick maps are read per tick; the rest wait', async () => {
  const tracker = new LibcTracker({ attach: () => {}, maxScansPerTick: 1 });
  tracker.scanAll();
  const children = [0, 1, 2].map(() => spawn('sleep', ['5'], { stdio: 'ignore' }));
  try {
    await started(...children);
    const scans = tracker.stats.scans;
    tracker.tick();
    assert.equal(tracker.stats.scans - scans, 1);
    assert.ok(tracker.stats.backlog >= 2, `backlog ${tracker.stats.backlog}`);
  } finally {
    for (const child of children) child.kill();
    await Promise.all(children.map((child) => once(child, 'exit')));
  }
});
