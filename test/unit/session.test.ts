/**
 * The Session's own ordering, without root (only the kernel is stood in
 * for): events from different rings are applied in kernel-time order
 * after the reorder window, a flow interval waits for the events before
 * its end, stop() drains everything, and what runs beside the session
 * hears how far it has applied.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TRACER_OPTIONS } from '../../src/kernel/tracer.js';
import type { ConnRecord, FlowRecord, HostflowRecord } from '../../src/records/types.js';
import { Session, type SessionOptions } from '../../src/session.js';
import { connectionEvents, FakeKernel, lookupEvent, nowNs } from '../helpers/fake-tracer.js';

const TUPLE = { family: 4 as const, saddr: '10.0.0.2', sport: 41000, daddr: '192.0.2.7', dport: 443 };

function session(options: Partial<SessionOptions> = {}) {
  const kernel = new FakeKernel();
  const records: HostflowRecord[] = [];
  const s = new Session(
    { tracer: { ...DEFAULT_TRACER_OPTIONS, interfaces: ['veth-test'] }, names: {}, filter: {}, flowIntervalSeconds: 10, reorderWindowMs: 100, ...options },
    [(record) => records.push(record)],
    kernel.start,
  );
  s.start();
  return { kernel, records, session: s };
}

const conns = (records: HostflowRecord[]) => records.filter((r): r is ConnRecord => r.type === 'conn');

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a lookup that arrives after the connection it named, but happened before it, still names it', async () => {
  const { kernel, records, session: s } = session();
  const resolvedAt = nowNs();
  const [connect, established] = connectionEvents(4242, 'curl', TUPLE);
  // The connection's ring is read first; the lookup's, a moment later.
  kernel.emit(connect, established);
  kernel.emit({ ...lookupEvent(4242, 'curl', 'api.example', [TUPLE.daddr]), tsNs: resolvedAt });
  await until(() => conns(records).length > 0, 'the open record');
  assert.equal(conns(records)[0]?.host, 'api.example');
  assert.equal(conns(records)[0]?.host_source, 'process');
  await s.stop();
});

test('nothing is applied before the reorder window has passed', async () => {
  const { kernel, records, session: s } = session({ reorderWindowMs: 400 });
  kernel.emit(lookupEvent(4242, 'curl', 'api.example', [TUPLE.daddr]));
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(records.length, 0, 'still waiting in the window');
  await until(() => records.length === 1, 'the dns record after the window');
  await s.stop();
});

test("a flow interval waits for the events before its end: its flow has the connection's process", async () => {
  const { kernel, records, session: s } = session({ flowIntervalSeconds: 0.1, reorderWindowMs: 300 });
  kernel.flows = [
    {
      ifindex: 7,
      direction: 'out',
      proto: 6,
      family: 4,
      saddr: TUPLE.saddr,
      sport: TUPLE.sport,
      daddr: TUPLE.daddr,
      dport: TUPLE.dport,
      packets: 3,
      bytes: 180,
      droppedPackets: 0,
      droppedBytes: 0,
      firstSeenNs: 1,
      lastSeenNs: 2,
      tcpFlags: 2,
    },
  ];
  kernel.emit(...connectionEvents(4242, 'curl', TUPLE));
  await until(() => records.some((r) => r.type === 'flow'), 'a flow record');
  const flow = records.find((r): r is FlowRecord => r.type === 'flow');
  assert.equal(flow?.pid, 4242, JSON.stringify(flow));
  assert.ok(records.indexOf(flow as FlowRecord) > records.findIndex((r) => r.type === 'conn'), 'the connection came first');
  await s.stop();
});

test("a large interval's flows are written a slice per turn; events that arrive meanwhile wait for its last slice", async () => {
  const kernel = new FakeKernel();
  const records: HostflowRecord[] = [];
  let firstTurn: number | null = null;
  const s = new Session(
    { tracer: { ...DEFAULT_TRACER_OPTIONS, interfaces: ['veth-test'] }, names: {}, filter: {}, flowIntervalSeconds: 0.1, reorderWindowMs: 50 },
    [
      (record) => {
        records.push(record);
        if (record.type !== 'flow' || firstTurn !== null) return;
        firstTurn = -1;
        // Runs after this turn's slice and before the next: an event arrives mid-interval.
        setImmediate(() => {
          firstTurn = records.filter((r) => r.type === 'flow').length;
          kernel.emit(lookupEvent(4242, 'curl', 'api.example', [TUPLE.daddr]));
        });
      },
    ],
    kernel.start,
  );
  s.start();
  kernel.flows = Array.from({ length: 2500 }, (_, i) => ({
    ifindex: 7,
    direction: 'out' as const,
    proto: 6,
    family: 4 as const,
    saddr: TUPLE.saddr,
    sport: 1024 + i,
    daddr: TUPLE.daddr,
    dport: TUPLE.dport,
    packets: 1,
    bytes: 60,
    droppedPackets: 0,
    droppedBytes: 0,
    firstSeenNs: 1,
    lastSeenNs: 2,
    tcpFlags: 2,
  }));
  try {
    await until(() => records.some((r) => r.type === 'dns'), 'the lookup');
    assert.equal(firstTurn, 1000, 'the first turn wrote one slice');
    const dnsAt = records.findIndex((r) => r.type === 'dns');
    assert.equal(records.slice(0, dnsAt).filter((r) => r.type === 'flow').length, 2500, 'the lookup came after every flow of the interval');
  } finally {
    await s.stop();
  }
});

test('stop() drains: events still in the window become records, and what runs beside hears all is applied', async () => {
  const { kernel, records, session: s } = session({ reorderWindowMs: 5000 });
  const applied: number[] = [];
  s.onApplied((upTo) => applied.push(upTo));
  kernel.emit(lookupEvent(4242, 'curl', 'api.example', [TUPLE.daddr]), ...connectionEvents(4242, 'curl', TUPLE));
  const summary = await s.stop();
  assert.deepEqual(
    records.map((r) => r.type),
    ['dns', 'conn'],
  );
  assert.equal(kernel.stopped, 1);
  assert.equal(summary.events, 3);
  assert.equal(applied.at(-1), Number.POSITIVE_INFINITY);
  for (let i = 1; i < applied.length; i++) assert.ok((applied[i] as number) >= (applied[i - 1] as number), 'announced in order');
});

test('each bounded table reports its fill and the peak it reached, which stays after the table empties', async () => {
  const { kernel, session: s } = session({ names: { processEntries: 10 } });
  for (let i = 0; i < 9; i++) kernel.emit(lookupEvent(4242, 'curl', `host${i}.example`, [`192.0.2.${i + 1}`]));
  await until(() => (s.summary().tables?.namesByProcess ?? 0) === 9, 'nine names learned');
  const names = s.fillLevels().find((level) => level.table === 'names_by_process');
  assert.deepEqual(names, { table: 'names_by_process', used: 9, peak: 9, capacity: 10, option: '--process-cache-size' });
  const tables = s.fillLevels().map((level) => level.table);
  for (const table of ['kernel_sockets', 'connections', 'unnamed_connections', 'dns_queries', 'names_global', 'processes', 'kernel_flows']) {
    assert.ok(tables.includes(table), `${table} is reported`);
  }
  const summary = await s.stop();
  assert.equal(summary.fill?.find((level) => level.table === 'names_by_process')?.peak, 9);
});
