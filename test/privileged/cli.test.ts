/**
 * The CLI on the real kernel: the connect-probe fallback chain, one-line
 * errors, doctor, and that a hostflow killed with SIGKILL leaves nothing
 * attached (every attachment is a bpf_link owned by the process).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { ALL_CONNECT_PROGRAMS } from '../../src/kernel/probe-plan.js';
import { kernelHasKprobes } from '../../src/kernel/kernel-probes.js';
import { connectProbeModes, withConnectProbe } from '../helpers/connect-probe.js';
import { CLI, startHostflow } from '../helpers/hostflow.js';
import { Topology } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';

const requirements = { commands: ['ip', 'bpftool'], features: ['netns' as const, 'btf' as const] };

async function hostflow(args: string[], ns?: string) {
  return run(process.execPath, [CLI, ...args], { ns, check: false, timeoutMs: 60_000 });
}

/** Names of the BPF programs loaded in the kernel right now. */
async function loadedPrograms(): Promise<string[]> {
  const { stdout } = await run('bpftool', ['-j', 'prog', 'show']);
  // The kernel keeps 15 characters of a program's name.
  return (JSON.parse(stdout) as Array<{ name?: string }>).map((p) => (p.name ?? '').slice(0, 15));
}

const HOSTFLOW_PROGRAMS = ['sock_state', 'tcp_retransmit', 'getaddrinfo_entry', 'getaddrinfo_return', 'flow_xdp', 'flow_tc', ...ALL_CONNECT_PROGRAMS].map(
  (name) => name.slice(0, 15),
);

describe('hostflow command line', privilegedSuite(requirements), () => {
  let topo: Topology;

  before(async () => {
    topo = await Topology.create({ dns: false });
  });

  after(async () => {
    await topo?.destroy();
  });

  test('doctor passes here and names the mode auto chooses', async () => {
    const result = await hostflow(['doctor']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /connect\s+auto chooses (kprobe|fentry|tracepoint)/);
    assert.match(result.stdout, /hostflow can run here/);
  });

  test('auto picks the first connect mode that attaches, and reports it', async () => {
    const doctor = await hostflow(['doctor']);
    const chosen = /auto chooses (\w+)/.exec(doctor.stdout)?.[1];
    // auto explicitly: HOSTFLOW_TEST_CONNECT_PROBE forces a mode on every other start
    const running = await startHostflow(['--connect-probe', 'auto', '-i', topo.client.iface], { ns: topo.client.ns });
    const { code, stderr } = await running.stop();
    assert.equal(code, 0, stderr);
    assert.match(stderr, new RegExp(`connect probe: ${chosen}`));
    if (!kernelHasKprobes()) {
      assert.notEqual(chosen, 'kprobe');
      assert.match(stderr, /not used: kprobe: the kernel has no kprobes/);
    }
    if (process.env.HOSTFLOW_EXPECT_AUTO_PROBE) assert.equal(chosen, process.env.HOSTFLOW_EXPECT_AUTO_PROBE);
  });

  test('forcing kprobe on a kernel without kprobes is one clear line and exit 1', async (t) => {
    if (kernelHasKprobes()) {
      t.diagnostic('this kernel has kprobes: forcing them must work instead');
      const running = await startHostflow(['--connect-probe', 'kprobe', '-i', topo.client.iface], { ns: topo.client.ns });
      const { code, stderr } = await running.stop();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /connect probe: kprobe/);
      return;
    }
    const result = await hostflow(['--connect-probe', 'kprobe', '-i', topo.client.iface, '--duration', '1'], topo.client.ns);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^hostflow: --connect-probe kprobe cannot be used: the kernel has no kprobes/);
  });

  test('an unknown interface is one clear line and exit 1', async () => {
    const result = await hostflow(['-i', 'nosuch0', '--duration', '1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^hostflow: unknown interface 'nosuch0' \(known: .*lo.*\)$/);
  });

  test('an invalid option is one clear line and a non-zero exit', async () => {
    const result = await hostflow(['--connect-probe', 'magic']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^hostflow: option '--connect-probe <mode>' argument 'magic' is invalid/);
    assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');
  });

  test('--duration ends the run cleanly with exit 0', async () => {
    const result = await hostflow(withConnectProbe(['-i', topo.client.iface, '--duration', '1']), topo.client.ns);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`connect probe: (${connectProbeModes()})\\b`));
    assert.match(result.stderr, /summary: /);
  });

  /** hostflow's programs still loaded, once the kernel has freed what it was freeing (up to 5 s). */
  async function programsLeft(): Promise<string[]> {
    let left: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      left = (await loadedPrograms()).filter((name) => HOSTFLOW_PROGRAMS.includes(name));
      if (left.length === 0) break;
      await sleep(100);
    }
    return left;
  }

  test('SIGKILL leaves no program attached', async () => {
    // A raw tracepoint's program is freed after an RCU grace period, a moment after the run before exited.
    assert.deepEqual(await programsLeft(), [], 'clean before');
    const running = await startHostflow(['-i', topo.client.iface], { ns: topo.client.ns });
    const links = await run('ip', ['-d', 'link', 'show', 'dev', topo.client.iface], { ns: topo.client.ns });
    assert.match(links.stdout, /xdp/, 'XDP attached while running');
    const attached = await loadedPrograms();
    for (const name of ['sock_state', 'flow_xdp', 'flow_tc']) assert.ok(attached.includes(name), `${name} loaded while running`);

    await running.stop('SIGKILL');

    assert.deepEqual(await programsLeft(), [], 'no hostflow program stays loaded');
    const after = await run('ip', ['-d', 'link', 'show', 'dev', topo.client.iface], { ns: topo.client.ns });
    assert.doesNotMatch(after.stdout, /prog\/xdp|xdpgeneric|xdpdrv/, 'no XDP program on the interface');
    const net = await run('bpftool', ['-j', 'net', 'show', 'dev', topo.client.iface], { ns: topo.client.ns });
    const listing = JSON.parse(net.stdout) as Array<Record<string, unknown[]>>;
    for (const section of listing) {
      for (const [kind, entries] of Object.entries(section)) assert.deepEqual(entries, [], `no ${kind} attachment left`);
    }
    assert.ok(existsSync('/sys/kernel/tracing'), 'tracefs stays mounted (harmless)');
  });
});
