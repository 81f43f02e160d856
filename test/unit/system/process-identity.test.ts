import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ProcessIdentities, type ProcessIdentitiesOptions } from '../../../src/system/process-identity.js';
import { parseProcStat } from '../../../src/system/proc-stat.js';
import { ticksToStartNs } from '../../../src/system/start-ticks.js';

interface FakeProcess {
  comm: string;
  ppid: number;
  startTicks: number;
  exe?: string;
  cmdline?: string;
  /** tid -> the thread's comm */
  threads?: Record<number, string>;
}

const statLine = (pid: number, { comm, ppid, startTicks }: FakeProcess) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${startTicks} 3133440 408 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

/** A temp dir laid out as /proc: <pid>/stat, <pid>/exe (a symlink), <pid>/cmdline, <pid>/comm, <pid>/task/<tid>/comm. */
function fakeProc(t: TestContext) {
  const root = mkdtempSync(join(tmpdir(), 'hostflow-proc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = (pid: number) => join(root, String(pid));
  return {
    root,
    /** Starts a process at `pid` (replacing whatever ran there). */
    run(pid: number, process: FakeProcess) {
      rmSync(dir(pid), { recursive: true, force: true });
      mkdirSync(join(dir(pid), 'task', String(pid)), { recursive: true });
      writeFileSync(join(dir(pid), 'stat'), statLine(pid, process));
      writeFileSync(join(dir(pid), 'comm'), `${process.comm}\n`);
      writeFileSync(join(dir(pid), 'task', String(pid), 'comm'), `${process.comm}\n`);
      if (process.exe !== undefined) symlinkSync(process.exe, join(dir(pid), 'exe'));
      writeFileSync(join(dir(pid), 'cmdline'), process.cmdline ?? '');
      for (const [tid, comm] of Object.entries(process.threads ?? {})) {
        mkdirSync(join(dir(pid), 'task', tid), { recursive: true });
        writeFileSync(join(dir(pid), 'task', tid, 'comm'), `${comm}\n`);
      }
    },
    exit(pid: number) {
      rmSync(dir(pid), { recursive: true, force: true });
    },
    write(pid: number, file: string, content: string | Buffer) {
      mkdirSync(dir(pid), { recursive: true });
      writeFileSync(join(dir(pid), file), content);
    },
    mkdir(pid: number, file: string) {
      mkdirSync(join(dir(pid), file), { recursive: true });
    },
  };
}

const identities = (root: string, options: ProcessIdentitiesOptions = {}) => new ProcessIdentities({ procRoot: root, ...options });

const CURL: FakeProcess = { comm: 'curl', ppid: 77, startTicks: 123_456, exe: '/usr/bin/curl', cmdline: 'curl\0-s\0https://example.com/\0' };
/** The event of CURL at pid 100 as the kernel sends it. */
const curlEvent = { pid: 100, comm: 'curl', ppid: 77, startNs: ticksToStartNs(123_456) + 4_321_000 };
const NOTHING = { exe: null, cmdline: null };

test('a process whose start time and comm agree with the event is read: exe, command line, parent', (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  const ids = identities(proc.root, { cmdline: true });
  const expected = { ppid: 77, exe: '/usr/bin/curl', cmdline: 'curl -s https://example.com/' };
  assert.deepEqual(ids.identify(curlEvent), expected);
  assert.deepEqual(ids.identify(curlEvent), expected);
  assert.deepEqual(ids.stats, { cached: 1, read: 1, refused: 0, gone: 0, unknown: 0, exeDenied: 0 });
});

test("the kernel's parent wins; /proc's stands in when the kernel's is 0", (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  const ids = identities(proc.root);
  assert.equal(ids.identify({ ...curlEvent, ppid: 5 }).ppid, 5, 'reparented since /proc was read');
  assert.equal(ids.identify({ ...curlEvent, ppid: 0 }).ppid, 77);
});

test('the command line is not read unless asked', (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  assert.deepEqual(identities(proc.root).identify(curlEvent), { ppid: 77, exe: '/usr/bin/curl', cmdline: null });
});

test('a reused pid (another start time) lends nothing: not its exe, not its command line, not its parent', (t) => {
  const proc = fakeProc(t);
  proc.run(100, { ...CURL, startTicks: 123_457, ppid: 99, exe: '/usr/bin/other', cmdline: 'other\0--secret\0' });
  const ids = identities(proc.root, { cmdline: true });
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING });
  assert.deepEqual(ids.identify({ ...curlEvent, ppid: 0 }), { ppid: null, ...NOTHING });
  // One tick early is another process as well.
  proc.run(100, { ...CURL, startTicks: 123_455 });
  assert.deepEqual(identities(proc.root).identify(curlEvent), { ppid: 77, ...NOTHING });
  assert.equal(ids.stats.refused, 1);
  assert.equal(ids.stats.read, 0);
});

