/**
 * The UI front-end in the real run (src/run.ts): the real Session, the
 * real sinks and the real shutdown, over a stand-in kernel and an
 * in-memory terminal. The shutdown contract (q, Ctrl-C, a signal,
 * --duration), the --output file, and what reaches stdout and the log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_TRACER_OPTIONS } from '../../../src/kernel/tracer.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import type { RunPlan } from '../../../src/run-plan.js';
import { runHostflow } from '../../../src/run.js';
import { terminalUi, type UiOptions } from '../../../src/ui/run-ui.js';
import { connectionEvents, FakeKernel, lookupEvent } from '../../helpers/fake-tracer.js';
import { FakeStdin, FakeStdout, KEYS, stripAnsi, waitFor } from '../../helpers/fake-terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-run-ui-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

function plan(): RunPlan {
  return {
    session: {
      tracer: { ...DEFAULT_TRACER_OPTIONS, interfaces: ['veth-test'] },
      names: {},
      filter: {},
      flowIntervalSeconds: 1,
      // Short, so records reach the screen quickly; the ordering is the real one.
      reorderWindowMs: 20,
    },
    output: {},
    storage: undefined,
    services: {},
    ui: true,
  };
}

interface Options {
  durationSeconds?: number;
  ui?: Partial<UiOptions>;
}

/** Starts a run with the UI; the kernel hands over a lookup and a connection once it is up. */
function start(options: Options = {}) {
  const stdout = new FakeStdout({ columns: 80, rows: 24 });
  const stdin = new FakeStdin();
  const kernel = new FakeKernel();
  const output = join(dir, `records-${++runs}.jsonl`);
  kernel.flows = [
    {
      ifindex: 7,
      direction: 'in',
      proto: 6,
      family: 4,
      saddr: '10.0.0.1',
      sport: 443,
      daddr: '10.0.0.2',
      dport: 4000,
      packets: 9,
      bytes: 900,
      droppedPackets: 0,
      droppedBytes: 0,
      firstSeenNs: 1,
      lastSeenNs: 2,
      tcpFlags: 0x12,
    },
  ];
  const logs: string[] = [];
  let outputAtFirstLog: string | null = null;
  const result = runHostflow({
    plan: plan(),
    frontEnd: terminalUi({
      flowIntervalSeconds: 1,
      stdout: stdout.asStream(),
      stdin: stdin.asStream(),
      output: { line: { path: output }, format: 'json' },
      ...options.ui,
    }),
    durationSeconds: options.durationSeconds,
    startTracer: kernel.start,
    log: (line) => {
      outputAtFirstLog ??= stdout.output();
      logs.push(line);
    },
  });
  const screen = () => stripAnsi(stdout.output());
  const feed = () =>
    kernel.emit(
      lookupEvent(4242, 'curl', 'api.example.com', ['10.0.0.1']),
      ...connectionEvents(4242, 'curl', { family: 4, saddr: '10.0.0.2', sport: 4000, daddr: '10.0.0.1', dport: 443 }),
    );
  return {
    stdout,
    stdin,
    kernel,
    logs,
    result,
    screen,
    feed,
    outputAtFirstLog: () => outputAtFirstLog,
    written: (): HostflowRecord[] =>
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as HostflowRecord),
    waitFor: (text: string) =>
      waitFor(
        () => screen().includes(text),
        () => `never showed ${text}:\n${screen().slice(-3000)}`,
      ),
  };
}

