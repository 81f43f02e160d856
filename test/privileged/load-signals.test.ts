/**
 * Loading under a storm of signals. The verifier abandons a program load
 * with EAGAIN whenever a signal is pending for the loading thread; a
 * profiler (`node --cpu-prof`, SIGPROF every sampling interval), a terminal
 * resize or a supervisor can keep one pending through all of libbpf's
 * retries. The addon blocks signals for the load, so hostflow starts under
 * a profiler sampling every 100 µs, and the profile is still written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostflow } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';

const requirements = { commands: ['ip'], features: ['netns' as const, 'btf' as const] };

describe('loading while signals arrive', privilegedSuite(requirements), () => {
  let topo: Topology;
  let profiles: string;

  before(async () => {
    topo = await Topology.create({ dns: false });
    profiles = mkdtempSync(join(tmpdir(), 'hostflow-cpu-prof-'));
  });

  after(async () => {
    await topo?.destroy();
    if (profiles) rmSync(profiles, { recursive: true, force: true });
  });

  for (const intervalUs of [100, 1000]) {
    test(`hostflow starts under node --cpu-prof sampling every ${intervalUs} µs`, async () => {
      const dir = join(profiles, String(intervalUs));
      const hostflow = await startHostflow(['-i', topo.client.iface, '--no-control'], {
        ns: topo.client.ns,
        nodeOptions: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(intervalUs)],
      });
      const result = await hostflow.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /EAGAIN/);
      assert.match(result.stderr, /summary: ok events: \d+ delivered; none lost/);
      assert.equal(readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).length, 1, 'the profiler ran the whole time');
    });
  }
});
