/**
 * A process storm: 20 k short-lived processes (fork, exec getent, resolve
 * a name of their own, exit) as fast as four shells make them, with libc
 * discovery on. The libc tracker must read each new process's maps a
 * bounded number of times, attach the system libc once, leak no file
 * descriptors, and every lookup must still be a record of its own process.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startHostflow, summaryOf } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite, TOPOLOGY_COMMANDS } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';

const requirements = { commands: [...TOPOLOGY_COMMANDS, 'getent', 'dnsmasq'], features: ['netns' as const, 'btf' as const, 'tracefs' as const] };

const PROCESSES = 20_000;
const SHELLS = 4;
const DOMAIN = 'storm.test';

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('a process storm', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    topo = await Topology.create({ dnsmasqArgs: ({ server }) => [`--address=/${DOMAIN}/${server.ipv4}`] });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('reads each new process a bounded number of times, attaches nothing twice and leaks no descriptors', async (t) => {
    const { client } = topo;
    const hostflow = await startHostflow(['--no-control', '--no-flows', '--no-wire-dns', '--type', 'dns'], { ns: client.ns });
    const pid = hostflow.process.pid ?? 0;
    let result: Awaited<ReturnType<typeof hostflow.stop>>;
    let fdsBefore = 0;
    let fdsAfter = 0;
    let stormMs = 0;
    try {
      // The tracker's first scan and the probes are in place: this is the baseline.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      fdsBefore = openFds(pid);
      const started = Date.now();
      const share = PROCESSES / SHELLS;
      await Promise.all(
        Array.from({ length: SHELLS }, (_, shell) =>
          run(
            'ip',
            [
              'netns',
              'exec',
              client.ns,
              'sh',
              '-c',
              `i=0; while [ $i -lt ${share} ]; do getent ahostsv4 s${shell}-$i.${DOMAIN} >/dev/null || exit 1; i=$((i+1)); done`,
            ],
            { timeoutMs: 600_000 },
          ),
        ),
      );
      stormMs = Date.now() - started;
      // Two scan ticks: the last processes are read (they are gone) and forgotten.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      fdsAfter = openFds(pid);
    } finally {
      result = await hostflow.stop();
    }
    t.diagnostic(`${PROCESSES} processes in ${stormMs} ms; hostflow's open descriptors ${fdsBefore} before, ${fdsAfter} after`);
    t.diagnostic(summaryOf(result.stderr));
    assert.equal(result.code, 0, result.stderr);

    const lookups = result.lines.filter((l) => l.type === 'dns' && l.source === 'getaddrinfo' && typeof l.host === 'string' && l.host.endsWith(`.${DOMAIN}`));
    assert.equal(lookups.length, PROCESSES, 'every process resolved once, and each lookup is a record');
    assert.equal(new Set(lookups.map((l) => l.pid)).size, PROCESSES, 'each record carries its own process');
    assert.ok(
      lookups.every((l) => l.comm === 'getent'),
      'and its name',
    );

    const session = result.summary?.session;
    const scan = session?.libcScan;
    assert.ok(scan, 'libc discovery ran');
    // Each new pid is read when first seen and once more a tick later; pids of the machine's other work add a few.
    assert.ok(scan.scans <= 2 * PROCESSES + 2000, `maps reads stay bounded: ${scan.scans} for ${PROCESSES} processes`);
    const files = session?.libc ?? [];
    const keys = files.map((file) => file.key);
    assert.equal(new Set(keys).size, keys.length, `no libc file listed twice: ${files.map((file) => file.path).join(', ')}`);
    assert.ok(
      files.some((file) => file.attached),
      'the system libc is traced',
    );
    assert.equal(fdsAfter, fdsBefore, 'no file descriptor leaked, and no probe attached again');
  });
});