test('a process that exec’d since (another comm) lends nothing; its renamed thread is still itself', (t) => {
  const proc = fakeProc(t);
  proc.run(100, { ...CURL, comm: 'sh', exe: '/bin/sh' });
  const ids = identities(proc.root);
  assert.deepEqual(ids.identify({ ...curlEvent, tid: 101 }), { ppid: 77, ...NOTHING }, 'no such thread: exec ended it');
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING }, 'a refusal is remembered for its pid, start and comm');
  assert.deepEqual(ids.stats, { cached: 1, read: 0, refused: 1, gone: 0, unknown: 0, exeDenied: 0 });

  proc.run(200, { comm: 'firefox', ppid: 1, startTicks: 500, exe: '/usr/lib/firefox/firefox', threads: { 201: 'DNS Resolver #1' } });
  const resolver = { pid: 200, tid: 201, comm: 'DNS Resolver #1', ppid: 1, startNs: ticksToStartNs(500) };
  assert.equal(ids.identify(resolver).exe, '/usr/lib/firefox/firefox');
  assert.equal(ids.identify({ ...resolver, tid: 202 }).exe, '/usr/lib/firefox/firefox', 'cached by comm: the same process');
  assert.equal(ids.identify({ ...resolver, comm: 'Socket Thread', tid: 202 }).exe, null, 'a thread of no such name');
  assert.equal(ids.identify({ ...resolver, comm: 'DNS Resolver #1', tid: 200 }).exe, '/usr/lib/firefox/firefox', 'cached');
});

test('a process gone before it was read is counted, and lends nothing', (t) => {
  const proc = fakeProc(t);
  const ids = identities(proc.root, { cmdline: true });
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING });
  assert.deepEqual(ids.stats, { cached: 0, read: 0, refused: 0, gone: 1, unknown: 0, exeDenied: 0 });
});

test('startNs 0: a process running at the snapshot is itself by its snapshot start time; any other pid is unknown', (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  proc.run(300, { comm: 'sshd', ppid: 1, startTicks: 900, exe: '/usr/sbin/sshd', cmdline: 'sshd: /usr/sbin/sshd -D\0' });
  const ids = identities(proc.root, { cmdline: true });
  const sshd = { pid: 300, comm: 'sshd', ppid: 0, startNs: 0 };
  assert.deepEqual(ids.identify(sshd), { ppid: null, ...NOTHING }, 'no snapshot yet');

  assert.equal(ids.snapshot(), 2);
  assert.deepEqual(ids.identify(sshd), { ppid: 1, exe: '/usr/sbin/sshd', cmdline: 'sshd: /usr/sbin/sshd -D' });
  assert.deepEqual(ids.identify({ ...sshd, comm: 'bash' }), { ppid: null, ...NOTHING }, 'another program');
  proc.run(400, { comm: 'late', ppid: 1, startTicks: 1000, exe: '/usr/bin/late' });
  assert.deepEqual(ids.identify({ pid: 400, comm: 'late', ppid: 1, startNs: 0 }), { ppid: 1, ...NOTHING }, 'started after the snapshot');
  assert.deepEqual(ids.stats, { cached: 0, read: 1, refused: 1, gone: 0, unknown: 2, exeDenied: 0 });
});

test('startNs 0: a pid that was running at the snapshot and reused since lends nothing', (t) => {
  const proc = fakeProc(t);
  proc.run(300, { comm: 'worker', ppid: 1, startTicks: 900, exe: '/usr/bin/worker', cmdline: 'worker\0--id=1\0' });
  const ids = identities(proc.root, { cmdline: true });
  ids.snapshot();
  // The worker exits; another worker, same program, gets its pid, unknown to the kernel's fork tracking.
  proc.run(300, { comm: 'worker', ppid: 1, startTicks: 5000, exe: '/usr/bin/worker', cmdline: 'worker\0--id=2\0' });
  assert.deepEqual(ids.identify({ pid: 300, comm: 'worker', ppid: 0, startNs: 0 }), { ppid: null, ...NOTHING });
  assert.equal(ids.stats.refused, 1);
  // The snapshot forgot the dead process: even the right start time cannot bring it back.
  proc.run(300, { comm: 'worker', ppid: 1, startTicks: 900, exe: '/usr/bin/worker' });
  assert.deepEqual(ids.identify({ pid: 300, comm: 'worker', ppid: 0, startNs: 0, tid: 301 }), { ppid: null, ...NOTHING }, 'cached no');
  assert.deepEqual(identities(proc.root).identify({ pid: 300, comm: 'worker', ppid: 0, startNs: 0 }).exe, null);
  ids.snapshot();
  assert.equal(ids.identify({ pid: 300, comm: 'worker', ppid: 0, startNs: 0 }).exe, '/usr/bin/worker', 'a new snapshot, a new cache');
});

