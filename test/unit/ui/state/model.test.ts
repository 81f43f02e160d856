import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UiModel } from '../../../../src/ui/state/model.js';
import { UNRESOLVED_KEY } from '../../../../src/ui/state/rows.js';
import { BASE_MS, connClose, connOpen, dns, flow, iso, udpClose, udpOpen } from '../fixtures.js';

const NOW = BASE_MS + 5000;
const model = (options: ConstructorParameters<typeof UiModel>[0] = {}) => new UiModel({ flowIntervalSeconds: 2, ...options }, () => NOW);

test('hosts aggregate lookups, connections and bytes per hostname', () => {
  const m = model();
  m.add(dns('api.example.com', ['93.184.216.34'], { comm: 'curl', pid: 1 }));
  const first = connOpen('api.example.com', '93.184.216.34', 50000, { comm: 'curl', pid: 1 });
  const second = connOpen('api.example.com', '93.184.216.34', 50001, { comm: 'wget', pid: 2 });
  m.add(first);
  m.add(second);
  m.add(connClose(first, 100, 5000));
  const [host, ...others] = m.hostRows();
  assert.equal(others.length, 0);
  assert.ok(host);
  assert.equal(host.host, 'api.example.com');
  assert.deepEqual(host.processes, ['curl', 'wget']);
  assert.deepEqual(host.addresses, ['93.184.216.34']);
  assert.equal(host.lookups, 1);
  assert.equal(host.connections, 2, 'an open and its close are one connection');
  assert.equal(host.open, 1);
  assert.equal(host.bytesIn, 5000);
  assert.equal(host.bytesOut, 100);
});

test('connections and flows to addresses without a name share one row', () => {
  const m = model();
  m.add(connOpen(null, '203.0.113.9', 1000));
  m.add(connOpen(null, '198.51.100.1', 1001));
  m.add(flow('192.0.2.77', null, 3000));
  const rows = m.hostRows();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.key, UNRESOLVED_KEY);
  assert.equal(rows[0]?.host, null);
  assert.equal(rows[0]?.open, 2);
  assert.deepEqual(new Set(rows[0]?.addresses), new Set(['203.0.113.9', '198.51.100.1', '192.0.2.77']));
});

test('a connection is live from its open, then listed as closed with what both records said', () => {
  const m = model();
  const open = connOpen('api.example.com', '93.184.216.34', 50000);
  m.add(open);
  assert.deepEqual(
    m.connectionRows().map((r) => r.state),
    ['open'],
  );
  m.add(connClose(open, 10, 20, { connect_latency_ms: null, host: null }));
  const [row] = m.connectionRows();
  assert.equal(row?.state, 'closed');
  assert.equal(row?.openedAt, Date.parse(iso(10)));
  assert.equal(row?.connectLatencyMs, 0.8, 'kept from the open');
  assert.equal(row?.host, 'api.example.com', 'kept from the open');
  assert.equal(row?.bytesReceived, 20);
  m.add(connClose(connOpen(null, '203.0.113.9', 1), 0, 0, { established: false }));
  assert.equal(m.connectionRows().find((r) => r.remoteAddress === '203.0.113.9')?.state, 'failed');
  assert.equal(m.counts().open, 0);
  assert.equal(m.counts().closed, 2);
});

test('closed connections leave after the retention, and the tables stay within their limits', () => {
  let now = BASE_MS;
  const m = new UiModel({ limits: { closedRetentionMs: 1000, hosts: 10, liveConnections: 50, lookups: 20, closedConnections: 30 } }, () => now);
  const open = connOpen('a.example', '10.1.1.1', 1);
  m.add(open);
  m.add(connClose(open, 1, 1, { ts: iso(0) }));
  now = BASE_MS + 500;
  m.tick(now);
  assert.equal(m.counts().closed, 1);
  now = BASE_MS + 1500;
  m.tick(now);
  assert.equal(m.counts().closed, 0);
  for (let i = 0; i < 1000; i++) {
    const record = connOpen(`host${i}.example`, `10.2.${i >> 8}.${i & 255}`, i);
    m.add(dns(`host${i}.example`, [record.daddr]));
    m.add(record);
    if (i % 2) m.add(connClose(record, 1, 1, { ts: new Date(now).toISOString() }));
  }
  const counts = m.counts();
  assert.ok(counts.hosts >= 10 && counts.hosts <= 11, 'a tenth over the cap at most');
  assert.ok(counts.open <= 55);
  assert.ok(counts.closed <= 33);
  assert.equal(counts.lookups, 20);
  assert.equal(m.hostRows().at(-1)?.host, 'host999.example', 'the most recent host is kept');
});

