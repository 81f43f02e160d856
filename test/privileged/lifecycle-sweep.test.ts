/**
 * The lifecycle's sweep (sock_sweep in bpf/lifecycle.bpf.c) writes the close
 * of a remembered socket that ended while no probe ran, and nothing for a
 * socket still alive. Some hosts skip every tracing program for a whole
 * softirq now and then; here the probes are detached instead, which leaves
 * the kernel's side the same: the sockets end and are freed with no program
 * run for them.
 *
 * Traffic: loopback, and a veth pair in a namespace of its own, where the
 * address connected to is nobody's: ARP gets no answer, so the handshake
 * never completes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeBatch, type CloseEvent, type EstablishedEvent, type KernelEvent } from '../../src/kernel/decode.js';
import { readCounters } from '../../src/kernel/counters.js';
import { openAndLoad } from '../../src/kernel/load-plan.js';
import { loadNative, type BpfObject, type RingPoller } from '../../src/kernel/native.js';
import { DEFAULT_TRACER_OPTIONS, type TracerOptions } from '../../src/kernel/tracer-options.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { run } from '../helpers/process.js';

const OPTIONS: TracerOptions = {
  ...DEFAULT_TRACER_OPTIONS,
  flows: false,
  dnsCapture: false,
  socketHooks: false,
  serverNames: false,
  // This process makes the connections: trace it.
  excludePid: 0,
  wakeupBytes: 0,
};

async function eventually(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A connected pair on loopback: the client's and the server's sockets. */
async function connectedPair(server: Server): Promise<{ client: Socket; accepted: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = createConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  await once(client, 'connect');
  return { client, accepted: (await accepted)[0] };
}

async function closeBoth({ client, accepted }: { client: Socket; accepted: Socket }): Promise<void> {
  client.destroy();
  accepted.destroy();
  await Promise.all([once(client, 'close'), once(accepted, 'close')]);
}

describe('the sweep of sockets that ended unseen', privilegedSuite({ commands: ['ip'], features: ['btf', 'netns'] }), () => {
  const ns = `hf-sweep-${process.pid}`;
  let object: BpfObject;
  let poller: RingPoller;
  let server: Server;
  const events: KernelEvent[] = [];
  const links = new Map<string, number>();

  const closes = (port: number): CloseEvent[] =>
    events.filter((event): event is CloseEvent => event.kind === 'close' && (event.tuple.sport === port || event.tuple.dport === port));
  const opened = (port: number): EstablishedEvent[] =>
    events.filter((event): event is EstablishedEvent => event.kind === 'established' && (event.tuple.sport === port || event.tuple.dport === port));

  function attachLifecycle(): void {
    links.set('sock_state', object.attachRawTracepoint('sock_state', 'inet_sock_set_state').id);
    links.set('sock_destroy', object.attachRawTracepoint('sock_destroy', 'tcp_destroy_sock').id);
  }

  function detachLifecycle(): void {
    for (const id of links.values()) object.detach(id);
    links.clear();
  }

  before(async () => {
    const native = loadNative();
    object = openAndLoad(native, OPTIONS, { mode: 'tracepoint', cpus: native.possibleCpus() });
    poller = new native.RingPoller(object, ['events'], (batch) => decodeBatch(batch, (event) => events.push(event), { records: 0, malformed: 0 }));
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'add', 'sweep0', 'type', 'veth', 'peer', 'name', 'sweep1']);
    await run('ip', ['-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', 'sweep0']);
    await run('ip', ['-n', ns, 'link', 'set', 'sweep0', 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'sweep1', 'up']);
  });

  after(async () => {
    server?.close();
    await poller?.stop();
    object?.close();
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  test('a connection whose end no probe saw gets its close, with its process and addresses', async () => {
    attachLifecycle();
    const pair = await connectedPair(server);
    const clientPort = pair.client.localPort ?? 0;
    await eventually('both ends established', () => opened(clientPort).length === 2);
    const recoveredBefore = readCounters(object).close_recovered;

    detachLifecycle();
    await closeBoth(pair);
    // Both ends reach CLOSE (the client through TIME_WAIT) and are freed, unseen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(closes(clientPort).length, 0, 'a probe saw the end: the test shows nothing');

    object.run('sock_sweep');
    await eventually('the swept closes', () => closes(clientPort).length === 2);
    const client = closes(clientPort).find((event) => event.direction === 'out');
    assert.ok(client, 'the client end is closed as outbound');
    assert.equal(client.task.pid, process.pid);
    assert.equal(client.tuple.saddr, '127.0.0.1');
    assert.equal(client.tuple.daddr, '127.0.0.1');
    assert.equal(client.tuple.dport, (server.address() as AddressInfo).port);
    assert.ok(client.tracked, 'remembered from connect');
    assert.ok(client.durationNs > 0);
    assert.equal(readCounters(object).close_recovered - recoveredBefore, 2);

    // Written once: a second sweep finds nothing left.
    object.run('sock_sweep');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(closes(clientPort).length, 2);
  });

  test('live sockets are left alone: an open connection and a handshake in progress', async () => {
    attachLifecycle();
    const pair = await connectedPair(server);
    const clientPort = pair.client.localPort ?? 0;
    await eventually('both ends established', () => opened(clientPort).length === 2);
    const remembered = object.dumpMap('sockets').count;
    // SYN_SENT for seconds: nobody answers ARP for 10.77.0.2.
    const connector: ChildProcess = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', "require('net').connect(9, '10.77.0.2').on('error', () => {}); setTimeout(() => {}, 30000)"],
      { stdio: 'ignore' },
    );
    try {
      await eventually('the connect remembered', () => object.dumpMap('sockets').count === remembered + 1);
      // Past the sweep's grace for sockets not yet established: judged by what their memory shows.
      await new Promise((resolve) => setTimeout(resolve, 700));
      for (let sweep = 0; sweep < 3; sweep++) object.run('sock_sweep');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(object.dumpMap('sockets').count, remembered + 1, 'the sweep removed a live socket');
      assert.deepEqual(closes(clientPort), [], 'the open connection was closed by the sweep');
      assert.deepEqual(closes(9), [], 'the connect in progress was closed by the sweep');

      // And once the probes see the end, it is written once, by them.
      await closeBoth(pair);
      await eventually('the closes seen by sock_state', () => closes(clientPort).length === 2);
      object.run('sock_sweep');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(closes(clientPort).length, 2);
    } finally {
      connector.kill('SIGKILL');
      detachLifecycle();
    }
  });
});
