/**
 * The Ink components with ink-testing-library: what each view shows of
 * fixture records, and how keys change it.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { cleanup } from 'ink-testing-library';
import { themeFor } from '../../../src/ui/theme.js';
import { KEYS } from '../../helpers/fake-terminal.js';
import { connClose, connOpen, dns, flow, udpClose, udpOpen } from './fixtures.js';
import { renderApp } from './render-app.js';

afterEach(() => cleanup());

const apiOpen = connOpen('api.example.com', '93.184.216.34', 50000);
const webOpen = connOpen('web.example.org', '198.51.100.7', 50001, { comm: 'python3', pid: 77 });
const RECORDS = [
  dns('api.example.com', ['93.184.216.34', '2606:2800:220:1::1']),
  apiOpen,
  dns('web.example.org', ['198.51.100.7'], { comm: 'python3', pid: 77, latency_ms: 12.5 }),
  webOpen,
  connClose(webOpen, 700, 123_457),
  connOpen(null, '203.0.113.9', 50002, { comm: 'nc', pid: 99 }),
  flow('93.184.216.34', 'api.example.com', 150_000),
  flow('203.0.113.9', null, 5000, { comm: 'nc', pid: 99, dport: 50002, packets: 900 }),
  dns('alias.example.com', ['198.51.100.7'], {
    source: 'wire',
    pid: null,
    tid: null,
    comm: null,
    cnames: ['web.example.org'],
    ttl: 30,
    latency_ms: null,
    status: 'NOERROR',
    iface: 'eth0',
    server: '10.0.0.1',
  }),
];

/** The table rows of the screen (lines after the heading), trimmed. */
const rowsOf = (screen: string, heading: string) => {
  const lines = screen.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  return lines
    .slice(start + 1, -1)
    .map((line) => line.trim())
    .filter(Boolean);
};

test('the Hosts view lists one row per hostname, and one for unresolved addresses, top talker first', async () => {
  const app = renderApp(RECORDS);
  const screen = await app.waitFor('api.example.com');
  assert.match(screen, /1 Hosts .* 2 Connections .* 3 Flows .* 4 DNS/);
  const rows = rowsOf(screen, 'HOST');
  assert.match(rows[0] ?? '', /^api\.example\.com\s+curl\s+1\s+1\s+1\s+0B\s+0B\s+146K\/s\s+4s$/);
  assert.match(rows[1] ?? '', /^\(unresolved\)\s+nc\s+1\s+1\s+0\s+/);
  assert.ok(
    rows.some((row) => /^web\.example\.org\s+python3\s+0\s+1\s+1\s+121K\s+700B/.test(row)),
    rows.join('\n'),
  );
  assert.match(screen, /if eth0\s+connect tracepoint/);
});

test('the Connections view shows live and closed connections with process, addresses, name and bytes', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('2');
  const screen = await app.waitFor('STATE');
  assert.match(screen, /2 open, 1 closed/);
  assert.match(screen, /curl\s+4242 tcp\s+out 93\.184\.216\.34:443\s+api\.example\.com\s+open\s+5\.0s\s+-\s+-/);
  assert.match(screen, /python3\s+77 tcp\s+out 198\.51\.100\.7:443\s+web\.example\.org\s+closed\s+1\.0s\s+700B\s+121K$/m);
  assert.match(screen, /nc\s+99 tcp\s+out 203\.0\.113\.9:443\s+- \(no_lookup_seen\)\s+open/, 'an unnamed connection says why');
});

test('the Flows view shows the top talkers of the last interval, by bytes or by packets', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('3');
  let screen = await app.waitFor('BYTES▼');
  assert.match(screen, /1s interval to \d\d:\d\d:\d\d, 2 flows/);
  let rows = rowsOf(screen, 'DIR');
  assert.match(rows[0] ?? '', /^in\s+tcp\s+93\.184\.216\.34:443\s+api\.example\.com\s+curl\s+4242\s+150\s+146K/);
  assert.match(rows[1] ?? '', /^in\s+tcp\s+203\.0\.113\.9:443\s+-\s+nc\s+99\s+900\s+4\.9K/);
  await app.press('s');
  screen = await app.waitFor('PKTS▼');
  rows = rowsOf(screen, 'DIR');
  assert.match(rows[0] ?? '', /203\.0\.113\.9/, 'by packets the small flow of many packets leads');
});