/**
 * Makes <pid>/cmdline a FIFO whose writer, a separate process, runs `during`
 * (shell) once identify() has opened it: between identify's reads, as a
 * real exit and pid reuse could. Resolves when the writer has finished.
 *
 * identify() keeps <pid>/stat open and reads it again: in /proc that read
 * fails once the process has exited (ESRCH), even if the pid was reused;
 * here the same file rewritten in place stands in for both.
 */
function duringTheReads(root: string, pid: number, during: string): Promise<void> {
  const dir = join(root, String(pid));
  rmSync(join(dir, 'cmdline'));
  execFileSync('mkfifo', [join(dir, 'cmdline')]);
  const writer = spawn('sh', ['-c', `exec 3>cmdline; ${during}; printf 'curl\\0--secret\\0' >&3`], { cwd: dir, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    writer.on('error', reject);
    writer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

test('a process that exits during the reads, its pid taken by another, lends nothing', async (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  writeFileSync(join(proc.root, 'next-stat'), statLine(100, { ...CURL, startTicks: 999_999 }));
  const written = duringTheReads(proc.root, 100, 'cat ../next-stat > stat');
  const ids = identities(proc.root, { cmdline: true });
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING });
  await written;
  assert.deepEqual(ids.stats, { cached: 0, read: 0, refused: 1, gone: 0, unknown: 0, exeDenied: 0 });
});

test('a process that exits during the reads is gone, and lends nothing', async (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  const written = duringTheReads(proc.root, 100, ': > stat');
  const ids = identities(proc.root, { cmdline: true });
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING });
  await written;
  assert.deepEqual(ids.stats, { cached: 0, read: 0, refused: 0, gone: 1, unknown: 0, exeDenied: 0 });
});

test('a process that exec’d during the reads lends nothing', async (t) => {
  const proc = fakeProc(t);
  proc.run(100, CURL);
  writeFileSync(join(proc.root, 'next-stat'), statLine(100, { ...CURL, comm: 'sh' }));
  const written = duringTheReads(proc.root, 100, 'cat ../next-stat > stat');
  const ids = identities(proc.root, { cmdline: true });
  assert.deepEqual(ids.identify(curlEvent), { ppid: 77, ...NOTHING });
  await written;
  assert.equal(ids.stats.refused, 1);
});

test('the command line is cut at cmdlineMax on a character boundary', (t) => {
  const proc = fakeProc(t);
  proc.run(100, { ...CURL, cmdline: 'prog\0café\0' });
  const cut = (cmdlineMax: number) => identities(proc.root, { cmdline: true, cmdlineMax }).identify(curlEvent).cmdline;
  assert.equal(cut(256), 'prog café');
  assert.equal(cut(9), 'prog caf', 'é (2 bytes) would end at byte 10');
  assert.equal(cut(10), 'prog café');
  assert.equal(cut(0), null);
  proc.run(100, { ...CURL, cmdline: '' });
  assert.equal(cut(256), null, 'empty');
});

test('an unreadable exe (kernel thread, permission) is null, and the rest is still this process', (t) => {
  const proc = fakeProc(t);
  proc.run(100, { ...CURL, exe: undefined });
  assert.deepEqual(identities(proc.root, { cmdline: true }).identify(curlEvent), { ppid: 77, exe: null, cmdline: 'curl -s https://example.com/' });
});

test('hostile /proc content and hostile events never throw and never identify', (t) => {
  const proc = fakeProc(t);
  const event = (pid: number) => ({ ...curlEvent, pid });
  proc.write(1, 'stat', 'garbage');
  proc.write(2, 'stat', Buffer.alloc(100_000, 0x29));
  proc.write(3, 'stat', '3 (curl) S 77 3 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456.0 3\n');
  proc.mkdir(4, 'stat');
  proc.write(5, 'stat', `5 (curl) S 77 5 5 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 1${'0'.repeat(400)} 3\n`);
  proc.run(6, CURL);
  proc.exit(6);
  proc.mkdir(6, 'exe');
  proc.mkdir(6, 'cmdline');
  proc.write(6, 'stat', statLine(6, CURL));
  proc.write(7, 'stat', Buffer.concat([Buffer.from(statLine(7, CURL).slice(0, 10)), Buffer.from([0xff, 0xfe, 0])]));
  const ids = identities(proc.root, { cmdline: true, cmdlineMax: 3 });
  for (const pid of [1, 2, 3, 4, 5, 7]) assert.deepEqual(ids.identify(event(pid)), { ppid: 77, ...NOTHING }, `pid ${pid}`);
  assert.deepEqual(ids.identify(event(6)), { ppid: 77, exe: null, cmdline: null }, 'exe and cmdline are directories');
  for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 60]) assert.deepEqual(ids.identify({ ...curlEvent, pid, ppid: 0 }), { ppid: null, ...NOTHING });
  assert.deepEqual(ids.identify({ ...curlEvent, pid: 6, startNs: Number.NaN }), { ppid: 77, ...NOTHING });
  assert.deepEqual(ids.identify({ ...curlEvent, pid: 6, startNs: -5 }), { ppid: 77, ...NOTHING });
  assert.deepEqual(ids.identify({ ...curlEvent, pid: 6, tid: -1, comm: 'x' }), { ppid: 77, ...NOTHING });
  assert.equal(identities(join(proc.root, 'missing')).snapshot(), 0);
  assert.ok(ids.snapshot() >= 1);
  assert.throws(() => identities(proc.root, { clockTicksPerSecond: 7 }), RangeError);
});

