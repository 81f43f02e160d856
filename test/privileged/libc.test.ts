/**
 * getaddrinfo is traced in every libc processes map, not only the system's:
 * private copies of glibc's loader and libc (one mapped before hostflow
 * starts, one deleted after it was mapped, one by a process started while
 * hostflow runs), musl's libc (a program built with musl-gcc), and musl
 * copies in a chroot and in a container-like mount namespace. Every
 * client resolves against the topology's dnsmasq from the client
 * namespace, and hostflow's dns records must carry its pid.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow, type JsonLine, summaryOf } from '../helpers/hostflow.js';
import { Topology, type TopologyPlan } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { python3, run, type ManagedProcess } from '../helpers/process.js';
import { systemLibc } from '../../src/system/libc.js';

const requirements = {
  commands: [...TOPOLOGY_COMMANDS, 'musl-gcc', 'file', 'chroot', 'unshare', 'pivot_root'],
  features: ['netns' as const, 'btf' as const, 'tracefs' as const],
};

const BASE = 'libc.hostflow.test';
/** One name per client, each with its own address (10.213.k.N), so a record names its client unambiguously. */
const CLIENTS = {
  early: { name: `early.${BASE}`, host: 31 },
  deleted: { name: `deleted.${BASE}`, host: 32 },
  late: { name: `late.${BASE}`, host: 33 },
  musl: { name: `musl.${BASE}`, host: 34 },
  undiscovered: { name: `undiscovered.${BASE}`, host: 35 },
  chroot: { name: `chroot.${BASE}`, host: 36 },
  container: { name: `container.${BASE}`, host: 37 },
} as const;
type Client = keyof typeof CLIENTS;

const addressOf = (plan: Pick<TopologyPlan, 'server'>, client: Client) => plan.server.ipv4.replace(/\.1$/, `.${CLIENTS[client].host}`);

/**
 * Waits for the trigger file (unless '-'), waits `delay` seconds more, then
 * resolves the name and prints the IPv4 addresses.
 */
const PY_CLIENT = `
import os, socket, sys, time
trigger, delay, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
print('ready', flush=True)
while trigger != '-' and not os.path.exists(trigger):
    time.sleep(0.02)
time.sleep(delay)
print(' '.join(sorted({a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)})), flush=True)
`;

const MUSL_CLIENT = `
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* musl-client NAME DELAY_MS: prints its pid, waits, resolves NAME, prints its IPv4 addresses. */
int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	char text[INET_ADDRSTRLEN];
	int rc;

	if (argc != 3)
		return 2;
	printf("pid %d\\n", (int)getpid());
	fflush(stdout);
	usleep(atoi(argv[2]) * 1000);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(argv[1], "80", &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "getaddrinfo: %s\\n", gai_strerror(rc));
		return 1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof(text));
		printf("%s\\n", text);
	}
	freeaddrinfo(res);
	return 0;
}
`;

/** The loader of this machine's glibc (the PT_INTERP of python3). */
const LOADER = '/lib64/ld-linux-x86-64.so.2';

/** A private copy of glibc's loader and libc: new files (new inodes) no other process maps. */
function copyGlibc(parent: string, label: string): { dir: string; loader: string; libc: string } {
  const dir = join(parent, label);
  const loader = join(dir, 'ld-linux-x86-64.so.2');
  const libc = join(dir, 'libc.so.6');
  mkdirSync(dir, { recursive: true });
  copyFileSync(realpathSync(LOADER), loader);
  copyFileSync(systemLibc() as string, libc);
  return { dir, loader, libc };
}

const lookups = (lines: JsonLine[]) => lines.filter((l) => l.type === 'dns' && l.source === 'getaddrinfo');