test('a flow burst becomes the shown interval at the next tick, and host rates follow it', () => {
  const m = model();
  m.add(flow('93.184.216.34', 'api.example.com', 4000));
  m.add(
    flow('93.184.216.34', 'api.example.com', 1000, {
      direction: 'egress',
      saddr: '10.0.0.2',
      sport: 50000,
      daddr: '93.184.216.34',
      dport: 443,
      src_host: null,
      dst_host: 'api.example.com',
    }),
  );
  assert.equal(m.flowRows().length, 0, 'not shown while the burst may still be coming');
  m.tick(NOW);
  assert.deepEqual(
    m.flowRows().map((r) => r.bytes),
    [4000, 1000],
  );
  const egress = m.flowRows()[1];
  assert.equal(egress?.remoteAddress, '93.184.216.34', 'seen from this host: the remote end of egress is its destination');
  assert.equal(egress?.remoteHost, 'api.example.com');
  const [host] = m.hostRows();
  assert.equal(host?.rateIn, 2000, '4000 bytes over a 2 s interval');
  assert.equal(host?.rateOut, 500);
  m.add(flow('198.51.100.1', 'b.example', 10));
  m.tick(NOW + 2000);
  assert.deepEqual(
    m.flowRows().map((r) => r.remoteHost),
    ['b.example'],
    'the previous interval is replaced',
  );
  assert.equal(m.hostRows().find((r) => r.host === 'api.example.com')?.rateIn, 0);
  m.tick(NOW + 10_000);
  assert.equal(m.flowRows().length, 0, 'no flows for two intervals: nothing to show');
});

test('only the top talkers of a big interval are kept', () => {
  const m = model({ limits: { flows: 10 } });
  for (let i = 1; i <= 100; i++) m.add(flow(`10.9.0.${i}`, null, i * 10));
  m.tick(NOW);
  assert.equal(m.flowRows().length, 10);
  assert.equal(m.flowRows()[0]?.bytes, 1000);
  assert.equal(m.counts().flowsOmitted, 90);
});

test('outside strings are sanitized once, where records come in', () => {
  const m = model();
  const hostile = 'evil\u001b[2J\u001b]0;pwned\u0007.example';
  m.add(dns(hostile, ['10.0.0.9'], { comm: 'x\u001b[31m', cnames: ['c\u009bname.example'] }));
  m.add(connOpen(hostile, '10.0.0.9', 5, { comm: 'y\r\n' }));
  const strings: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect([m.hostRows(), m.connectionRows(), m.dnsRows()]);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/;
  assert.deepEqual(
    strings.filter((s) => control.test(s)),
    [],
  );
  assert.equal(m.dnsRows()[0]?.host, 'evil\\x1b[2J\\x1b]0;pwned\\x07.example');
  assert.equal(m.dnsRows()[0]?.comm, 'x\\x1b[31m');
  assert.deepEqual(m.dnsRows()[0]?.cnames, ['c\\x9bname.example']);
  assert.equal(m.connectionRows()[0]?.comm, 'y\\x0d\\x0a');
});

test('clear empties every table; the record count and version keep counting', () => {
  const m = model();
  m.add(dns('a.example', ['10.0.0.1']));
  m.add(connOpen('a.example', '10.0.0.1', 1));
  const version = m.version;
  m.clear();
  assert.equal(m.hostRows().length + m.connectionRows().length + m.dnsRows().length, 0);
  assert.equal(m.records, 2);
  assert.ok(m.version > version);
});