test('q closes the UI, then the run stops the session, flushes the --output file and logs the start lines and the summary, and exits 0', async () => {
  const ui = start();
  await ui.waitFor('lost 0');
  ui.feed();
  await ui.waitFor('api.example.com');
  assert.ok(ui.stdout.output().startsWith('\u001b[?1049h'), 'the UI draws on the alternate screen');
  assert.ok(ui.stdin.rawMode, 'keys are read raw');
  assert.ok(ui.screen().includes('if veth-test xdp native'), 'the interface and its XDP mode are in the header');
  assert.equal(ui.logs.length, 0, 'nothing is logged while the UI owns the terminal');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
  assert.equal(ui.kernel.stopped, 1);
  assert.ok(ui.outputAtFirstLog()?.endsWith('\u001b[?1049l\u001b[?25h'), 'the terminal is given back (main screen, cursor shown) before the first log line');
  assert.match(ui.logs[0] ?? '', /^connect probe: tracepoint \(not used: kprobe: no kprobes\)$/);
  assert.ok(ui.logs.includes('xdp on veth-test: native'));
  assert.deepEqual(ui.logs.slice(-5, -2), [
    'summary: ok records: dns 1, conn 1, flow 1, udp 0 written',
    'summary: ok events: 3 delivered; none lost, malformed or late',
    'summary: ok xdp: veth-test: native',
  ]);
  assert.match(ui.logs.at(-2) ?? '', /^summary: ok output: 3 lines written to .*records-\d+\.jsonl$/);
  assert.equal(ui.logs.at(-1), 'summary: healthy: nothing lost, nothing failed');
  assert.deepEqual(
    ui.written().map((r) => r.type),
    ['dns', 'conn', 'flow'],
    'the --output file got every record, the last flows too',
  );
  assert.equal(ui.stdin.rawMode, false);
});

test('Ctrl-C quits the same way', async () => {
  const ui = start();
  await ui.waitFor('lost 0');
  ui.stdin.type(KEYS.ctrlC);
  assert.equal(await ui.result, 0);
  assert.equal(ui.kernel.stopped, 1);
});

test('SIGTERM stops cleanly and leaves no handler behind', async () => {
  // Ink's signal-exit and cli-cursor add SIGTERM handlers of their own on
  // the first screen drawn in this process, and keep them: draw one first,
  // so that what is counted is the run's alone, whichever test runs first.
  const first = start();
  await first.waitFor('lost 0');
  first.stdin.type('q');
  assert.equal(await first.result, 0);
  const before = process.listeners('SIGTERM').length;
  const ui = start();
  await ui.waitFor('lost 0');
  process.emit('SIGTERM');
  assert.equal(await ui.result, 0);
  assert.equal(ui.kernel.stopped, 1);
  assert.equal(process.listeners('SIGTERM').length, before, 'no handler left behind');
});

test('--duration stops by itself, and without a keyboard the UI still runs', async () => {
  const stdin = new FakeStdin({ isTTY: false });
  const ui = start({ durationSeconds: 0.5, ui: { stdin: stdin.asStream() } });
  await ui.waitFor('stdin is not a terminal');
  assert.equal(await ui.result, 0);
  assert.equal(ui.kernel.stopped, 1);
});

test('lost events reach the header within about a second', async () => {
  const ui = start();
  await ui.waitFor('lost 0');
  ui.kernel.counters.drop_connect = 42;
  await ui.waitFor('LOST 42 EVENTS');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
  assert.ok(ui.logs.includes('summary: 1 PROBLEM: events (see above)'), ui.logs.join('\n'));
});

test('a kernel that cannot start fails before any screen is drawn, and the --output file is closed', async () => {
  const stdout = new FakeStdout();
  const kernel = new FakeKernel();
  kernel.failure = new Error('needs root');
  await assert.rejects(
    runHostflow({
      plan: plan(),
      frontEnd: terminalUi({
        flowIntervalSeconds: 1,
        stdout: stdout.asStream(),
        stdin: new FakeStdin().asStream(),
        output: { line: { path: join(dir, 'failed.jsonl') }, format: 'json' },
      }),
      startTracer: kernel.start,
      log: () => {},
    }),
    /needs root/,
  );
  assert.equal(stdout.output(), '');
});

test('without a terminal on stdout it refuses before tracing anything', () => {
  assert.throws(
    () => terminalUi({ flowIntervalSeconds: 1, stdout: new FakeStdout({ isTTY: false }).asStream(), stdin: new FakeStdin().asStream() }),
    /the terminal UI needs a terminal on stdout; use --headless/,
  );
});

test('the screen follows a resize', async () => {
  const ui = start();
  await ui.waitFor('lost 0');
  ui.feed();
  await ui.waitFor('api.example.com');
  ui.stdout.resize(120, 30);
  await waitFor(
    () =>
      /HOST\s+PROCESSES\s+OPEN/.test(ui.screen()) &&
      ui
        .screen()
        .split('\n')
        .some((line) => line.length > 100),
    () => 'no 120-column frame',
  );
  ui.stdout.resize(50, 12);
  await ui.waitFor('1 Hosts');
  ui.stdout.resize(30, 8);
  await ui.waitFor('terminal too small: 30x8');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
});