describe('libc: lookups through every libc processes map are traced', privilegedSuite(requirements), () => {
  let topo: Topology;
  let work: string;
  let muslClient: string;
  const started: ManagedProcess[] = [];

  /** Runs the python client with a private glibc copy, in the client namespace. */
  const pythonWithCopy = (copy: { dir: string; loader: string }, client: Client, trigger: string, delaySeconds: number) => {
    const managed = topo.spawn(topo.client, copy.loader, [
      '--library-path',
      copy.dir,
      python3(),
      '-c',
      PY_CLIENT,
      trigger,
      String(delaySeconds),
      CLIENTS[client].name,
    ]);
    started.push(managed);
    return managed;
  };

  /** Waits for a client's exit and returns its pid and the addresses it printed. */
  const finish = async (managed: ManagedProcess, label: string) => {
    const status = await managed.exited;
    assert.equal(status.code, 0, `${label} client: ${managed.output()}`);
    return {
      pid: managed.pid as number,
      printed: managed
        .output()
        .split('\n')
        .filter((line) => /^\d/.test(line))
        .join(' '),
    };
  };

  const assertTraced = (lines: JsonLine[], client: Client, pid: number, printed: string) => {
    const address = addressOf(topo, client);
    assert.match(printed, new RegExp(`\\b${address.replace(/\./g, '\\.')}\\b`), `${client} resolved its name`);
    const record = lookups(lines).find((l) => l.pid === pid && l.host === CLIENTS[client].name);
    assert.ok(record, `${client}: a getaddrinfo record of pid ${pid} in ${JSON.stringify(lookups(lines))}`);
    assert.deepEqual(record.addrs, [address]);
  };

  before(async () => {
    topo = await Topology.create({
      hosts: (plan) => (Object.keys(CLIENTS) as Client[]).map((client) => ({ name: CLIENTS[client].name, ipv4: addressOf(plan, client) })),
    });
    work = mkdtempSync(join(tmpdir(), 'hostflow-libc-'));
    writeFileSync(join(work, 'musl-client.c'), MUSL_CLIENT);
    muslClient = join(work, 'musl-client');
    await run('musl-gcc', ['-O2', '-o', muslClient, join(work, 'musl-client.c')]);
    const { stdout } = await run('file', ['-L', muslClient], { check: false });
    assert.doesNotMatch(stdout, /statically linked/, 'musl-gcc built a dynamic binary');
  });

  after(async () => {
    await Promise.all(started.map((managed) => managed.stop({ signal: 'SIGKILL' })));
    await topo?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('copies mapped before the start (one since deleted), a copy and musl mapped after it: every lookup is traced', async () => {
    const early = copyGlibc(work, 'early');
    const deleted = copyGlibc(work, 'deleted');
    const late = copyGlibc(work, 'late');
    const trigger = join(work, 'go');

    // Mapped before hostflow starts; they resolve once it traces.
    const earlyClient = pythonWithCopy(early, 'early', trigger, 0);
    const deletedClient = pythonWithCopy(deleted, 'deleted', trigger, 0);
    await Promise.all([earlyClient.waitForLine(/^ready$/), deletedClient.waitForLine(/^ready$/)]);
    // A package upgrade does this to a running process's libc.
    unlinkSync(deleted.libc);

    const hostflow = await startHostflow(['--no-control', '--no-flows', '--no-wire-dns'], { ns: topo.client.ns });
    let stopped: Awaited<ReturnType<typeof hostflow.stop>>;
    const results: Partial<Record<Client, { pid: number; printed: string }>> = {};
    try {
      writeFileSync(trigger, '');
      // Started while hostflow runs: found by the scan for new processes
      // (every 300 ms), before they resolve a second later.
      const lateClient = pythonWithCopy(late, 'late', '-', 1);
      const musl = topo.spawn(topo.client, muslClient, [CLIENTS.musl.name, '1000']);
      started.push(musl);
      [results.early, results.deleted, results.late, results.musl] = await Promise.all([
        finish(earlyClient, 'early'),
        finish(deletedClient, 'deleted'),
        finish(lateClient, 'late'),
        finish(musl, 'musl'),
      ]);
    } finally {
      stopped = await hostflow.stop('SIGINT');
    }
    const { lines, code, stderr } = stopped;
    assert.equal(code, 0, stderr);
    for (const client of ['early', 'deleted', 'late', 'musl'] as const) {
      const result = results[client];
      assert.ok(result);
      assertTraced(lines, client, result.pid, result.printed);
    }

    // Start line and summary name each file; the ones found later say how long their process ran untraced.
    assert.match(stderr, new RegExp(`libc: .*${early.libc}`), 'the start line lists the copy mapped before the start');
    assert.match(stderr, new RegExp(`libc: .*${deleted.libc} \\(1 pid, from pid ${results.deleted?.pid} [^,]*, deleted\\)`));
    const summary = summaryOf(stderr);
    assert.match(summary, /summary: ok libc: getaddrinfo traced in \d+ files?: /);
    assert.doesNotMatch(summary, /getaddrinfo NOT traced/);
    assert.match(summary, new RegExp(`${late.libc} \\(\\d+ pids?, attached \\d+ ms after its process started\\)`));
    assert.match(summary, /\/usr\/lib\/x86_64-linux-musl\/libc\.so \(\d+ pids?, attached \d+ ms after its process started\)/);
    assert.doesNotMatch(stderr, /getaddrinfo not traced/);
  });

  test('a chroot and a container (its own mount namespace and root, pivot_root onto a tmpfs), each with its own musl: both traced', async () => {
    // The smallest root file system: the client, musl's loader (a copy: a file of its own) and the resolver's configuration.
    const makeRoot = (dir: string) => {
      mkdirSync(join(dir, 'lib'), { recursive: true });
      mkdirSync(join(dir, 'etc'), { recursive: true });
      copyFileSync(realpathSync('/lib/ld-musl-x86_64.so.1'), join(dir, 'lib/ld-musl-x86_64.so.1'));
      copyFileSync(muslClient, join(dir, 'client'));
      copyFileSync(join('/etc/netns', topo.client.ns, 'resolv.conf'), join(dir, 'etc/resolv.conf'));
    };
    const chrootDir = join(work, 'chroot');
    const image = join(work, 'image');
    const mountPoint = join(work, 'container');
    makeRoot(chrootDir);
    makeRoot(image);
    mkdirSync(mountPoint);
    const hostflow = await startHostflow(['--no-control', '--no-flows', '--no-wire-dns'], { ns: topo.client.ns });
    let stopped: Awaited<ReturnType<typeof hostflow.stop>>;
    const results: Partial<Record<Client, { pid: number; printed: string }>> = {};
    try {
      const chroot = topo.spawn(topo.client, 'chroot', [chrootDir, '/client', CLIENTS.chroot.name, '1000']);
      // Like a container runtime: a private mount namespace whose root is a
      // file system the host does not see, so its maps name the libc as
      // the container sees it (/lib/...), reachable only through /proc/<pid>/root.
      const script = `mount -t tmpfs hostflow-test "$1" && cp -a "$2/." "$1" && mkdir "$1/old" && cd "$1" && pivot_root . old && exec /client "$3" 1000`;
      const container = topo.spawn(topo.client, 'unshare', [
        '--mount',
        '--propagation',
        'private',
        '--fork',
        'sh',
        '-c',
        script,
        'sh',
        mountPoint,
        image,
        CLIENTS.container.name,
      ]);
      started.push(chroot, container);
      const withOwnPid = async (managed: ManagedProcess, label: string) => {
        const result = await finish(managed, label);
        return { ...result, pid: Number(/^pid (\d+)$/m.exec(managed.output())?.[1]) };
      };
      [results.chroot, results.container] = await Promise.all([withOwnPid(chroot, 'chroot'), withOwnPid(container, 'container')]);
    } finally {
      stopped = await hostflow.stop('SIGINT');
    }
    assert.equal(stopped.code, 0, stopped.stderr);
    const summary = summaryOf(stopped.stderr);
    for (const client of ['chroot', 'container'] as const) {
      const result = results[client];
      assert.ok(result && result.pid > 0, `${client} printed its pid`);
      assertTraced(stopped.lines, client, result.pid, result.printed);
    }
    // A chroot's file has its host path in maps; a container's is named as the container sees it.
    const late = (path: string, pid: number | undefined) =>
      new RegExp(`(: |; )${path.replace(/\./g, '\\.')} \\(\\d+ pids?, from pid ${pid} client, other root, attached \\d+ ms after its process started\\)`);
    assert.match(summary, late(`${chrootDir}/lib/ld-musl-x86_64.so.1`, results.chroot?.pid));
    assert.match(summary, late('/lib/ld-musl-x86_64.so.1', results.container?.pid));
    assert.match(summary, /summary: ok libc: getaddrinfo traced in \d+ files?: /);
    assert.doesNotMatch(summary, /getaddrinfo NOT traced/);
  });

  test('with --no-libc-discovery only the system libc is traced: a private copy goes unseen', async () => {
    const copy = copyGlibc(work, 'undiscovered');
    const hostflow = await startHostflow(['--no-control', '--no-flows', '--no-wire-dns', '--no-libc-discovery'], { ns: topo.client.ns });
    let stopped: Awaited<ReturnType<typeof hostflow.stop>>;
    let result: { pid: number; printed: string };
    let system: { pid: number; printed: string };
    try {
      result = await finish(pythonWithCopy(copy, 'undiscovered', '-', 1), 'undiscovered');
      // The same lookup through the system libc is traced: the run itself works.
      const plain = topo.spawn(topo.client, python3(), ['-c', PY_CLIENT, '-', '0', CLIENTS.undiscovered.name]);
      started.push(plain);
      system = await finish(plain, 'system libc');
    } finally {
      stopped = await hostflow.stop('SIGINT');
    }
    assert.equal(stopped.code, 0, stopped.stderr);
    assertTraced(stopped.lines, 'undiscovered', system.pid, system.printed);
    assert.match(result.printed, /\d/);
    assert.deepEqual(
      lookups(stopped.lines).filter((l) => l.pid === result.pid),
      [],
      'the copy was not attached',
    );
    assert.doesNotMatch(stopped.stderr, new RegExp(copy.libc));
  });
});