test('the DNS view shows recent lookups: process, name, answers, latency and source', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press(KEYS.tab, KEYS.tab, KEYS.tab);
  const screen = await app.waitFor('LATENCY');
  assert.match(screen, /last 3 lookups, none failed/);
  assert.match(screen, /curl\s+4242\s+- api\.example\.com\s+93\.184\.216\.34 \+1\s+1\.50ms getaddrinfo/);
  assert.match(screen, /python3\s+77\s+- web\.example\.org\s+198\.51\.100\.7\s+12\.5ms getaddrinfo/);
  assert.match(screen, /-\s+-\s+- alias\.example\.com\s+198\.51\.100\.7\s+- wire\s+30/);
});

const quicOpen = udpOpen('quic.example.com', '93.184.216.34', 51000, { comm: 'chrome', pid: 600, ppid: 590, exe: '/opt/google/chrome/chrome' });
const UDP_RECORDS = [
  connOpen('api.example.com', '93.184.216.34', 50000),
  quicOpen,
  udpClose(udpOpen(null, '198.51.100.9', 51001, { comm: 'chrome', pid: 600 }), 1200, 24_000, { end_reason: 'idle' }),
];

test('UDP conversations are listed with the TCP connections, PROTO telling them apart', async () => {
  const app = renderApp(UDP_RECORDS);
  await app.waitFor('api.example.com');
  await app.press('2');
  const screen = await app.waitFor('PROTO');
  assert.match(screen, /curl\s+4242 tcp\s+out 93\.184\.216\.34:443\s+api\.example\.com\s+open/);
  assert.match(screen, /chrome\s+600 udp\s+-\s+93\.184\.216\.34:443\s+quic\.example\.com\s+open/);
  assert.match(screen, /chrome\s+600 udp\s+-\s+198\.51\.100\.9:443\s+- \(encrypted_client_he…\s+closed\s+1\.5s\s+1\.2K\s+23\.4K/);
  await app.press('/', 'p', 'r', 'o', 't', 'o', ':', 'u', 'd', 'p', KEYS.enter);
  const udp = await app.waitFor('filter proto:udp');
  assert.equal(rowsOf(udp, 'PROCESS').length, 2);
  assert.ok(!udp.includes('api.example.com'), udp);
  await app.press('k', KEYS.enter);
  const details = await app.waitFor('first datagram');
  assert.match(details, /UDP 10\.0\.0\.2:51000 <-> 93\.184\.216\.34:443/);
  assert.match(details, /process\s+chrome \[600\]/);
  assert.match(details, /parent pid\s+590/);
  assert.match(details, /executable\s+\/opt\/google\/chrome\/chrome/);
  assert.match(details, /command line\s+- \(recorded with --cmdline\)/);
  assert.match(details, /host\s+quic\.example\.com \(named by the server name \(SNI\) of its QUIC Initial\)/);
});

test('the DNS view names the process behind the failed lookups without a key pressed, and s puts its rows first', async () => {
  const failing = [
    ...Array.from({ length: 4 }, (_, i) =>
      dns(`nope${i}.corp.example`, [], { comm: 'agent', pid: 700, source: 'wire', status: i === 3 ? 'TIMEOUT' : 'NXDOMAIN', latency_ms: null }),
    ),
    dns('api.example.com', ['93.184.216.34']),
    dns('gone.example', [], { status: 'EAI_NONAME' }),
    dns('late.example.com', ['93.184.216.35'], { ts: new Date(Date.parse(dns('x', []).ts) + 1000).toISOString() }),
  ];
  const app = renderApp(failing);
  await app.waitFor('api.example.com');
  await app.press('4');
  let screen = await app.waitFor('FAILS');
  assert.match(screen, /last 7 lookups, failed: agent\[700\] 4, curl\[4242\] 1/);
  assert.match(screen, /agent\s+700\s+4 nope0\.corp\.example\s+NXDOMAIN/);
  assert.match(screen, /curl\s+4242\s+1 api\.example\.com/);
  assert.match(rowsOf(screen, 'TIME')[0] ?? '', /late\.example\.com/, 'by time the latest lookup leads');
  await app.press('s');
  screen = await app.waitFor('sort process failures');
  const rows = rowsOf(screen, 'TIME');
  assert.deepEqual(
    rows.slice(0, 4).map((row) => /agent/.test(row)),
    [true, true, true, true],
    rows.join('\n'),
  );
  assert.match(rows[4] ?? '', /curl\s+4242\s+1 gone\.example\s+EAI_NONAME/, 'then the next process, its failures first');
  await app.press(KEYS.enter);
  const details = await app.waitFor('process lookups');
  assert.match(details, /process lookups\s+4 of 4 failed: NXDOMAIN 3, TIMEOUT 1/);
  assert.match(details, /status\s+(NXDOMAIN|TIMEOUT) \(failed\)/);
  await app.press(KEYS.escape, '/', 's', 't', 'a', 't', 'u', 's', ':', 'f', 'a', 'i', 'l', 'e', 'd', KEYS.enter);
  screen = await app.waitFor('filter status:failed');
  assert.equal(rowsOf(screen, 'TIME').length, 5);
});

test('s changes the sort and the heading marks the sorted column', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('RATE▼');
  await app.press('s');
  const screen = await app.waitFor('IN▼');
  assert.match(rowsOf(screen, 'HOST')[0] ?? '', /^web\.example\.org/, 'most bytes first');
  await app.press('S');
  assert.match(await app.waitFor('IN▲'), /sort bytes ▲/);
});