test('the cache is bounded by maxEntries', (t) => {
  const proc = fakeProc(t);
  for (const pid of [100, 101, 102]) proc.run(pid, CURL);
  const ids = identities(proc.root, { maxEntries: 2 });
  for (const pid of [100, 101, 102, 100]) ids.identify({ ...curlEvent, pid });
  assert.deepEqual(ids.stats, { cached: 0, read: 4, refused: 0, gone: 0, unknown: 0, exeDenied: 0 });
});

/** This very process, as the kernel would describe it. */
function self() {
  const stat = parseProcStat(readFileSync('/proc/self/stat'));
  assert.ok(stat);
  return { stat, task: { pid: process.pid, tid: process.pid, comm: stat.comm, ppid: 0, startNs: ticksToStartNs(stat.startTicks) + 1 } };
}

test('real /proc: this process is itself: node’s executable and our parent', () => {
  const { stat, task } = self();
  const ids = new ProcessIdentities({ cmdline: true, cmdlineMax: 4096 });
  const identity = ids.identify(task);
  assert.equal(identity.exe, realpathSync(process.execPath));
  assert.equal(identity.ppid, process.ppid);
  assert.equal(identity.ppid, stat.ppid);
  assert.equal(identity.cmdline, readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').replaceAll('\0', ' '));
  assert.ok(identity.cmdline?.startsWith(process.argv0));
  assert.deepEqual(ids.stats, { cached: 0, read: 1, refused: 0, gone: 0, unknown: 0, exeDenied: 0 });
});

test('real /proc: this process one tick later, or under another name, is not this process', () => {
  const { task } = self();
  const ids = new ProcessIdentities();
  assert.deepEqual(ids.identify({ ...task, startNs: task.startNs + 10_000_000 }), { ppid: null, ...NOTHING });
  assert.deepEqual(ids.identify({ ...task, startNs: task.startNs - 10_000_000 }), { ppid: null, ...NOTHING });
  assert.deepEqual(ids.identify({ ...task, comm: `${task.comm}x`.slice(-15) }), { ppid: null, ...NOTHING });
  assert.equal(ids.stats.refused, 3);
});

test('real /proc: the snapshot holds this process, identified with startNs 0', () => {
  const { task } = self();
  const ids = new ProcessIdentities();
  assert.ok(ids.snapshot() > 1);
  assert.equal(ids.identify({ ...task, startNs: 0 }).exe, realpathSync(process.execPath));
});

test('real /proc: a child is itself while it runs, and lends nothing once it has exited', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  assert.ok(child.pid);
  const pid = child.pid;
  // Until the child has exec'd, /proc shows node's image under the child's pid.
  const deadline = Date.now() + 5000;
  let stat = parseProcStat(readFileSync(`/proc/${pid}/stat`));
  while (stat?.comm !== 'sleep') {
    assert.ok(Date.now() < deadline, 'sleep did not start within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
    stat = parseProcStat(readFileSync(`/proc/${pid}/stat`));
  }
  const task = { pid, tid: pid, comm: 'sleep', ppid: 0, startNs: ticksToStartNs(stat.startTicks) };
  const ids = new ProcessIdentities({ cmdline: true });
  assert.deepEqual(ids.identify(task), {
    ppid: process.pid,
    exe: realpathSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim()),
    cmdline: 'sleep 30',
  });
  child.kill('SIGKILL');
  await exited;
  assert.deepEqual(ids.identify({ ...task, startNs: task.startNs + 1 }), { ppid: null, ...NOTHING });
  assert.deepEqual(ids.stats, { cached: 0, read: 1, refused: 0, gone: 1, unknown: 0, exeDenied: 0 });
});