test('tens of thousands of records a second are absorbed in a few milliseconds each batch', () => {
  const m = model();
  const records = [];
  for (let i = 0; i < 50_000; i++) {
    const open = connOpen(`h${i % 3000}.example`, `10.3.${(i >> 8) & 255}.${i & 255}`, i % 60000);
    records.push(i % 5 === 0 ? dns(open.host as string, [open.daddr]) : i % 2 ? open : connClose(open, 10, 10));
  }
  const start = performance.now();
  for (const record of records) m.add(record);
  m.tick(NOW);
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 1000, `50k records took ${elapsed.toFixed(0)} ms`);
  assert.ok(m.counts().closed <= m.limits.closedConnections * 1.1);
  assert.ok(m.counts().open <= m.limits.liveConnections * 1.1);
  assert.ok(m.counts().lookups <= m.limits.lookups);
});

test('a named record moves a live connection from the unresolved row to its host', () => {
  const m = model();
  const open = connOpen(null, '203.0.113.9', 50000, { comm: 'curl', pid: 7 });
  m.add(open);
  m.add(connOpen(null, '198.51.100.1', 50001));
  m.add({ ...open, event: 'named', ts: iso(500), host: 'late.example.com', host_source: 'sni', unresolved: null });
  const row = m.connectionRows().find((r) => r.localPort === 50000);
  assert.deepEqual([row?.state, row?.host, row?.hostSource, row?.unresolved], ['open', 'late.example.com', 'sni', null]);
  const hosts = new Map(m.hostRows().map((h) => [h.key, h]));
  assert.deepEqual([hosts.get(UNRESOLVED_KEY)?.connections, hosts.get(UNRESOLVED_KEY)?.open], [1, 1]);
  const named = hosts.get('late.example.com');
  assert.deepEqual([named?.connections, named?.open, named?.processes, named?.addresses], [1, 1, ['curl'], ['203.0.113.9']]);
  m.add(connClose({ ...open, host: 'late.example.com', host_source: 'sni', unresolved: null }, 10, 4000));
  const after = new Map(m.hostRows().map((h) => [h.key, h]));
  assert.deepEqual([after.get('late.example.com')?.connections, after.get('late.example.com')?.bytesIn, after.get('late.example.com')?.open], [1, 4000, 0]);
});

test('a named record whose open was never listed adds the connection', () => {
  const m = model();
  m.add({ ...connOpen(null, '203.0.113.9', 50000), event: 'named', host: 'x.example.com', host_source: 'global', unresolved: null });
  assert.deepEqual(
    m.connectionRows().map((r) => [r.state, r.host]),
    [['open', 'x.example.com']],
  );
  assert.equal(m.hostRows().find((h) => h.key === 'x.example.com')?.connections, 1);
});

test('a UDP conversation is listed with the TCP connections: open when first seen, closed with its counts', () => {
  const m = model();
  const open = udpOpen('quic.example.com', '93.184.216.34', 51000, { comm: 'chrome', pid: 9, ppid: 8, exe: '/opt/chrome/chrome' });
  m.add(connOpen('quic.example.com', '93.184.216.34', 51000));
  m.add(open);
  assert.deepEqual(
    m.connectionRows().map((r) => [r.proto, r.state, r.direction]),
    [
      ['tcp', 'open', 'out'],
      ['udp', 'open', null],
    ],
    'the same ports over TCP and UDP are two rows',
  );
  m.add(udpClose(open, 2400, 36_000, { exe: null }));
  const udp = m.connectionRows().find((r) => r.proto === 'udp');
  assert.deepEqual(
    [udp?.state, udp?.host, udp?.hostSource, udp?.openedAt, udp?.durationMs, udp?.packetsSent, udp?.bytesReceived, udp?.endReason],
    ['closed', 'quic.example.com', 'quic', Date.parse(iso(20)), 1500, 2, 36_000, 'idle'],
  );
  assert.deepEqual([udp?.ppid, udp?.exe], [8, '/opt/chrome/chrome'], 'what the close does not say is kept from the open');
  const [host] = m.hostRows();
  assert.deepEqual([host?.connections, host?.open, host?.bytesIn, host?.bytesOut, host?.processes], [2, 1, 36_000, 2400, ['chrome', 'curl']]);
});

