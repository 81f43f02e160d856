/**
 * runUi end to end over a fake session and an in-memory terminal: the
 * shutdown contract (q, Ctrl-C, a signal, --duration), the other sinks,
 * and what reaches stdout and the log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttachReport } from '../../../src/kernel/tracer.js';
import type { HostflowRecord } from '../../../src/records/types.js';
import type { RecordSink, SessionOptions, SessionSummary } from '../../../src/session.js';
import { runUi, type UiOptions, type UiSink } from '../../../src/ui/run-ui.js';
import type { SessionHandle } from '../../../src/ui/session-status.js';
import { FakeStdin, FakeStdout, KEYS, stripAnsi, waitFor } from '../../helpers/fake-terminal.js';
import { connOpen, dns, flow } from './fixtures.js';

const REPORT: AttachReport = {
  connectProbe: 'tracepoint',
  rejected: [{ mode: 'kprobe', reason: 'no kprobes' }],
  links: [],
  interfaces: [{ name: 'veth-test', ifindex: 7, xdp: { mode: 'native', nativeRefused: null } }],
  libcs: ['/lib/libc.so.6'],
  tracefs: { path: '/sys/kernel/tracing', mounted: false },
};

const SESSION_OPTIONS = { flowIntervalSeconds: 1 } as SessionOptions;

class FakeSession implements SessionHandle {
  eventsDecoded = 0;
  stops = 0;
  lost = 0;
  readonly events: string[];

  constructor(
    private readonly sinks: RecordSink[],
    private readonly records: HostflowRecord[],
    events: string[],
  ) {
    this.events = events;
  }

  start(): AttachReport {
    for (const record of this.records) this.emit(record);
    return REPORT;
  }

  emit(record: HostflowRecord): void {
    this.eventsDecoded += 3;
    for (const sink of this.sinks) sink(record);
  }

  summary(): SessionSummary {
    return { records: { dns: 1, conn: 1, flow: 0 }, lost: this.lost ? { drop_connect: this.lost } : {}, lostTotal: this.lost, skipped: {}, skippedTotal: 0, closesRecovered: 0, malformed: 0, wireSkipped: {}, late: 0, capture: null, blocked: [], interfaces: REPORT.interfaces };
  }

  async stop(): Promise<SessionSummary> {
    this.stops++;
    this.events.push('session stopped');
    // The last flow interval is written while stopping: the other sinks must still get it.
    this.emit(flow('10.0.0.1', 'api.example.com', 99));
    return this.summary();
  }
}

function start(options: Partial<UiOptions> = {}, records: HostflowRecord[] = [dns('api.example.com', ['10.0.0.1']), connOpen('api.example.com', '10.0.0.1', 4000)]) {
  const stdout = new FakeStdout({ columns: 80, rows: 24 });
  const stdin = new FakeStdin();
  const events: string[] = [];
  const written: HostflowRecord[] = [];
  const sink: UiSink = {
    write: (record) => written.push(record),
    close: async () => {
      // A sink whose close takes a moment (not a wait for anything): the summary must come after it.
      await new Promise((resolve) => setTimeout(resolve, 10));
      events.push('sink closed');
    },
  };
  let session: FakeSession | undefined;
  const logs: string[] = [];
  const result = runUi(
    {
      session: SESSION_OPTIONS,
      log: (line) => {
        logs.push(line);
        events.push(`log ${line.split(':')[0]}`);
      },
      stdout: stdout.asStream(),
      stdin: stdin.asStream(),
      extraSinks: [sink],
      sinkStatus: () => [{ label: 's3', text: 'backlog 3', warn: true }],
      ...options,
    },
    {
      createSession: (_options, sinks) => {
        session = new FakeSession(sinks, records, events);
        return session;
      },
    },
  );
  const screen = () => stripAnsi(stdout.output());
  return {
    stdout,
    stdin,
    events,
    written,
    logs,
    result,
    session: () => session as FakeSession,
    screen,
    waitFor: (text: string) => waitFor(() => screen().includes(text), () => `never showed ${text}:\n${screen().slice(-3000)}`),
  };
}

test('q closes the UI, then stops the session, flushes the other sinks and logs the summary, and exits 0', async () => {
  const ui = start();
  await ui.waitFor('api.example.com');
  assert.ok(ui.stdout.output().startsWith('\u001b[?1049h'), 'the UI draws on the alternate screen');
  assert.ok(ui.stdin.rawMode, 'keys are read raw');
  assert.ok(ui.screen().includes('s3 backlog 3'), 'the sink status is in the header');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
  assert.equal(ui.session().stops, 1);
  assert.deepEqual(ui.events, ['session stopped', 'sink closed', 'log connect probe', 'log interfaces', 'log xdp on veth-test', 'log summary', 'log summary', 'log summary', 'log summary']);
  assert.deepEqual(ui.logs.slice(-4), [
    'summary: ok records: dns 1, conn 1, flow 0 written',
    'summary: ok events: 0 delivered; none lost, malformed or late',
    'summary: ok xdp: veth-test: native',
    'summary: healthy: nothing lost, nothing failed',
  ]);
  assert.match(ui.logs[0] ?? '', /connect probe: tracepoint \(not used: kprobe: no kprobes\)/);
  assert.deepEqual(ui.written.map((r) => r.type), ['dns', 'conn', 'flow'], 'the other sink got every record, the last flows too');
  const output = ui.stdout.output();
  assert.ok(output.endsWith('\u001b[?1049l\u001b[?25h'), 'the terminal is given back: main screen, cursor shown');
  assert.equal(ui.stdin.rawMode, false);
});

test('Ctrl-C quits the same way', async () => {
  const ui = start();
  await ui.waitFor('api.example.com');
  ui.stdin.type(KEYS.ctrlC);
  assert.equal(await ui.result, 0);
  assert.equal(ui.session().stops, 1);
});

test('SIGTERM stops cleanly', async () => {
  // Ink's signal-exit and cli-cursor add SIGTERM handlers of their own on
  // the first screen drawn in this process, and keep them: draw one first,
  // so that what is counted is runUi's alone, whichever test runs first.
  const first = start();
  await first.waitFor('api.example.com');
  first.stdin.type('q');
  assert.equal(await first.result, 0);
  const before = process.listeners('SIGTERM').length;
  const ui = start();
  await ui.waitFor('api.example.com');
  process.emit('SIGTERM');
  assert.equal(await ui.result, 0);
  assert.deepEqual(ui.events.slice(0, 2), ['session stopped', 'sink closed']);
  assert.equal(process.listeners('SIGTERM').length, before, 'no handler left behind');
});

test('--duration stops by itself, and without a keyboard the UI still runs', async () => {
  const stdin = new FakeStdin({ isTTY: false });
  const ui = start({ durationSeconds: 0.3, stdin: stdin.asStream() });
  await ui.waitFor('stdin is not a terminal');
  assert.equal(await ui.result, 0);
  assert.equal(ui.session().stops, 1);
});

test('lost events reach the header within about a second', async () => {
  const ui = start();
  await ui.waitFor('lost 0');
  ui.session().lost = 42;
  await ui.waitFor('LOST 42 EVENTS');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
});

test('a session that cannot start throws before any screen is drawn, and the other sinks are closed', async () => {
  const stdout = new FakeStdout();
  let closed = false;
  await assert.rejects(
    runUi(
      { session: SESSION_OPTIONS, log: () => {}, stdout: stdout.asStream(), stdin: new FakeStdin().asStream(), extraSinks: [{ write: () => {}, close: () => void (closed = true) }] },
      {
        createSession: () => ({
          eventsDecoded: 0,
          start: () => {
            throw new Error('needs root');
          },
          stop: async () => assert.fail('not started'),
          summary: () => assert.fail('not started'),
        }),
      },
    ),
    /needs root/,
  );
  assert.ok(closed);
  assert.equal(stdout.output(), '');
});

test('without a terminal on stdout it refuses before tracing anything', async () => {
  let created = false;
  await assert.rejects(
    runUi(
      { session: SESSION_OPTIONS, log: () => {}, stdout: new FakeStdout({ isTTY: false }).asStream(), stdin: new FakeStdin().asStream() },
      {
        createSession: () => {
          created = true;
          return assert.fail('no session without a terminal');
        },
      },
    ),
    /the terminal UI needs a terminal on stdout; use --headless/,
  );
  assert.equal(created, false);
});

test('the screen follows a resize', async () => {
  const ui = start();
  await ui.waitFor('api.example.com');
  ui.stdout.resize(120, 30);
  await waitFor(
    () => /HOST\s+PROCESSES\s+OPEN/.test(ui.screen()) && ui.screen().split('\n').some((line) => line.length > 100),
    () => 'no 120-column frame',
  );
  ui.stdout.resize(50, 12);
  await ui.waitFor('1 Hosts');
  ui.stdout.resize(30, 8);
  await ui.waitFor('terminal too small: 30x8');
  ui.stdin.type('q');
  assert.equal(await ui.result, 0);
});