test('/ filters by name, process, address or port as you type', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('/', 'w', 'e', 'b');
  // The frame of the whole word: one drawn after 'we' hides api.example.com too.
  let screen = await app.waitFor('filter: web█');
  assert.ok(!screen.includes('api.example.com'), screen);
  assert.ok(screen.includes('web.example.org'), screen);
  await app.press(KEYS.enter, KEYS.escape, '2', '/', 'p', 'o', 'r', 't', ':', '5', '0', '0', '0', '2', KEYS.enter);
  screen = await app.waitFor('filter port:50002');
  assert.deepEqual(rowsOf(screen, 'PROCESS').length, 1);
  assert.match(rowsOf(screen, 'PROCESS')[0] ?? '', /^nc/);
  await app.press(KEYS.escape);
  await app.waitFor('curl');
});

test('p pauses the screen while records keep coming in, and says so', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('p');
  await app.waitFor('PAUSED');
  const drawn = app.frames.length;
  app.model.add(dns('late.example.net', ['192.0.2.1']));
  // The frame timer draws again when the model changes: that frame must not show the record.
  const frame = await app.nextFrame(drawn);
  assert.match(frame, /PAUSED/);
  assert.ok(!frame.includes('late.example.net'), frame);
  assert.equal(app.model.records, RECORDS.length + 1, 'the model took the record');
  await app.press('p');
  await app.waitFor('late.example.net');
  assert.ok(!app.screen().includes('PAUSED'));
});

test('Enter shows a host with its connections; Esc goes back', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press(KEYS.enter);
  const screen = await app.waitFor('connections (1)');
  assert.match(screen, /addresses\s+93\.184\.216\.34, 2606:2800:220:1::1/);
  assert.match(screen, /rate\s+in 146K\/s/);
  assert.match(screen, /curl\s+4242 tcp\s+out 93\.184\.216\.34:443/);
  await app.press(KEYS.escape);
  await app.waitForNot('connections (1)');
});

test('c clears the tables and ? shows the help', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('?');
  const help = await app.waitFor('pause the screen');
  assert.match(help, /q {2}Ctrl-C\s+quit/);
  await app.press(KEYS.escape, 'c');
  await app.waitFor('no hosts yet');
});

test('q quits', async () => {
  const app = renderApp(RECORDS);
  await app.waitFor('api.example.com');
  await app.press('q');
  assert.equal(app.quits, 1);
});

test('lost events are shown loudly when there are any', async () => {
  const quiet = renderApp(RECORDS);
  assert.match(await quiet.waitFor('lost 0'), /hostflow\s+lost 0/);
  quiet.unmount();
  const lossy = renderApp(RECORDS, { header: { lostTotal: 1234, eventsPerSecond: 25_000, recordsPerSecond: 900 } });
  assert.match(await lossy.waitFor('LOST'), /hostflow\s+LOST 1234 EVENTS\s+25\.0k events\/s\s+900 records\/s/);
});