test('lookups are counted per process: how many failed, and with which status', () => {
  const m = model();
  for (let i = 0; i < 5; i++) m.add(dns(`nope${i}.example`, [], { comm: 'app', pid: 500, source: 'wire', status: i < 3 ? 'NXDOMAIN' : 'TIMEOUT' }));
  m.add(dns('srv.example', [], { comm: 'app', pid: 500, source: 'wire', status: 'SERVFAIL' }));
  m.add(dns('ok.example', ['10.0.0.1'], { comm: 'app', pid: 500, source: 'wire', status: 'NOERROR' }));
  m.add(dns('gone.example', [], { status: 'EAI_NONAME' }));
  m.add(dns('fine.example', ['10.0.0.2']));
  m.add(dns('iface.example', [], { pid: null, tid: null, comm: null, source: 'wire', status: 'NXDOMAIN' }));
  const rows = m.dnsRows();
  const app = rows.find((r) => r.host === 'ok.example');
  assert.deepEqual(app?.process, {
    lookups: 7,
    failed: 6,
    failures: [
      ['NXDOMAIN', 3],
      ['TIMEOUT', 2],
      ['SERVFAIL', 1],
    ],
  });
  assert.equal(app?.failed, false);
  assert.equal(rows.find((r) => r.host === 'nope0.example')?.process, app?.process, 'every row of a process has its counts as they are now');
  assert.deepEqual(rows.find((r) => r.host === 'fine.example')?.process, { lookups: 2, failed: 1, failures: [['EAI_NONAME', 1]] });
  const counts = m.counts();
  assert.equal(counts.lookupsFailed, 8);
  assert.deepEqual(counts.failingProcesses, [
    { label: 'app[500]', failed: 6 },
    { label: '(no process)', failed: 1 },
    { label: 'curl[4242]', failed: 1 },
  ]);
  m.clear();
  assert.deepEqual([m.counts().lookupsFailed, m.counts().failingProcesses], [0, []]);
});

test('the processes counted are bounded, the least recently resolving dropped first', () => {
  const m = model({ limits: { lookupProcesses: 10 } });
  for (let pid = 1; pid <= 100; pid++) m.add(dns('x.example', [], { pid, status: 'NXDOMAIN' }));
  const { failingProcesses, lookupsFailed } = m.counts();
  assert.ok(lookupsFailed <= 11, `${lookupsFailed}`);
  assert.ok(
    failingProcesses.every(({ label }) => Number(/\[(\d+)\]/.exec(label)?.[1]) > 88),
    JSON.stringify(failingProcesses),
  );
});

test('process fields and UDP strings are sanitized too', () => {
  const m = model();
  const hostile = { exe: '/tmp/\u001b]0;x\u0007', cmdline: 'sh -c \u001b[2J', comm: 'a\u009bb' };
  m.add(dns('a.example', [], { ...hostile, status: 'NX\u001bDOMAIN' }));
  m.add(udpOpen('q\u001b[1m.example', '10.0.0.9', 5, { ...hostile, iface: 'e\u001bth0' }));
  const strings = JSON.stringify([m.dnsRows(), m.connectionRows(), m.hostRows(), m.counts()]);
  assert.ok(!/\\u001b|\\u0007|\u009b/.test(strings), strings);
  assert.equal(m.dnsRows()[0]?.exe, '/tmp/\\x1b]0;x\\x07');
  assert.equal(m.connectionRows()[0]?.cmdline, 'sh -c \\x1b[2J');
  assert.deepEqual(m.counts().failingProcesses, [{ label: 'a\\x9bb[4242]', failed: 1 }]);
});