test('the header says which XDP mode each interface got; the help screen says why', async () => {
  const reason = "native refused by virtio_net: Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP";
  const app = renderApp(RECORDS, {
    header: { interfaces: ['eth0 xdp generic (virtio_net refused native)', 'veth0 xdp native'], xdp: [`eth0: generic (${reason})`, 'veth0: native'] },
  });
  assert.match(await app.waitFor('refused native'), /if eth0 xdp generic \(virtio_net refused native\), veth0 xdp native/);
  await app.press('?');
  const help = await app.waitFor('XDP on each interface');
  assert.ok(help.includes(`eth0: generic (${reason.slice(0, 40)}`), help);
  assert.match(help, /generic mode counts ingress after GRO/);
  app.unmount();
});

test('a hostile name or process name is shown escaped, never interpreted', async () => {
  const hostile = 'evil\u001b[2J\u001b]0;pwned\u0007\u009b31m.example';
  const app = renderApp(
    [
      dns(hostile, ['10.6.6.6'], { comm: 'sh\u001b[31m\r', cnames: ['x\u001bcname'], exe: '/tmp/\u001b]0;exe\u0007', cmdline: 'sh -c \u001b[2Jx' }),
      connOpen(hostile, '10.6.6.6', 4444, { comm: 'sh\u001b[31m\r' }),
    ],
    { header: { interfaces: ['eth\u001b[1m0'], sinks: [{ label: 's3\u0007', text: 'ok\u001b[2J', warn: false }] } },
  );
  await app.waitFor('evil');
  const outputs: string[] = [];
  // Each key, and what its screen shows once drawn: Hosts, Connections, DNS, and the details of the lookup.
  const screens: Array<[string, RegExp]> = [
    ['1', /HOST\s+PROCESSES/],
    ['2', /STATE/],
    ['4', /LATENCY/],
    [KEYS.enter, /answers\s/],
  ];
  for (const [key, drawn] of screens) {
    await app.press(key);
    await app.waitFor(drawn);
    outputs.push(app.raw());
  }
  const all = outputs.join('\n');
  for (const raw of ['\u001b[2J', '\u001b]0;', '\u0007', '\u009b', '\u001b[31m\r', '\u001bc', '\u001b[1m0']) {
    assert.ok(!all.includes(raw), `raw ${JSON.stringify(raw)} reached the terminal`);
  }
  assert.ok(all.includes('evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m.example'));
  assert.ok(all.includes('sh\\x1b[31m\\x0d'));
  assert.ok(all.includes('x\\x1bcname'), 'the CNAME chain in the details');
  assert.ok(all.includes('/tmp/\\x1b]0;exe\\x07') && all.includes('sh -c \\x1b[2Jx'), 'the executable and command line in the details');
  assert.ok(all.includes('eth\\x1b[1m0') && all.includes('ok\\x1b[2J'), 'header strings too');
});

test('under NO_COLOR no colour is used, only bold, dim and inverse', () => {
  const mono = themeFor({ NO_COLOR: '1' });
  assert.equal(mono.colors, false);
  for (const style of [...Object.values(mono.tones), ...Object.values(mono.rows)]) {
    assert.equal(style.color, undefined);
    assert.equal(style.backgroundColor, undefined);
  }
  assert.equal(themeFor({ NO_COLOR: '' }).colors, true, 'an empty NO_COLOR does not count');
  assert.equal(themeFor({}).colors, true);
});

test('frames are paced: a flood of records between two frames costs one redraw', async () => {
  const app = renderApp([], { fps: 10 });
  await app.waitFor('no hosts yet');
  const before = app.frames.length;
  const started = Date.now();
  for (let batch = 0; batch < 10; batch++) {
    for (let i = 0; i < 2000; i++) app.model.add(dns(`h${batch}-${i}.example`, ['10.0.0.1']));
    // Not a wait for anything: records arrive in batches over half a second, as from a busy session.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await app.waitFor(`${app.model.counts().hosts} hosts`);
  const elapsedFrames = ((Date.now() - started) / 1000) * 10;
  const drawn = app.frames.length - before;
  assert.ok(drawn <= Math.ceil(elapsedFrames) + 2, `${drawn} frames for 20000 records in ${Date.now() - started} ms`);
});
